-- Quality gate: keys that occur more than once in {table} (should be none).
SELECT date, symbol, COUNT(*) AS copies
FROM {table}
GROUP BY date, symbol
HAVING COUNT(*) > 1
ORDER BY date
LIMIT 5
