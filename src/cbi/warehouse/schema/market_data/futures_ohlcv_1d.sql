-- key: date, symbol
-- retention: never (training needs every row)
-- Daily bars per contract by CME trading date: rolled up from 1-minute bars or imported from daily files.
-- source: 'databento' or 'sandbox' (carried from the bars rolled up: 'sandbox' when any was),
-- or 'file' for a vendor-file import. close_source: 'settlement' (CME's settlement price from
-- Databento statistics) or 'last_trade' (the last 1-minute close; vendor files: as given).
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
  close_source STRING,
  ingest_timestamp TIMESTAMP
)
PARTITION BY DATE_TRUNC(date, MONTH)
CLUSTER BY root, symbol
OPTIONS (description = 'Daily futures bars by CME trading date (source: databento, sandbox or file); kept forever; key (date, symbol)');
