-- Daily bars per contract by CME trading date, rolled up from 1-minute bars.
-- grain: (date, symbol); params: @root, @scan_start/@scan_end (a ts_event window that holds
-- every session booked to the dates, for partition pruning), @from_date/@to_date (trading
-- dates to build). Each minute carries its `trading_date`, set at ingest from the root's CME
-- calendar (`cbi.calendar`): a holiday session (ES Sunday 17:00 -> Monday 12:00 CT on a Monday
-- holiday) belongs to the next trading date, as CME books it.
-- source: 'sandbox' when any minute of the day was simulated, else the minutes' own source.
-- close: CME's settlement price where market_data.databento_settlements has it
-- (close_source 'settlement'), else the last 1-minute close ('last_trade').
WITH settlements AS (
  SELECT date, symbol, settlement_price
  FROM market_data.databento_settlements
  WHERE root = @root AND date BETWEEN @from_date AND @to_date
),
ranked AS (
  SELECT
    trading_date, ts_event, root, symbol, instrument_id, open, high, low, close, volume, source,
    ROW_NUMBER() OVER (PARTITION BY symbol, trading_date ORDER BY ts_event) AS first_rank,
    ROW_NUMBER() OVER (PARTITION BY symbol, trading_date ORDER BY ts_event DESC) AS last_rank
  FROM market_data.databento_futures_ohlcv_1m
  WHERE root = @root AND ts_event >= @scan_start AND ts_event < @scan_end
    AND trading_date BETWEEN @from_date AND @to_date
),
bars AS (
  SELECT
    trading_date AS date,
    root,
    symbol,
    MAX(instrument_id) AS instrument_id,
    MAX(CASE WHEN first_rank = 1 THEN open END) AS open,
    MAX(high) AS high,
    MIN(low) AS low,
    MAX(CASE WHEN last_rank = 1 THEN close END) AS last_close,
    SUM(volume) AS volume,
    CASE WHEN COUNTIF(source = 'sandbox') > 0 THEN 'sandbox' ELSE MAX(source) END AS source
  FROM ranked
  GROUP BY trading_date, root, symbol
)
SELECT
  b.date, b.root, b.symbol, b.instrument_id, b.open, b.high, b.low,
  COALESCE(s.settlement_price, b.last_close) AS close,
  b.volume, b.source,
  CASE WHEN s.settlement_price IS NOT NULL THEN 'settlement' ELSE 'last_trade' END AS close_source,
  CURRENT_TIMESTAMP() AS ingest_timestamp
FROM bars AS b
LEFT JOIN settlements AS s ON s.date = b.date AND s.symbol = b.symbol
ORDER BY date, symbol
