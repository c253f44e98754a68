-- When the macro and news feeds last delivered rows.
SELECT 'fred' AS feed, MAX(ingest_timestamp) AS last_at FROM market_data.fred_economic_indicators
UNION ALL
SELECT 'news' AS feed, MAX(published_at) AS last_at FROM market_data.news_articles
