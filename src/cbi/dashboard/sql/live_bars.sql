-- One-minute bars of one root's outright contracts (spread symbols contain '-') in the
-- 5 minutes that end at the newest bar, and only those after @since. @floor bounds the scan
-- (BigQuery prunes partitions on DATE(ts_event)) and is how far back "newest" may be.
WITH newest AS (
  SELECT MAX(ts_event) AS ts
  FROM market_data.databento_futures_ohlcv_1m
  WHERE root = @root AND ts_event >= @floor AND STRPOS(symbol, '-') = 0
)
SELECT b.ts_event, b.symbol, b.close, b.volume, b.source
FROM market_data.databento_futures_ohlcv_1m AS b
CROSS JOIN newest
WHERE b.root = @root
  AND b.ts_event >= @floor
  AND STRPOS(b.symbol, '-') = 0
  AND b.ts_event > TIMESTAMP_SUB(newest.ts, INTERVAL 5 MINUTE)
  AND b.ts_event > @since
ORDER BY b.ts_event, b.symbol
