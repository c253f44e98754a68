-- Which data on the page came from the sandbox: one flag per table the page shows rows of
-- (bars since @floor; the continuous series of @root; macro and news since @day_floor).
SELECT 'live bars' AS data, LOGICAL_OR(source = 'sandbox') AS sandbox
FROM market_data.databento_futures_ohlcv_1m WHERE ts_event >= @floor
UNION ALL
SELECT 'daily bars' AS data, LOGICAL_OR(source = 'sandbox') AS sandbox
FROM market_data.futures_continuous_1d WHERE root = @root
UNION ALL
SELECT 'macro' AS data, LOGICAL_OR(source = 'sandbox') AS sandbox
FROM market_data.fred_economic_indicators WHERE date >= @day_floor
UNION ALL
SELECT 'news' AS data, LOGICAL_OR(source = 'sandbox') AS sandbox
FROM market_data.news_articles WHERE published_at >= @floor_news
