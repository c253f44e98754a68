-- The model report of one surface (`cbi models report` writes it): per horizon and forecaster.
SELECT
  horizon,
  forecaster,
  model_version,
  served_by,
  `rows` AS n,
  periods,
  mase,
  dm_stat,
  dm_pvalue,
  coverage,
  coverage_worst_year,
  worst_year,
  mean_width,
  winkler_rel_rw,
  pinball,
  directional_accuracy,
  nonzero_share,
  created_at
FROM predictions.model_report
WHERE surface = @surface
