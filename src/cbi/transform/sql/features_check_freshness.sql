-- Quality gate: roots whose features stop before their continuous series does.
SELECT c.root AS symbol, c.latest AS input_latest, f.latest AS features_latest
FROM (SELECT root, MAX(date) AS latest FROM market_data.futures_continuous_1d GROUP BY root) AS c
LEFT JOIN (SELECT symbol, MAX(date) AS latest FROM features.curated_features_daily GROUP BY symbol) AS f
  ON f.symbol = c.root
WHERE f.latest IS NULL OR f.latest < c.latest
ORDER BY symbol
LIMIT 5
