-- The newest served forecast of one horizon (origin on or after @floor): the latest origin
-- date, and of its rows the one written last. `data.headline` unions one of these per horizon.
SELECT
  horizon,
  date,
  target_date,
  served_by,
  model_version,
  origin_close,
  predicted_value,
  confidence_interval_lower,
  confidence_interval_upper,
  interval_level,
  created_at
FROM {table}
WHERE model_name = 'served' AND date >= @floor
ORDER BY date DESC, created_at DESC, model_version DESC
LIMIT 1
