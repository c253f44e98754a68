-- Daily bars of one root whose close is not yet CME's settlement price, with it as their close:
-- for settlements published after the bar was rolled up, and for bars rolled up from hours.
-- grain: (date, symbol); params: @root, @from_date, @to_date.
SELECT
  d.date, d.root, d.symbol, d.instrument_id, d.open, d.high, d.low,
  s.settlement_price AS close,
  d.volume, d.source,
  'settlement' AS close_source,
  CURRENT_TIMESTAMP() AS ingest_timestamp
FROM market_data.futures_ohlcv_1d AS d
JOIN market_data.databento_settlements AS s ON s.date = d.date AND s.symbol = d.symbol
WHERE d.root = @root AND d.date BETWEEN @from_date AND @to_date
  AND s.date BETWEEN @from_date AND @to_date
  AND (d.close_source IS NULL OR d.close_source != 'settlement' OR d.close != s.settlement_price)
