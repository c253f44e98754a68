-- Freshness, one meaning everywhere (the staleness rule, `cbi status`, the dashboard): per
-- feed and subject, the time of the newest observation (observed_at) and, separately, when
-- rows were last written (written_at). Minute bars are read from @floor only (zone maps on
-- DuckDB, partitions on BigQuery prune every older row group), so a check costs the same on
-- a month or on twenty years of minutes; a root with no bar since @floor is stale whenever
-- its market is open anyway. One query serves the rule and the report: the bars are read once.
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
