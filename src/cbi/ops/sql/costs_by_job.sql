-- Month-to-date bytes billed per pipeline job.
SELECT COALESCE(job, '(ad hoc)') AS job, COALESCE(SUM(bytes_billed), 0) AS bytes_billed,
       COUNT(*) AS queries
FROM ops.query_costs
WHERE created_at >= @month_start AND NOT COALESCE(dry_run, FALSE)
GROUP BY 1
ORDER BY bytes_billed DESC
