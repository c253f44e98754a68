-- Every open alert, newest first.
SELECT alert_id, kind, subject, message, opened_at, last_seen_at
FROM ops.alerts
WHERE status = 'open'
ORDER BY opened_at DESC
