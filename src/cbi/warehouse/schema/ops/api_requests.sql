-- key: request_id
-- Requests made to metered APIs (NewsAPI: 100 a day on the developer plan), for budgets.
CREATE TABLE IF NOT EXISTS ops.api_requests (
  request_id STRING NOT NULL,
  feed STRING NOT NULL,
  requested_at TIMESTAMP NOT NULL,
  endpoint STRING,
  status_code INT64
)
PARTITION BY DATE(requested_at)
OPTIONS (description = 'Requests to metered APIs, counted against their daily budgets; key (request_id)');
