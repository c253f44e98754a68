-- Quality gate: dates of {table} off the trading calendar: a Saturday or Sunday, or a gap of
-- more than @max_gap_days calendar days since the symbol's previous date.
SELECT symbol, date, previous_date
FROM (
  SELECT symbol, date,
    LAG(date) OVER (PARTITION BY symbol ORDER BY date) AS previous_date
  FROM {table}
  WHERE date IS NOT NULL
) AS dated
WHERE FORMAT_DATE('%u', date) IN ('6', '7')
  OR DATE_DIFF(date, previous_date, DAY) > @max_gap_days
ORDER BY date
LIMIT 5
