-- key: job_id
CREATE TABLE IF NOT EXISTS ops.query_costs (
  job_id STRING NOT NULL,
  created_at TIMESTAMP NOT NULL,
  role STRING,
  job STRING,
  statement_type STRING,
  bytes_processed INT64,
  bytes_billed INT64,
  dry_run BOOL
)
PARTITION BY DATE(created_at)
OPTIONS (description = 'Bytes processed and billed by each BigQuery job; key (job_id)');
