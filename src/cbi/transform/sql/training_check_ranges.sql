-- Quality gate: values of {table} out of range: RSI outside [0, 100], negative volatility,
-- a non-positive price of the target root (CL may trade below zero: 2020-04-20).
SELECT date, symbol, rsi_14, volatility_30d, databento_close
FROM {table}
WHERE rsi_14 < 0 OR rsi_14 > 100 OR volatility_30d < 0
  OR (symbol = @target_root AND databento_close <= 0)
ORDER BY date
LIMIT 5
