-- key: date, horizon, model_version
-- template: surface, horizon
-- retention: never
-- Forecasts made at origin date (the close of date) for target_date, from the {surface} surface.
-- model_name = served: the forecast the product serves; served_by names its source
-- (tree | neural | random_walk). Learner rows (tree, neural) are kept beside it.
CREATE TABLE IF NOT EXISTS predictions.zl_predictions_{surface}_allhistory_{horizon} (
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
  created_at TIMESTAMP
)
PARTITION BY date
CLUSTER BY horizon
OPTIONS (description = 'ZL price forecasts, {surface} surface, horizon {horizon}; key (date, horizon, model_version)');
