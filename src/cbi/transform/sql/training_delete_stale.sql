-- After a full rebuild: drop training rows whose date left the root's feature rows.
DELETE FROM {table}
WHERE CONCAT(CAST(date AS STRING), '|', symbol) NOT IN (
  SELECT CONCAT(CAST(date AS STRING), '|', symbol) FROM features.curated_features_daily
)
