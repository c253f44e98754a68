-- The latest run of each pipeline job started on or after @since.
SELECT job, run_id, status, started_at, finished_at, rows_read, rows_written, error
FROM ops.pipeline_runs
WHERE started_at >= @since
QUALIFY ROW_NUMBER() OVER (PARTITION BY job ORDER BY started_at DESC, run_id DESC) = 1
ORDER BY job
