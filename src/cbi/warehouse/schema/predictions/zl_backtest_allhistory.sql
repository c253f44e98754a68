-- key: date, horizon, model_version
-- template: surface, horizon
-- retention: never
-- Every walk-forward (out-of-sample) prediction with the actual value, for auditing accuracy in SQL.
-- model_name: tree | neural | random_walk | drift | served; served_by (served rows only): the
-- forecaster served at that origin by the skill gate (tree | neural | random_walk).
CREATE TABLE IF NOT EXISTS predictions.zl_backtest_{surface}_allhistory_{horizon} (
  date DATE NOT NULL,
  horizon STRING NOT NULL,
  model_version STRING NOT NULL,
  model_name STRING,
  served_by STRING,
  target_date DATE,
  origin_close FLOAT64,
  predicted_value FLOAT64,
  confidence_interval_lower FLOAT64,
  confidence_interval_upper FLOAT64,
  interval_level FLOAT64,
  actual_value FLOAT64,
  created_at TIMESTAMP
)
PARTITION BY DATE_TRUNC(date, MONTH)
CLUSTER BY horizon
OPTIONS (description = 'ZL walk-forward backtest, {surface} surface, horizon {horizon}; key (date, horizon, model_version)');
