-- key: ts_event, symbol
-- One-minute OHLCV bars of every contract (outrights and spreads) from Databento GLBX.MDP3.
-- ts_event is the bar's start (UTC); a minute with no trades has no bar.
CREATE TABLE IF NOT EXISTS market_data.databento_futures_ohlcv_1m (
  ts_event TIMESTAMP NOT NULL,
  root STRING NOT NULL,
  symbol STRING NOT NULL,
  instrument_id INT64,
  open FLOAT64,
  high FLOAT64,
  low FLOAT64,
  close FLOAT64,
  volume INT64,
  ingest_timestamp TIMESTAMP
)
PARTITION BY DATE(ts_event)
CLUSTER BY root, symbol
OPTIONS (description = 'Databento GLBX.MDP3 ohlcv-1m bars, parent symbology; key (ts_event, symbol)');
