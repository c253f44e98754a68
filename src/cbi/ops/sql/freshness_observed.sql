-- Freshness, one meaning everywhere (`cbi status`, the dashboard): per feed and subject, the
-- time of the newest observation (observed_at) and, separately, when rows were last written
-- (written_at). Minute bars are scanned from @floor only (partition pruning on BigQuery).
SELECT 'databento' AS feed, root AS subject, MAX(ts_event) AS observed_at,
       MAX(ingest_timestamp) AS written_at
FROM market_data.databento_futures_ohlcv_1m
WHERE ts_event >= @floor
GROUP BY root
UNION ALL
SELECT 'fred' AS feed, 'fred' AS subject, TIMESTAMP(MAX(date)) AS observed_at,
       MAX(ingest_timestamp) AS written_at
FROM market_data.fred_economic_indicators
UNION ALL
SELECT 'news' AS feed, 'news' AS subject, MAX(published_at) AS observed_at,
       MAX(ingest_timestamp) AS written_at
FROM market_data.news_articles
