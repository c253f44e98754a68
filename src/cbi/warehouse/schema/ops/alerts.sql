-- key: alert_id
CREATE TABLE IF NOT EXISTS ops.alerts (
  alert_id STRING NOT NULL,
  kind STRING NOT NULL,
  subject STRING NOT NULL,
  message STRING,
  status STRING,
  opened_at TIMESTAMP NOT NULL,
  last_seen_at TIMESTAMP,
  resolved_at TIMESTAMP,
  notified BOOL
)
PARTITION BY DATE(opened_at)
OPTIONS (description = 'Alerts (failed job, stale feed, failed quality gate); one open alert per kind+subject; key (alert_id)');
