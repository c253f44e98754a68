-- Daily continuous closes of one root: the @days calendar days that end at its newest date,
-- and only dates after @since (the page's refresh asks for what is new).
WITH newest AS (
  SELECT MAX(date) AS d FROM market_data.futures_continuous_1d WHERE root = @root
)
SELECT c.date, c.close, c.index_close, c.contract_symbol, c.source
FROM market_data.futures_continuous_1d AS c
CROSS JOIN newest
WHERE c.root = @root
  AND c.date > DATE_SUB(newest.d, INTERVAL @days DAY)
  AND c.date > @since
ORDER BY c.date
