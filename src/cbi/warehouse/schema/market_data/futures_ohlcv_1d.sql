-- key: date, symbol
-- Daily bars per contract by CME trading date: rolled up from 1-minute bars or imported from daily files.
CREATE TABLE IF NOT EXISTS market_data.futures_ohlcv_1d (
  date DATE NOT NULL,
  root STRING NOT NULL,
  symbol STRING NOT NULL,
  instrument_id INT64,
  open FLOAT64,
  high FLOAT64,
  low FLOAT64,
  close FLOAT64,
  volume INT64,
  source STRING,
  ingest_timestamp TIMESTAMP
)
PARTITION BY DATE_TRUNC(date, MONTH)
CLUSTER BY root, symbol
OPTIONS (description = 'Daily futures bars by CME trading date (source: databento_1m or file); kept forever; key (date, symbol)');
