-- key: url
-- NewsAPI articles, deduplicated by URL, with a finance-aware sentiment score in [-1, 1].
-- trading_date: the first CME trading date of the target root whose close follows publication
-- (cbi.calendar), the date the headline can move. publisher: NewsAPI's source.name; source: 'newsapi' (the live API) or 'sandbox' (simulated).
CREATE TABLE IF NOT EXISTS market_data.news_articles (
  url STRING NOT NULL,
  published_at TIMESTAMP NOT NULL,
  publisher STRING,
  author STRING,
  title STRING,
  description STRING,
  content STRING,
  query STRING,
  trading_date DATE,
  sentiment_score FLOAT64,
  sentiment_model STRING,
  source STRING,
  ingest_timestamp TIMESTAMP
)
PARTITION BY DATE(published_at)
CLUSTER BY publisher
OPTIONS (description = 'NewsAPI /v2/everything articles with sentiment; key (url)');
