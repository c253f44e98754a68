-- key: date, symbol
-- retention: never (training needs every row)
-- One row per trading date and root (symbol = root), built in SQL from the continuous series,
-- FRED as of each date (latest vintage with realtime_start <= date) and news sentiment.
CREATE TABLE IF NOT EXISTS features.curated_features_daily (
  date DATE NOT NULL,
  symbol STRING NOT NULL,
  contract_symbol STRING,
  databento_close FLOAT64,
  databento_volume INT64,
  index_close FLOAT64,
  returns_1d FLOAT64,
  returns_5d FLOAT64,
  returns_21d FLOAT64,
  volatility_30d FLOAT64,
  rsi_14 FLOAT64,
  macd FLOAT64,
  macd_signal FLOAT64,
  macd_hist FLOAT64,
  es_returns_1d FLOAT64,
  cl_returns_1d FLOAT64,
  zs_returns_1d FLOAT64,
  zm_returns_1d FLOAT64,
  ho_returns_1d FLOAT64,
  carry FLOAT64,
  fred_fed_funds_rate FLOAT64,
  fred_vix FLOAT64,
  fred_dgs10 FLOAT64,
  fred_dollar_index FLOAT64,
  fred_wti FLOAT64,
  news_count INT64,
  news_sentiment_mean FLOAT64,
  news_sentiment_mean_5d FLOAT64,
  feature_hash STRING,
  created_at TIMESTAMP
)
PARTITION BY DATE_TRUNC(date, MONTH)
CLUSTER BY symbol
OPTIONS (description = 'Curated daily features per root; key (date, symbol)');
