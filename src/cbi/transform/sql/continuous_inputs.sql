-- The inputs of one root's continuous series: its outrights' daily closes from @from_date.
-- Calendar spreads (a '-' in the symbol) never lead the series.
SELECT date, symbol, close, volume, source
FROM market_data.futures_ohlcv_1d
WHERE root = @root AND STRPOS(symbol, '-') = 0 AND close IS NOT NULL AND date >= @from_date
ORDER BY date, symbol
