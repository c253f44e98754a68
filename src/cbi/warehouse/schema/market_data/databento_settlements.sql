-- key: date, symbol
-- retention: never (training needs every row)
-- CME settlement prices per contract and trading date, from Databento's statistics schema
-- (GLBX.MDP3, stat_type SETTLEMENT_PRICE): the daily close that CME itself publishes. Daily
-- bars use it as their close where present (futures_ohlcv_1d.close_source = 'settlement').
-- source: 'databento' (the live service) or 'sandbox' (simulated).
CREATE TABLE IF NOT EXISTS market_data.databento_settlements (
  date DATE NOT NULL,
  symbol STRING NOT NULL,
  root STRING NOT NULL,
  instrument_id INT64,
  settlement_price FLOAT64,
  published_at TIMESTAMP,
  source STRING,
  ingest_timestamp TIMESTAMP
)
PARTITION BY DATE_TRUNC(date, MONTH)
CLUSTER BY root, symbol
OPTIONS (description = 'CME settlement prices from Databento statistics; kept forever; key (date, symbol)');
