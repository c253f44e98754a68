-- key: date, symbol
-- template: horizon
-- retention: never
-- Every feature for ZL with the forward target over {horizon} ({days} trading days).
-- The last {days} rows keep NULL targets: they are the rows we predict.
CREATE TABLE IF NOT EXISTS training.zl_training_full_allhistory_{horizon} (
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
  target_date DATE,
  target_log_return FLOAT64,
  target_price FLOAT64,
  created_at TIMESTAMP
)
PARTITION BY DATE_TRUNC(date, MONTH)
CLUSTER BY symbol
OPTIONS (description = 'ZL training rows, full surface, horizon {horizon} = {days} trading days; key (date, symbol)');
