-- The newest 1-minute bar per root: the market feed's freshness.
SELECT root, MAX(ts_event) AS last_at, MAX(ingest_timestamp) AS ingested_at
FROM market_data.databento_futures_ohlcv_1m
GROUP BY root
