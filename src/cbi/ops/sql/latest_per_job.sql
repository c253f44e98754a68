-- The newest run of each job.
SELECT job, run_id, started_at, finished_at, status, rows_read, rows_written, error
FROM ops.pipeline_runs
WHERE TRUE
QUALIFY ROW_NUMBER() OVER (PARTITION BY job ORDER BY started_at DESC, run_id DESC) = 1
ORDER BY job
