-- The served forecaster's walk-forward record at one horizon: every origin with a realised
-- price, one row an origin (the served row written last), and whether the interval held it.
SELECT
  date,
  target_date,
  served_by,
  predicted_value,
  confidence_interval_lower,
  confidence_interval_upper,
  actual_value,
  actual_value BETWEEN confidence_interval_lower AND confidence_interval_upper AS hit
FROM {table}
WHERE model_name = 'served' AND horizon = @horizon AND actual_value IS NOT NULL
  AND confidence_interval_lower IS NOT NULL AND confidence_interval_upper IS NOT NULL
QUALIFY ROW_NUMBER() OVER (PARTITION BY date ORDER BY created_at DESC, model_version DESC) = 1
ORDER BY date
