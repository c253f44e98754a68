-- Gate: derived tables follow their inputs. Every (trading date, symbol) of the 1-minute
-- bars has its daily bar; a run killed between the minute MERGE and the roll-up leaves
-- minutes without one. Rows: the (root, symbol, trading date) found without, at most five.
SELECT m.root, m.symbol, m.trading_date, COUNT(*) AS minutes
FROM market_data.databento_futures_ohlcv_1m AS m
LEFT JOIN market_data.futures_ohlcv_1d AS d
  ON d.date = m.trading_date AND d.symbol = m.symbol
WHERE d.date IS NULL
GROUP BY m.root, m.symbol, m.trading_date
ORDER BY m.trading_date, m.root, m.symbol
LIMIT 5
