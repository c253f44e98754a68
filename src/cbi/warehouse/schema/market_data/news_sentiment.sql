-- view
-- Daily news sentiment per CME trading date: each article counts for the first trading date
-- whose close follows its publication (news_articles.trading_date, set at ingest from the
-- target root's CME calendar: after the 13:20 CT close, on a weekend or a holiday, the next).
CREATE OR REPLACE VIEW market_data.news_sentiment AS
SELECT
  trading_date AS date,
  COUNT(*) AS article_count,
  AVG(sentiment_score) AS sentiment_mean,
  MIN(sentiment_score) AS sentiment_min,
  MAX(sentiment_score) AS sentiment_max
FROM market_data.news_articles
WHERE trading_date IS NOT NULL
GROUP BY trading_date;
