-- The front-month curve: the last price of each listed outright of one root, from its
-- newest 1-minute bar (since @floor) or else its newest daily bar (since @day_floor).
WITH minute AS (
  SELECT symbol, ts_event AS at, close, source, 1 AS pref
  FROM market_data.databento_futures_ohlcv_1m
  WHERE root = @root AND ts_event >= @floor AND STRPOS(symbol, '-') = 0
  QUALIFY ROW_NUMBER() OVER (PARTITION BY symbol ORDER BY ts_event DESC) = 1
),
daily AS (
  SELECT symbol, TIMESTAMP(date) AS at, close, source, 2 AS pref
  FROM market_data.futures_ohlcv_1d
  WHERE root = @root AND date >= @day_floor AND STRPOS(symbol, '-') = 0
  QUALIFY ROW_NUMBER() OVER (PARTITION BY symbol ORDER BY date DESC) = 1
)
SELECT symbol, at, close, source, pref FROM minute
UNION ALL
SELECT symbol, at, close, source, pref FROM daily
