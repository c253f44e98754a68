-- The newest 1-minute bar per root within a bounded recent window: the market feed's
-- freshness. @since bounds the scan (zone maps / partitions prune every older row group),
-- so a check costs the same on a month or on twenty years of minutes; a root with no bar
-- since @since is stale whenever its market is open anyway.
SELECT root, MAX(ts_event) AS last_at, MAX(ingest_timestamp) AS ingested_at
FROM market_data.databento_futures_ohlcv_1m
WHERE ts_event >= @since
GROUP BY root
