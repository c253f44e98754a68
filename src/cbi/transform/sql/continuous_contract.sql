-- One continuous series per root: per trading date the outright (no '-' in the symbol) with
-- the highest volume. Each return is within one contract (a roll day compares the new
-- contract with its own previous close), and returns chain into an index anchored at the
-- first close, so a series without rolls has index_close = close and rolls leave no gap.
-- grain: (date, root); params: @root, @from_date (rows returned from this date; the chain is
-- computed over the root's whole daily history, which is small).
-- A close <= 0 (WTI, 2020-04-20) has no return: the index holds flat rather than take a log.
WITH outrights AS (
  SELECT
    date, symbol, close, volume,
    LAG(close) OVER (PARTITION BY symbol ORDER BY date) AS prev_close
  FROM market_data.futures_ohlcv_1d
  WHERE root = @root AND STRPOS(symbol, '-') = 0 AND close IS NOT NULL
),
front AS (
  SELECT * FROM (
    SELECT
      *,
      ROW_NUMBER() OVER (PARTITION BY date ORDER BY volume DESC, symbol) AS volume_rank
    FROM outrights
  )
  WHERE volume_rank = 1
),
returns AS (
  SELECT
    date, symbol, close, volume,
    LAG(symbol) OVER (ORDER BY date) AS prev_symbol,
    ROW_NUMBER() OVER (ORDER BY date) AS day_number,
    FIRST_VALUE(close) OVER (
      ORDER BY date ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS first_close,
    CASE WHEN prev_close > 0 AND close > 0 THEN close / prev_close - 1 END AS contract_return
  FROM front
),
chained AS (
  SELECT
    *,
    CASE WHEN day_number = 1 THEN NULL ELSE contract_return END AS return_1d,
    SUM(CASE WHEN day_number > 1 AND contract_return IS NOT NULL
             THEN LN(1 + contract_return) ELSE 0 END)
      OVER (ORDER BY date ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS log_growth
  FROM returns
)
SELECT
  date,
  @root AS root,
  symbol AS contract_symbol,
  close,
  volume,
  return_1d,
  first_close * EXP(log_growth) AS index_close,
  COALESCE(prev_symbol != symbol, FALSE) AS is_roll,
  CURRENT_TIMESTAMP() AS updated_at
FROM chained
WHERE date >= @from_date
ORDER BY date
