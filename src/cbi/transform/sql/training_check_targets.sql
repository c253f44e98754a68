-- Quality gate (leakage and alignment) for training table {table}: every target lies after
-- its row's date, exactly @horizon_days rows later, and only the last @horizon_days rows
-- lack one. (A self-join on row numbers: LEAD's offset must be a literal in BigQuery.)
WITH ordered AS (
  SELECT date, symbol, target_date,
    ROW_NUMBER() OVER (PARTITION BY symbol ORDER BY date) AS rn
  FROM {table}
),
aligned AS (
  SELECT o.date, o.symbol, o.target_date, later.date AS expected_target_date
  FROM ordered AS o
  LEFT JOIN ordered AS later ON later.symbol = o.symbol AND later.rn = o.rn + @horizon_days
)
SELECT date, symbol, target_date, expected_target_date
FROM aligned
WHERE (target_date IS NOT NULL AND target_date <= date)
  OR (target_date IS NULL AND expected_target_date IS NOT NULL)
  OR (target_date IS NOT NULL AND (expected_target_date IS NULL OR target_date != expected_target_date))
ORDER BY date
LIMIT 5
