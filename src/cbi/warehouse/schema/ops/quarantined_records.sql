-- key: record_id
-- Live records refused by validation, kept with the reason instead of being applied.
CREATE TABLE IF NOT EXISTS ops.quarantined_records (
  record_id STRING NOT NULL,
  feed STRING NOT NULL,
  received_at TIMESTAMP NOT NULL,
  reason STRING,
  record STRING
)
PARTITION BY DATE(received_at)
OPTIONS (description = 'Feed records refused by validation, with the reason; key (record_id)');
