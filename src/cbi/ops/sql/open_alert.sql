-- The open alert of a kind and subject, if any (at most one is kept open).
SELECT alert_id, kind, subject, message, status, opened_at, last_seen_at, resolved_at, notified
FROM ops.alerts
WHERE kind = @kind AND subject = @subject AND status = 'open'
ORDER BY opened_at DESC
LIMIT 1
