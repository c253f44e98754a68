-- The rows of training table {table} to export, in date order: dates in [@start, @end]
-- written after @since (1970 for a whole export; the last export's newest row otherwise).
SELECT *
FROM {table}
WHERE date BETWEEN @start AND @end AND created_at > @since
ORDER BY date, symbol
