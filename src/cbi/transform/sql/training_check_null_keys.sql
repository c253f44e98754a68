-- Quality gate: rows of {table} with a NULL key column (should be none).
SELECT date, symbol
FROM {table}
WHERE date IS NULL OR symbol IS NULL
LIMIT 5
