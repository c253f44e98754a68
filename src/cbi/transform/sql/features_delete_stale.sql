-- After a full rebuild: drop feature rows whose (date, root) left the continuous series.
DELETE FROM features.curated_features_daily
WHERE CONCAT(CAST(date AS STRING), '|', symbol) NOT IN (
  SELECT CONCAT(CAST(date AS STRING), '|', root) FROM market_data.futures_continuous_1d
)
