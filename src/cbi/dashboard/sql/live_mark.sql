-- What the live stream polls (one query a second per root, whatever the number of viewers):
-- the newest outright bar and the newest write. A change means the panel has news.
SELECT MAX(ts_event) AS ts, MAX(ingest_timestamp) AS written
FROM market_data.databento_futures_ohlcv_1m
WHERE root = @root AND ts_event >= @floor AND STRPOS(symbol, '-') = 0
