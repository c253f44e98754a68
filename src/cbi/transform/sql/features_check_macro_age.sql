-- Quality gate: FRED series whose newest observation known at the features' last date is
-- older than the series' @max_age_<series> calendar days: the features hold NULL for them
-- there (no carry-forward without limit), so the models' newest rows lack that input.
WITH last_date AS (
  SELECT MAX(date) AS date FROM features.curated_features_daily
),
newest AS (
  SELECT f.series_id, MAX(f.date) AS last_observation
  FROM market_data.fred_economic_indicators AS f, last_date AS l
  WHERE f.value IS NOT NULL AND f.realtime_start <= l.date AND f.date <= l.date
    AND f.series_id IN ('DFF', 'VIXCLS', 'DGS10', 'DTWEXBGS', 'DCOILWTICO')
  GROUP BY f.series_id
)
SELECT n.series_id, n.last_observation, l.date AS features_date,
  DATE_DIFF(l.date, n.last_observation, DAY) AS age_days
FROM newest AS n, last_date AS l
WHERE DATE_DIFF(l.date, n.last_observation, DAY) > CASE n.series_id
  WHEN 'DFF' THEN @max_age_dff WHEN 'VIXCLS' THEN @max_age_vixcls
  WHEN 'DGS10' THEN @max_age_dgs10 WHEN 'DTWEXBGS' THEN @max_age_dtwexbgs
  WHEN 'DCOILWTICO' THEN @max_age_dcoilwtico END
ORDER BY n.series_id
LIMIT 5
