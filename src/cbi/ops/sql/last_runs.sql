-- The most recent pipeline runs, newest first.
SELECT run_id, job, started_at, finished_at, status, rows_read, rows_written,
       bytes_processed, error
FROM ops.pipeline_runs
ORDER BY started_at DESC, run_id
LIMIT @limit
