-- key: run_id
CREATE TABLE IF NOT EXISTS ops.pipeline_runs (
  run_id STRING NOT NULL,
  job STRING NOT NULL,
  started_at TIMESTAMP NOT NULL,
  finished_at TIMESTAMP,
  status STRING,
  rows_read INT64,
  rows_written INT64,
  bytes_processed INT64,
  error STRING,
  details STRING
)
PARTITION BY DATE(started_at)
CLUSTER BY job
OPTIONS (description = 'One row per pipeline job run: status running|succeeded|failed; key (run_id)');
