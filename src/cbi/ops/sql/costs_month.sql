-- Bytes processed and billed by real (not dry-run) BigQuery jobs since the month began.
SELECT COALESCE(SUM(bytes_processed), 0) AS bytes_processed,
       COALESCE(SUM(bytes_billed), 0) AS bytes_billed,
       COUNT(*) AS jobs
FROM ops.query_costs
WHERE created_at >= @month_start AND NOT COALESCE(dry_run, FALSE)
