-- key: series_id, date, realtime_start
-- retention: never (training needs every row)
-- Every vintage of every FRED observation: a revision is a new row with its own realtime_start.
-- source: 'fred' (the live API), 'sandbox' (simulated) or 'file' (a downloaded CSV).
CREATE TABLE IF NOT EXISTS market_data.fred_economic_indicators (
  series_id STRING NOT NULL,
  date DATE NOT NULL,
  realtime_start DATE NOT NULL,
  realtime_end DATE,
  value FLOAT64,
  source STRING,
  ingest_timestamp TIMESTAMP
)
PARTITION BY DATE_TRUNC(date, MONTH)
CLUSTER BY series_id
OPTIONS (description = 'FRED observations with point-in-time vintages (value NULL where FRED says "."); key (series_id, date, realtime_start)');
