-- Quality gate (leakage): inputs or features dated after @today: nothing may be built from
-- the future. FRED counts by when a vintage was published (realtime_start).
SELECT source, date FROM (
  SELECT 'futures_continuous_1d' AS source, MAX(date) AS date
  FROM market_data.futures_continuous_1d WHERE date > @today
  UNION ALL
  SELECT 'fred_economic_indicators' AS source, MAX(realtime_start) AS date
  FROM market_data.fred_economic_indicators WHERE realtime_start > @today OR date > @today
  UNION ALL
  SELECT 'news_articles' AS source, MAX(DATE(published_at)) AS date
  FROM market_data.news_articles WHERE DATE(published_at) > @today
  UNION ALL
  SELECT 'curated_features_daily' AS source, MAX(date) AS date
  FROM features.curated_features_daily WHERE date > @today
) AS future
WHERE date IS NOT NULL
