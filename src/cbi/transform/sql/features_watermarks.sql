-- How far each input of the features has been written (its latest write time).
-- An empty input reads as 1970-01-01; NULL means rows exist without write times.
SELECT
  (SELECT CASE WHEN COUNT(*) = 0 THEN TIMESTAMP '1970-01-01 00:00:00+00' ELSE MAX(updated_at) END
   FROM market_data.futures_continuous_1d) AS continuous,
  (SELECT CASE WHEN COUNT(*) = 0 THEN TIMESTAMP '1970-01-01 00:00:00+00' ELSE MAX(ingest_timestamp) END
   FROM market_data.fred_economic_indicators) AS fred,
  (SELECT CASE WHEN COUNT(*) = 0 THEN TIMESTAMP '1970-01-01 00:00:00+00' ELSE MAX(ingest_timestamp) END
   FROM market_data.news_articles) AS news
