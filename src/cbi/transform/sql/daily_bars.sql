-- Daily bars per contract by CME trading date, rolled up from 1-minute bars.
-- grain: (date, symbol); params: @root, @scan_start/@scan_end (a ts_event window wide enough
-- to hold whole sessions, for partition pruning), @from_date/@to_date (trading dates to build).
-- Trading date: the America/Chicago clock (DST-aware) plus 7 hours, so the Globex session
-- that opens at 17:00 CT belongs to the next date; a Friday-evening or weekend bar (none
-- expected) is moved to Monday.
WITH minute_bars AS (
  SELECT
    ts_event, root, symbol, instrument_id, open, high, low, close, volume,
    DATE(DATETIME_ADD(DATETIME(ts_event, 'America/Chicago'), INTERVAL 7 HOUR)) AS clock_date
  FROM market_data.databento_futures_ohlcv_1m
  WHERE root = @root AND ts_event >= @scan_start AND ts_event < @scan_end
),
dated AS (
  SELECT
    *,
    CASE FORMAT_DATE('%u', clock_date)
      WHEN '6' THEN DATE(DATE_ADD(clock_date, INTERVAL 2 DAY))
      WHEN '7' THEN DATE(DATE_ADD(clock_date, INTERVAL 1 DAY))
      ELSE clock_date
    END AS trading_date
  FROM minute_bars
),
ranked AS (
  SELECT
    *,
    ROW_NUMBER() OVER (PARTITION BY symbol, trading_date ORDER BY ts_event) AS first_rank,
    ROW_NUMBER() OVER (PARTITION BY symbol, trading_date ORDER BY ts_event DESC) AS last_rank
  FROM dated
  WHERE trading_date BETWEEN @from_date AND @to_date
)
SELECT
  trading_date AS date,
  root,
  symbol,
  MAX(instrument_id) AS instrument_id,
  MAX(CASE WHEN first_rank = 1 THEN open END) AS open,
  MAX(high) AS high,
  MIN(low) AS low,
  MAX(CASE WHEN last_rank = 1 THEN close END) AS close,
  SUM(volume) AS volume,
  'databento_1m' AS source,
  CURRENT_TIMESTAMP() AS ingest_timestamp
FROM ranked
GROUP BY trading_date, root, symbol
ORDER BY date, symbol
