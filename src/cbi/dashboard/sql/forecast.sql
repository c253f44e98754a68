-- Forecasts of one horizon whose origin date is on or after @since: a plain filtered scan
-- (no window, no sort). `data.forecast` keeps, per origin date, the served row written last
-- (latest created_at, then highest model_version), orders newest origin first and cuts at
-- 100 rows: the window + QUALIFY form cost DuckDB ~3x the scan on every request.
SELECT
  date,
  target_date,
  model_name,
  served_by,
  model_version,
  origin_close,
  predicted_value,
  confidence_interval_lower,
  confidence_interval_upper,
  interval_level,
  created_at,
  UNIX_MICROS(created_at) AS created_us
FROM {table}
WHERE date >= @since AND horizon = @horizon
