-- What was known about one FRED series at the end of @as_of: for each observation date, the
-- vintage with the latest realtime_start on or before @as_of (a revision published later never
-- shows). realtime_end bounds API vintages; file imports leave it NULL (open).
SELECT date, value, realtime_start
FROM market_data.fred_economic_indicators
WHERE series_id = @series_id
  AND realtime_start <= @as_of
  AND (realtime_end IS NULL OR realtime_end >= @as_of)
QUALIFY ROW_NUMBER() OVER (PARTITION BY date ORDER BY realtime_start DESC) = 1
ORDER BY date
