-- view
-- Daily news sentiment per CME trading date: an article published after the 13:20 America/Chicago
-- close counts for the next date; Saturday and Sunday articles count for Monday.
CREATE OR REPLACE VIEW market_data.news_sentiment AS
WITH local_times AS (
  SELECT
    DATETIME(published_at, 'America/Chicago') AS local_ts,
    sentiment_score
  FROM market_data.news_articles
),
shifted AS (
  SELECT
    DATE(DATE_ADD(DATE(local_ts), INTERVAL (CASE WHEN TIME(local_ts) >= TIME '13:20:00' THEN 1 ELSE 0 END) DAY)) AS d,
    sentiment_score
  FROM local_times
),
trading AS (
  SELECT
    CASE FORMAT_DATE('%u', d)
      WHEN '6' THEN DATE(DATE_ADD(d, INTERVAL 2 DAY))  -- DATE(): DuckDB's DATE_ADD gives a TIMESTAMP
      WHEN '7' THEN DATE(DATE_ADD(d, INTERVAL 1 DAY))
      ELSE d
    END AS date,
    sentiment_score
  FROM shifted
)
SELECT
  date,
  COUNT(*) AS article_count,
  AVG(sentiment_score) AS sentiment_mean,
  MIN(sentiment_score) AS sentiment_min,
  MAX(sentiment_score) AS sentiment_max
FROM trading
GROUP BY date;
