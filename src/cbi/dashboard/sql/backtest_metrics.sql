-- Walk-forward accuracy of every model version of one horizon, and of the naive forecast
-- (no change from the origin close) on the same rows. MASE here is the model's MAE over the
-- naive MAE at this horizon: below 1 beats naive. Pinball averages the two quantile losses
-- of the interval ends (quantiles (1 - level) / 2 and (1 + level) / 2).
WITH scored AS (
  SELECT
    model_version,
    COALESCE(model_name, model_version) AS model,
    created_at,
    predicted_value AS p,
    actual_value AS y,
    origin_close AS o,
    confidence_interval_lower AS lo,
    confidence_interval_upper AS hi,
    COALESCE(interval_level, @default_level) AS lvl
  FROM {table}
  WHERE horizon = @horizon AND actual_value IS NOT NULL AND predicted_value IS NOT NULL
),
newest AS (
  SELECT model_version FROM scored
  WHERE created_at IS NOT NULL
  QUALIFY ROW_NUMBER() OVER (ORDER BY created_at DESC, model_version DESC) = 1
),
per_model AS (
  SELECT
    model_version,
    ANY_VALUE(model) AS model,
    COUNT(*) AS n,
    AVG(ABS(y - p)) AS mae,
    SQRT(AVG((y - p) * (y - p))) AS rmse,
    AVG(ABS(y - o)) AS naive_mae,
    SQRT(AVG((y - o) * (y - o))) AS naive_rmse,
    AVG(CASE WHEN o IS NULL THEN NULL WHEN SIGN(p - o) = SIGN(y - o) THEN 1.0 ELSE 0.0 END)
      AS directional_accuracy,
    AVG(CASE WHEN lo IS NULL OR hi IS NULL THEN NULL WHEN y BETWEEN lo AND hi THEN 1.0 ELSE 0.0 END)
      AS coverage,
    AVG(hi - lo) AS interval_width,
    AVG((GREATEST((1 - lvl) / 2 * (y - lo), ((1 - lvl) / 2 - 1) * (y - lo))
       + GREATEST((1 + lvl) / 2 * (y - hi), ((1 + lvl) / 2 - 1) * (y - hi))) / 2) AS pinball,
    MAX(lvl) AS interval_level
  FROM scored
  GROUP BY model_version
)
SELECT
  m.model_version,
  m.model,
  m.n,
  m.mae,
  m.rmse,
  m.naive_mae,
  m.naive_rmse,
  SAFE_DIVIDE(m.mae, m.naive_mae) AS mase,
  m.directional_accuracy,
  m.coverage,
  m.interval_width,
  m.pinball,
  m.interval_level,
  m.model_version = (SELECT model_version FROM newest) AS is_current
FROM per_model AS m
ORDER BY m.model_version
