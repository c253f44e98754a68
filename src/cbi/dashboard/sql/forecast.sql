-- Forecasts of one horizon whose origin date is on or after @since, newest origin first.
-- @all_versions = FALSE keeps, per origin date, the rows of the model version written last
-- (the current model: a retrain writes new rows with a later created_at); TRUE serves all.
SELECT
  date,
  target_date,
  predicted_value,
  confidence_interval_lower,
  confidence_interval_upper,
  interval_level,
  model_version
FROM {table}
WHERE date >= @since AND horizon = @horizon
QUALIFY @all_versions
  OR ROW_NUMBER() OVER (
    PARTITION BY date ORDER BY created_at DESC NULLS LAST, model_version DESC
  ) = 1
ORDER BY date DESC, model_version
LIMIT 100
