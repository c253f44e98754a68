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
-- Cost (profiled on DuckDB: each window pass sorts every row with its columns), so two
-- passes over every row: one per symbol in date order gives the row number and every lag
-- and rolling window; one per (symbol, block), over narrow rows, gives the five running
-- block sums (RSI gain and loss, fast and slow EMA, and the close's EMA(0.8) from which
-- the signal follows in closed form, see `indicators`). Seeds and block totals are
-- GROUP BYs over blocks (a few rows per symbol), never windows over every row. The result
-- differs from a one-EMA-at-a-time evaluation only in rounding (about 1e-14 of the price).
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
    CASE WHEN rn > 25 THEN index_close / POW(25.0 / 27.0, pos) ELSE 0 END AS w_slow,
    CASE WHEN rn > 33 THEN index_close / POW(0.8, pos) ELSE 0 END AS w_x9
  FROM base
),
block_totals AS (
  -- Per block: its sums, and (in block 0) the seeds: RSI's mean of the first 14 gains and
  -- losses (rows 1..14), the fast EMA's mean of rows 14..25, the slow one's of rows 0..25.
  SELECT
    symbol, blk,
    SUM(w_gain) AS t_gain, SUM(w_loss) AS t_loss, SUM(w_fast) AS t_fast, SUM(w_slow) AS t_slow,
    SUM(w_x9) AS t_x9,
    AVG(CASE WHEN rn BETWEEN 1 AND 14 THEN GREATEST(chg, 0) END) AS s_gain,
    AVG(CASE WHEN rn BETWEEN 1 AND 14 THEN GREATEST(-chg, 0) END) AS s_loss,
    AVG(CASE WHEN rn BETWEEN 14 AND 25 THEN index_close END) AS s_fast,
    AVG(CASE WHEN rn BETWEEN 0 AND 25 THEN index_close END) AS s_slow,
    -- Rows 26..33 of the close, for the EMAs at row 33 and the mean of MACD rows 25..33.
    SUM(CASE WHEN rn BETWEEN 26 AND 33 THEN index_close * POW(11.0 / 13.0, 33 - rn) END) AS x_fast_33,
    SUM(CASE WHEN rn BETWEEN 26 AND 33 THEN index_close * POW(25.0 / 27.0, 33 - rn) END) AS x_slow_33,
    SUM(CASE WHEN rn BETWEEN 26 AND 33 THEN index_close * (1 - POW(11.0 / 13.0, 34 - rn)) END) AS x_fast_sum,
    SUM(CASE WHEN rn BETWEEN 26 AND 33 THEN index_close * (1 - POW(25.0 / 27.0, 34 - rn)) END) AS x_slow_sum,
    COUNTIF(rn = 14) AS has_14, COUNTIF(rn = 25) AS has_25, COUNTIF(rn = 33) AS has_33
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
    LAG(t_x9) OVER (PARTITION BY symbol ORDER BY blk) AS p_x9,
    MAX(CASE WHEN has_14 > 0 THEN s_gain END) OVER (PARTITION BY symbol) AS seed_gain,
    MAX(CASE WHEN has_14 > 0 THEN s_loss END) OVER (PARTITION BY symbol) AS seed_loss,
    MAX(CASE WHEN has_25 > 0 THEN s_fast END) OVER (PARTITION BY symbol) AS seed_fast,
    MAX(CASE WHEN has_25 > 0 THEN s_slow END) OVER (PARTITION BY symbol) AS seed_slow,
    MAX(CASE WHEN has_33 > 0 THEN x_fast_33 END) OVER (PARTITION BY symbol) AS x_fast_33,
    MAX(CASE WHEN has_33 > 0 THEN x_slow_33 END) OVER (PARTITION BY symbol) AS x_slow_33,
    MAX(CASE WHEN has_33 > 0 THEN x_fast_sum END) OVER (PARTITION BY symbol) AS x_fast_sum,
    MAX(CASE WHEN has_33 > 0 THEN x_slow_sum END) OVER (PARTITION BY symbol) AS x_slow_sum
  FROM block_totals
),
seeds AS (
  -- At row 33: the fast and slow EMAs (F33, S33) and the signal's seed, the mean of MACD
  -- rows 25..33: SUM_(25<=j<=33) F_j = F25*(1-r^9)/(1-r) + SUM_(26<=k<=33) x_k*(1-r^(34-k))
  -- (a/(1-r) = 1 for an EMA), the same for S.
  SELECT
    *,
    seed_fast * POW(11.0 / 13.0, 8) + (2.0 / 13.0) * x_fast_33 AS fast_33,
    seed_slow * POW(25.0 / 27.0, 8) + (2.0 / 27.0) * x_slow_33 AS slow_33,
    ((seed_fast * (1 - POW(11.0 / 13.0, 9)) / (2.0 / 13.0) + x_fast_sum)
     - (seed_slow * (1 - POW(25.0 / 27.0, 9)) / (2.0 / 27.0) + x_slow_sum)) / 9 AS seed_macd
  FROM blocks
),
running AS (
  SELECT
    symbol, rn, blk, pos,
    SUM(w_gain) OVER (PARTITION BY symbol, blk ORDER BY rn ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS c_gain,
    SUM(w_loss) OVER (PARTITION BY symbol, blk ORDER BY rn ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS c_loss,
    SUM(w_fast) OVER (PARTITION BY symbol, blk ORDER BY rn ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS c_fast,
    SUM(w_slow) OVER (PARTITION BY symbol, blk ORDER BY rn ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS c_slow,
    SUM(w_x9) OVER (PARTITION BY symbol, blk ORDER BY rn ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS c_x9
  FROM weighted
),
emas AS (
  -- A seed outside the warm-up window weighs less than r^2000: it counts as 0.
  SELECT
    r.symbol, r.rn, r.pos, k.fast_33, k.slow_33, k.seed_macd,
    CASE WHEN r.rn >= 14 THEN
      COALESCE(k.seed_gain, 0) * POW(13.0 / 14.0, LEAST(r.rn - 14, 3000))
      + (1.0 / 14.0) * (POW(13.0 / 14.0, r.pos) * r.c_gain + POW(13.0 / 14.0, r.pos + 1000) * COALESCE(k.p_gain, 0))
    END AS avg_gain,
    CASE WHEN r.rn >= 14 THEN
      COALESCE(k.seed_loss, 0) * POW(13.0 / 14.0, LEAST(r.rn - 14, 3000))
      + (1.0 / 14.0) * (POW(13.0 / 14.0, r.pos) * r.c_loss + POW(13.0 / 14.0, r.pos + 1000) * COALESCE(k.p_loss, 0))
    END AS avg_loss,
    CASE WHEN r.rn >= 25 THEN
      COALESCE(k.seed_fast, 0) * POW(11.0 / 13.0, LEAST(r.rn - 25, 3000))
      + (2.0 / 13.0) * (POW(11.0 / 13.0, r.pos) * r.c_fast + POW(11.0 / 13.0, r.pos + 1000) * COALESCE(k.p_fast, 0))
    END AS ema_fast,
    CASE WHEN r.rn >= 25 THEN
      COALESCE(k.seed_slow, 0) * POW(25.0 / 27.0, LEAST(r.rn - 25, 3000))
      + (2.0 / 27.0) * (POW(25.0 / 27.0, r.pos) * r.c_slow + POW(25.0 / 27.0, r.pos + 1000) * COALESCE(k.p_slow, 0))
    END AS ema_slow,
    -- E9 = SUM_(33<k<=t) 0.8^(t-k)*x_k, and 0.8^(t-33) (0 beyond the warm-up window).
    POW(0.8, r.pos) * r.c_x9 + POW(0.8, r.pos + 1000) * COALESCE(k.p_x9, 0) AS e9,
    POW(0.8, LEAST(r.rn - 33, 3000)) AS decay_33
  FROM running AS r
  JOIN seeds AS k ON k.symbol = r.symbol AND k.blk = r.blk
),
indicators AS (
  -- The signal is an EMA(0.8) of MACD = F - S, itself made of EMAs of the close, so it has a
  -- closed form in F, S and E9 (no pass over the MACD line): for t >= 33, with n = t - 33,
  --   SUM_(33<j<=t) 0.8^(t-j)*F_j = (r*0.8^n*F33 + 0.8*a*E9_t - r*F_t) / (0.8 - r)
  -- (r, a = 11/13, 2/13 for F; 25/27, 2/27 for S), and
  --   signal_t = 0.8^n*seed + 0.2*(that sum for F - that sum for S).
  SELECT
    s.*,
    CASE WHEN i.rn >= 14 THEN
      CASE WHEN i.avg_gain + i.avg_loss = 0 THEN 0 ELSE 100 * i.avg_gain / (i.avg_gain + i.avg_loss) END
    END AS rsi_14,
    i.ema_fast - i.ema_slow AS macd_line,
    CASE WHEN i.rn >= 33 THEN
      COALESCE(i.seed_macd, 0) * i.decay_33
      + 0.2 * (
        ((11.0 / 13.0) * i.decay_33 * COALESCE(i.fast_33, 0) + 0.8 * (2.0 / 13.0) * i.e9 - (11.0 / 13.0) * i.ema_fast)
          / (0.8 - 11.0 / 13.0)
        - ((25.0 / 27.0) * i.decay_33 * COALESCE(i.slow_33, 0) + 0.8 * (2.0 / 27.0) * i.e9 - (25.0 / 27.0) * i.ema_slow)
          / (0.8 - 25.0 / 27.0))
    END AS macd_signal
  FROM emas AS i
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
  -- Context roots' daily returns. The soybean crush inputs and heating oil are configurable
  -- roots (setting `feature_roots`: @soybean_root, @soymeal_root, @heating_oil_root); a root
  -- that is not ingested gives NULLs.
  SELECT
    date,
    MAX(CASE WHEN root = 'ES' THEN return_1d END) AS es_returns_1d,
    MAX(CASE WHEN root = 'CL' THEN return_1d END) AS cl_returns_1d,
    MAX(CASE WHEN root = @soybean_root THEN return_1d END) AS zs_returns_1d,
    MAX(CASE WHEN root = @soymeal_root THEN return_1d END) AS zm_returns_1d,
    MAX(CASE WHEN root = @heating_oil_root THEN return_1d END) AS ho_returns_1d
  FROM market_data.futures_continuous_1d
  WHERE root IN ('ES', 'CL', @soybean_root, @soymeal_root, @heating_oil_root)
    AND date BETWEEN @write_from AND @write_to
  GROUP BY date
),
curve_bars AS (
  -- Outright contracts per root and date with their delivery month: a symbol is the root,
  -- a month code (FGHJKMNQUVXZ) and one or two year digits (ZLZ4, ZLZ24).
  SELECT
    date, root, symbol, close,
    STRPOS('FGHJKMNQUVXZ', SUBSTR(symbol, LENGTH(root) + 1, 1)) AS month_num,
    SAFE_CAST(SUBSTR(symbol, LENGTH(root) + 2) AS INT64) AS year_digits,
    EXTRACT(YEAR FROM date) AS year
  FROM market_data.futures_ohlcv_1d
  WHERE date BETWEEN @write_from AND @write_to
    AND STRPOS(symbol, '-') = 0 AND LENGTH(symbol) BETWEEN LENGTH(root) + 2 AND LENGTH(root) + 3
    AND close > 0
),
curve_months AS (
  -- One year digit means the first such year from the year before the date on.
  SELECT
    date, root, symbol, close,
    12 * (CASE
      WHEN year_digits >= 10 THEN 2000 + year_digits
      WHEN year - MOD(year, 10) + year_digits < year - 1 THEN year - MOD(year, 10) + year_digits + 10
      ELSE year - MOD(year, 10) + year_digits END) + month_num AS delivery
  FROM curve_bars
  WHERE month_num > 0 AND year_digits IS NOT NULL
),
curve AS (
  -- Carry: the log spread of the next contract after the front (the continuous series'
  -- contract that date) over the front, annualised by the months between deliveries.
  SELECT f.date, f.root, LN(n.close / f.close) * 12 / (n.delivery - f.delivery) AS carry
  FROM curve_months AS f
  JOIN market_data.futures_continuous_1d AS s
    ON s.date = f.date AND s.root = f.root AND s.contract_symbol = f.symbol
  JOIN curve_months AS n ON n.date = f.date AND n.root = f.root AND n.delivery > f.delivery
  WHERE TRUE
  QUALIFY ROW_NUMBER() OVER (PARTITION BY f.date, f.root ORDER BY n.delivery) = 1
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
    o.series_id, o.date, o.obs, f.value,
    ROW_NUMBER() OVER (PARTITION BY o.series_id, o.date ORDER BY f.realtime_start DESC) AS vintage_rank
  FROM fred_latest_obs AS o
  JOIN fred AS f ON f.series_id = o.series_id AND f.date = o.obs AND f.realtime_start <= o.date
),
fred_fresh AS (
  -- A value stands in for a date only while its observation is at most @max_age_<series>
  -- calendar days old: a series that stopped is NULL, not carried forward without limit.
  SELECT date, series_id, value
  FROM fred_vintages
  WHERE vintage_rank = 1
    AND DATE_DIFF(date, obs, DAY) <= CASE series_id
      WHEN 'DFF' THEN @max_age_dff WHEN 'VIXCLS' THEN @max_age_vixcls
      WHEN 'DGS10' THEN @max_age_dgs10 WHEN 'DTWEXBGS' THEN @max_age_dtwexbgs
      WHEN 'DCOILWTICO' THEN @max_age_dcoilwtico END
),
fred_as_of AS (
  SELECT
    date,
    MAX(CASE WHEN series_id = 'DFF' THEN value END) AS fred_fed_funds_rate,
    MAX(CASE WHEN series_id = 'VIXCLS' THEN value END) AS fred_vix,
    MAX(CASE WHEN series_id = 'DGS10' THEN value END) AS fred_dgs10,
    MAX(CASE WHEN series_id = 'DTWEXBGS' THEN value END) AS fred_dollar_index,
    MAX(CASE WHEN series_id = 'DCOILWTICO' THEN value END) AS fred_wti
  FROM fred_fresh
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
  x.es_returns_1d, x.cl_returns_1d, x.zs_returns_1d, x.zm_returns_1d, x.ho_returns_1d,
  c.carry,
  f.fred_fed_funds_rate, f.fred_vix, f.fred_dgs10, f.fred_dollar_index, f.fred_wti,
  COALESCE(w.article_count, 0) AS news_count, w.sentiment_mean AS news_sentiment_mean,
  w.news_sentiment_mean_5d,
  @feature_hash AS feature_hash,
  @created_at AS created_at
FROM written AS w
LEFT JOIN cross_asset AS x ON x.date = w.date
LEFT JOIN curve AS c ON c.date = w.date AND c.root = w.symbol
LEFT JOIN fred_as_of AS f ON f.date = w.date
