-- key: surface, horizon, forecaster
-- retention: never (the accuracy record of every model)
-- The model report (`cbi models report`): walk-forward figures per surface, horizon and
-- forecaster (served | tree | neural | random_walk | drift), rewritten by every `cbi train`.
-- periods: non-overlapping h-day periods in the rows (rows / h). dm_stat, dm_pvalue:
-- Diebold-Mariano against the random walk on absolute log-return errors, Newey-West variance
-- (h-1 lags), one-sided p for "beats the random walk". coverage of the interval_level interval,
-- overall and in the worst calendar year of origins (worst_year); mean_width in price units;
-- winkler_rel_rw: mean Winkler interval score over that of the random walk with a trailing
-- 2-year empirical interval (below 1 is better); directional_accuracy over non-zero forecasts
-- only, nonzero_share beside it. served_by (served row): what is served for forecasts made now.
CREATE TABLE IF NOT EXISTS predictions.model_report (
  surface STRING NOT NULL,
  horizon STRING NOT NULL,
  forecaster STRING NOT NULL,
  model_version STRING,
  `rows` INT64,
  periods INT64,
  first_date DATE,
  last_date DATE,
  mase FLOAT64,
  dm_stat FLOAT64,
  dm_pvalue FLOAT64,
  interval_level FLOAT64,
  coverage FLOAT64,
  coverage_worst_year FLOAT64,
  worst_year INT64,
  mean_width FLOAT64,
  winkler_rel_rw FLOAT64,
  pinball FLOAT64,
  directional_accuracy FLOAT64,
  nonzero_share FLOAT64,
  served_by STRING,
  created_at TIMESTAMP
)
CLUSTER BY horizon
OPTIONS (description = 'Walk-forward model report per surface, horizon and forecaster; key (surface, horizon, forecaster)');
