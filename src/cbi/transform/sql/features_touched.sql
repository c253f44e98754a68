-- The first date whose features may change: inputs written after the last build's watermarks.
-- Params: @continuous, @fred, @news (TIMESTAMP). A FRED vintage changes dates from when it was
-- published (never before its observation); an article its own date or a later trading date.
SELECT MIN(first_date) FROM (
  SELECT MIN(date) AS first_date
  FROM market_data.futures_continuous_1d WHERE updated_at > @continuous
  UNION ALL
  SELECT MIN(GREATEST(realtime_start, date)) AS first_date
  FROM market_data.fred_economic_indicators WHERE ingest_timestamp > @fred
  UNION ALL
  SELECT MIN(DATE(published_at)) AS first_date
  FROM market_data.news_articles WHERE ingest_timestamp > @news
) AS touched
