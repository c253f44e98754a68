-- Curated daily features per root (BigQuery Standard SQL; DuckDB runs it through sqlglot).
-- Grain: one row per (date, symbol = root) of market_data.futures_continuous_1d.
-- Params: @write_from, @write_to (DATE: the rows returned), @feature_hash, @created_at.
--
-- Indicators are TA-Lib's, exactly, on the continuous index (no roll gaps):
--   RSI(14): Wilder averages seeded at row 14 with the mean of the first 14 gains/losses.
--   MACD(12,26,9): both EMAs seeded at row 25 (slow: mean of rows 0..25, fast: mean of
--   rows 14..25), the signal seeded at row 33 with the mean of MACD rows 25..33.
-- An EMA y_t = r*y_(t-1) + a*x_t seeded with y_s is, in closed form,
--   y_t = r^(t-s)*y_s + a * SUM_(s<k<=t) r^(t-k)*x_k.
-- The sum runs over the row's block of 1000 rows and the block before: older weights are
-- below r^1000 < 1e-32. Within a block x_k is divided by r^(k - block start), never
-- multiplied by (1/r)^.., which keeps the terms exact to the last bit that matters.
-- WITH RECURSIVE would also be exact but BigQuery caps recursion at 500 iterations.
-- Rows are read from three blocks before @write_from, so an incremental rebuild sees the
-- same numbers as a full one (the warm-up window).
-- Cost (DuckDB; each window pass is a sort of every row): one pass per symbol in date order
-- gives the row number and every plain lag and rolling window; one pass per (symbol, block)
-- gives the four running block sums, and one more the MACD signal's (it needs the MACD line).
-- Seeds and block totals are GROUP BYs over the blocks (a few rows per symbol), never
-- windows over every row.
WITH series AS (
  SELECT
    s.root AS symbol, s.date, s.contract_symbol, s.close, s.volume, s.return_1d, s.index_close,
    n.article_count, n.sentiment_mean,
    ROW_NUMBER() OVER (PARTITION BY s.root ORDER BY s.date) - 1 AS rn,
    s.index_close - LAG(s.index_close) OVER (PARTITION BY s.root ORDER BY s.date) AS chg,
    LAG(s.index_close, 5) OVER (PARTITION BY s.root ORDER BY s.date) AS close_5,
    LAG(s.index_close, 21) OVER (PARTITION BY s.root ORDER BY s.date) AS close_21,
    COUNT(s.return_1d) OVER (PARTITION BY s.root ORDER BY s.date ROWS BETWEEN 29 PRECEDING AND CURRENT ROW) AS count_30,
    STDDEV_SAMP(s.return_1d) OVER (PARTITION BY s.root ORDER BY s.date ROWS BETWEEN 29 PRECEDING AND CURRENT ROW) AS stdev_30,
    -- Article-weighted mean sentiment over the last 5 trading dates of the series.
    SUM(n.sentiment_mean * n.article_count) OVER (PARTITION BY s.root ORDER BY s.date ROWS BETWEEN 4 PRECEDING AND CURRENT ROW) AS sentiment_sum_5,
    SUM(n.article_count) OVER (PARTITION BY s.root ORDER BY s.date ROWS BETWEEN 4 PRECEDING AND CURRENT ROW) AS article_count_5
  -- The news view already assigns each article to the CME trading date whose close follows it.
  FROM market_data.futures_continuous_1d AS s
  LEFT JOIN market_data.news_sentiment AS n ON n.date = s.date
  WHERE s.date <= @write_to
),
bounds AS (
  SELECT symbol, MIN(rn) AS first_rn FROM series WHERE date >= @write_from GROUP BY symbol
),
base AS (
  -- The first row read has no change (as if the series started there).
  SELECT
    s.symbol, s.date, s.rn, s.index_close,
    DIV(s.rn, 1000) AS blk,
    MOD(s.rn, 1000) AS pos,
    CASE WHEN s.rn > b.first_rn - 3000 THEN s.chg END AS chg
  FROM series AS s
  JOIN bounds AS b ON s.symbol = b.symbol
  WHERE s.rn >= b.first_rn - 3000
),
weighted AS (
  SELECT
    *,
    CASE WHEN rn > 14 THEN GREATEST(chg, 0) / POW(13.0 / 14.0, pos) ELSE 0 END AS w_gain,
    CASE WHEN rn > 14 THEN GREATEST(-chg, 0) / POW(13.0 / 14.0, pos) ELSE 0 END AS w_loss,
    CASE WHEN rn > 25 THEN index_close / POW(11.0 / 13.0, pos) ELSE 0 END AS w_fast,
    CASE WHEN rn > 25 THEN index_close / POW(25.0 / 27.0, pos) ELSE 0 END AS w_slow
  FROM base
),
block_totals AS (
  -- Per block: its sums, and (in block 0) the seeds: RSI's mean of the first 14 gains and
  -- losses (rows 1..14), the fast EMA's mean of rows 14..25, the slow one's of rows 0..25.
  SELECT
    symbol, blk,
    SUM(w_gain) AS t_gain, SUM(w_loss) AS t_loss, SUM(w_fast) AS t_fast, SUM(w_slow) AS t_slow,
    AVG(CASE WHEN rn BETWEEN 1 AND 14 THEN GREATEST(chg, 0) END) AS s_gain,
    AVG(CASE WHEN rn BETWEEN 1 AND 14 THEN GREATEST(-chg, 0) END) AS s_loss,
    AVG(CASE WHEN rn BETWEEN 14 AND 25 THEN index_close END) AS s_fast,
    AVG(CASE WHEN rn BETWEEN 0 AND 25 THEN index_close END) AS s_slow,
    COUNTIF(rn = 14) AS has_14, COUNTIF(rn = 25) AS has_25
  FROM weighted
  GROUP BY symbol, blk
),
blocks AS (
  -- The previous block's sums (blocks are consecutive) and the symbol's seeds (NULL when
  -- the seed row was not read).
  SELECT
    symbol, blk,
    LAG(t_gain) OVER (PARTITION BY symbol ORDER BY blk) AS p_gain,
    LAG(t_loss) OVER (PARTITION BY symbol ORDER BY blk) AS p_loss,
    LAG(t_fast) OVER (PARTITION BY symbol ORDER BY blk) AS p_fast,
    LAG(t_slow) OVER (PARTITION BY symbol ORDER BY blk) AS p_slow,
    MAX(CASE WHEN has_14 > 0 THEN s_gain END) OVER (PARTITION BY symbol) AS seed_gain,
    MAX(CASE WHEN has_14 > 0 THEN s_loss END) OVER (PARTITION BY symbol) AS seed_loss,
    MAX(CASE WHEN has_25 > 0 THEN s_fast END) OVER (PARTITION BY symbol) AS seed_fast,
    MAX(CASE WHEN has_25 > 0 THEN s_slow END) OVER (PARTITION BY symbol) AS seed_slow
  FROM block_totals
),
running AS (
  SELECT
    w.symbol, w.rn, w.blk, w.pos,
    SUM(w.w_gain) OVER (PARTITION BY w.symbol, w.blk ORDER BY w.rn ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS c_gain,
    SUM(w.w_loss) OVER (PARTITION BY w.symbol, w.blk ORDER BY w.rn ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS c_loss,
    SUM(w.w_fast) OVER (PARTITION BY w.symbol, w.blk ORDER BY w.rn ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS c_fast,
    SUM(w.w_slow) OVER (PARTITION BY w.symbol, w.blk ORDER BY w.rn ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS c_slow,
    k.seed_gain, k.seed_loss, k.seed_fast, k.seed_slow,
    COALESCE(k.p_gain, 0) AS p_gain, COALESCE(k.p_loss, 0) AS p_loss,
    COALESCE(k.p_fast, 0) AS p_fast, COALESCE(k.p_slow, 0) AS p_slow
  FROM weighted AS w
  JOIN blocks AS k ON k.symbol = w.symbol AND k.blk = w.blk
),
averages AS (
  -- A seed outside the warm-up window weighs less than r^2000: it counts as 0.
  SELECT
    symbol, rn, blk, pos,
    CASE WHEN rn >= 14 THEN
      COALESCE(seed_gain, 0) * POW(13.0 / 14.0, LEAST(rn - 14, 3000))
      + (1.0 / 14.0) * (POW(13.0 / 14.0, pos) * c_gain + POW(13.0 / 14.0, pos + 1000) * p_gain)
    END AS avg_gain,
    CASE WHEN rn >= 14 THEN
      COALESCE(seed_loss, 0) * POW(13.0 / 14.0, LEAST(rn - 14, 3000))
      + (1.0 / 14.0) * (POW(13.0 / 14.0, pos) * c_loss + POW(13.0 / 14.0, pos + 1000) * p_loss)
    END AS avg_loss,
    CASE WHEN rn >= 25 THEN
      (COALESCE(seed_fast, 0) * POW(11.0 / 13.0, LEAST(rn - 25, 3000))
       + (2.0 / 13.0) * (POW(11.0 / 13.0, pos) * c_fast + POW(11.0 / 13.0, pos + 1000) * p_fast))
      - (COALESCE(seed_slow, 0) * POW(25.0 / 27.0, LEAST(rn - 25, 3000))
       + (2.0 / 27.0) * (POW(25.0 / 27.0, pos) * c_slow + POW(25.0 / 27.0, pos + 1000) * p_slow))
    END AS macd_line
  FROM running
),
macd_weighted AS (
  SELECT *, CASE WHEN rn > 33 THEN macd_line / POW(0.8, pos) ELSE 0 END AS w_macd
  FROM averages
),
macd_block_totals AS (
  -- The signal's seed: the mean of MACD rows 25..33.
  SELECT
    symbol, blk, SUM(w_macd) AS t_macd,
    AVG(CASE WHEN rn BETWEEN 25 AND 33 THEN macd_line END) AS s_macd, COUNTIF(rn = 33) AS has_33
  FROM macd_weighted
  GROUP BY symbol, blk
),
macd_blocks AS (
  SELECT
    symbol, blk,
    LAG(t_macd) OVER (PARTITION BY symbol ORDER BY blk) AS p_macd,
    MAX(CASE WHEN has_33 > 0 THEN s_macd END) OVER (PARTITION BY symbol) AS seed_macd
  FROM macd_block_totals
),
signal AS (
  SELECT
    m.symbol, m.rn, m.pos, m.avg_gain, m.avg_loss, m.macd_line,
    SUM(m.w_macd) OVER (PARTITION BY m.symbol, m.blk ORDER BY m.rn ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS c_macd,
    k.seed_macd, COALESCE(k.p_macd, 0) AS p_macd
  FROM macd_weighted AS m
  JOIN macd_blocks AS k ON k.symbol = m.symbol AND k.blk = m.blk
),
indicators AS (
  SELECT
    s.*, i.macd_line,
    CASE WHEN i.rn >= 14 THEN
      CASE WHEN i.avg_gain + i.avg_loss = 0 THEN 0 ELSE 100 * i.avg_gain / (i.avg_gain + i.avg_loss) END
    END AS rsi_14,
    CASE WHEN i.rn >= 33 THEN
      COALESCE(i.seed_macd, 0) * POW(0.8, LEAST(i.rn - 33, 3000))
      + 0.2 * (POW(0.8, i.pos) * i.c_macd + POW(0.8, i.pos + 1000) * i.p_macd)
    END AS macd_signal
  FROM signal AS i
  JOIN series AS s ON s.symbol = i.symbol AND s.rn = i.rn
  WHERE s.date >= @write_from
),
written AS (
  SELECT
    *,
    CASE WHEN rn >= 5 AND index_close > 0 AND close_5 > 0 THEN LN(index_close / close_5) END AS returns_5d,
    CASE WHEN rn >= 21 AND index_close > 0 AND close_21 > 0 THEN LN(index_close / close_21) END AS returns_21d,
    CASE WHEN count_30 = 30 THEN stdev_30 * SQRT(252) END AS volatility_30d,
    sentiment_sum_5 / NULLIF(article_count_5, 0) AS news_sentiment_mean_5d
  FROM indicators
),
cross_asset AS (
  SELECT
    date,
    MAX(CASE WHEN root = 'ES' THEN return_1d END) AS es_returns_1d,
    MAX(CASE WHEN root = 'CL' THEN return_1d END) AS cl_returns_1d
  FROM market_data.futures_continuous_1d
  WHERE root IN ('ES', 'CL') AND date BETWEEN @write_from AND @write_to
  GROUP BY date
),
fred AS (
  SELECT * FROM market_data.fred_economic_indicators
  WHERE series_id IN ('DFF', 'VIXCLS', 'DGS10', 'DTWEXBGS', 'DCOILWTICO') AND value IS NOT NULL
),
fred_known AS (
  -- When each observation first became knowable: its first vintage, never before its own date.
  SELECT series_id, date AS obs, GREATEST(MIN(realtime_start), date) AS known_on
  FROM fred
  GROUP BY series_id, date
),
fred_timeline AS (
  SELECT series_id, known_on AS t, obs, 0 AS is_query FROM fred_known
  UNION ALL
  SELECT q.series_id, d.date AS t, CAST(NULL AS DATE) AS obs, 1 AS is_query
  FROM (SELECT DISTINCT date FROM series WHERE date >= @write_from) AS d
  CROSS JOIN (SELECT DISTINCT series_id FROM fred_known) AS q
),
fred_latest_obs AS (
  -- The latest observation known on each date (events on that date count: is_query sorts last).
  SELECT series_id, t AS date, obs, is_query
  FROM (
    SELECT series_id, t, is_query,
      MAX(obs) OVER (PARTITION BY series_id ORDER BY t, is_query ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS obs
    FROM fred_timeline
  ) AS running_max
  WHERE is_query = 1 AND obs IS NOT NULL
),
fred_vintages AS (
  -- That observation's value from its latest vintage published on or before the date.
  SELECT
    o.series_id, o.date, f.value,
    ROW_NUMBER() OVER (PARTITION BY o.series_id, o.date ORDER BY f.realtime_start DESC) AS vintage_rank
  FROM fred_latest_obs AS o
  JOIN fred AS f ON f.series_id = o.series_id AND f.date = o.obs AND f.realtime_start <= o.date
),
fred_as_of AS (
  SELECT
    date,
    MAX(CASE WHEN series_id = 'DFF' THEN value END) AS fred_fed_funds_rate,
    MAX(CASE WHEN series_id = 'VIXCLS' THEN value END) AS fred_vix,
    MAX(CASE WHEN series_id = 'DGS10' THEN value END) AS fred_dgs10,
    MAX(CASE WHEN series_id = 'DTWEXBGS' THEN value END) AS fred_dollar_index,
    MAX(CASE WHEN series_id = 'DCOILWTICO' THEN value END) AS fred_wti
  FROM fred_vintages
  WHERE vintage_rank = 1
  GROUP BY date
)
SELECT
  w.date, w.symbol, w.contract_symbol,
  w.close AS databento_close, w.volume AS databento_volume, w.index_close,
  w.return_1d AS returns_1d, w.returns_5d, w.returns_21d, w.volatility_30d,
  w.rsi_14,
  -- TA-Lib reports MACD from row 33, where its signal line starts.
  CASE WHEN w.rn >= 33 THEN w.macd_line END AS macd, w.macd_signal,
  w.macd_line - w.macd_signal AS macd_hist,
  x.es_returns_1d, x.cl_returns_1d,
  f.fred_fed_funds_rate, f.fred_vix, f.fred_dgs10, f.fred_dollar_index, f.fred_wti,
  COALESCE(w.article_count, 0) AS news_count, w.sentiment_mean AS news_sentiment_mean,
  w.news_sentiment_mean_5d,
  @feature_hash AS feature_hash,
  @created_at AS created_at
FROM written AS w
LEFT JOIN cross_asset AS x ON x.date = w.date
LEFT JOIN fred_as_of AS f ON f.date = w.date
