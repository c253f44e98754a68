-- key: ts_event, symbol
-- retention: after roll-up into market_data.futures_ohlcv_1d (a minute expires only once its daily bar exists)
-- One-minute OHLCV bars of every contract (outrights and spreads) from Databento GLBX.MDP3.
-- ts_event is the bar's start (UTC); a minute with no trades has no bar. trading_date: the CME
-- trading date of the bar's session, set at ingest from the root's calendar (cbi.calendar).
-- source: where the row came from, written at ingest: 'databento' (the live service) or
-- 'sandbox' (simulated data; the dashboard shows its banner for any such row on the page).
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
  trading_date DATE,
  source STRING,
  ingest_timestamp TIMESTAMP
)
PARTITION BY DATE(ts_event)
CLUSTER BY root, symbol
OPTIONS (description = 'Databento GLBX.MDP3 ohlcv-1m bars, parent symbology; key (ts_event, symbol)');
