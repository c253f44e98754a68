-- Training rows of one root for one horizon (BigQuery Standard SQL; DuckDB via sqlglot).
-- Params: @symbol, @horizon_days (INT64), @write_from (DATE), @created_at (TIMESTAMP).
-- target_date is the date @horizon_days trading rows later in the root's own series;
-- target_log_return = ln(index_close[t+h] / index_close[t]) on the continuous (roll-free)
-- index; target_price = databento_close * exp(target_log_return): the price h days on,
-- roll-adjusted into the terms of the contract that led on the row's date. The last
-- @horizon_days rows keep NULL targets: they are the rows we predict.
-- Rows from @horizon_days before @write_from are returned too: their targets may have
-- been NULL until the new dates arrived.
WITH f AS (
  SELECT *, ROW_NUMBER() OVER (ORDER BY date) AS rn
  FROM features.curated_features_daily
  WHERE symbol = @symbol
),
first_row AS (
  SELECT MIN(rn) AS rn FROM f WHERE date >= @write_from
)
SELECT
  f.date, f.symbol, f.contract_symbol, f.databento_close, f.databento_volume, f.index_close,
  f.returns_1d, f.returns_5d, f.returns_21d, f.volatility_30d, f.rsi_14,
  f.macd, f.macd_signal, f.macd_hist, f.es_returns_1d, f.cl_returns_1d,
  f.zs_returns_1d, f.zm_returns_1d, f.ho_returns_1d, f.carry,
  f.fred_fed_funds_rate, f.fred_vix, f.fred_dgs10, f.fred_dollar_index, f.fred_wti,
  f.news_count, f.news_sentiment_mean, f.news_sentiment_mean_5d, f.feature_hash,
  t.date AS target_date,
  CASE WHEN t.index_close > 0 AND f.index_close > 0 THEN LN(t.index_close / f.index_close) END
    AS target_log_return,
  CASE WHEN t.index_close > 0 AND f.index_close > 0
    THEN f.databento_close * EXP(LN(t.index_close / f.index_close)) END AS target_price,
  @created_at AS created_at
FROM f
CROSS JOIN first_row
LEFT JOIN f AS t ON t.rn = f.rn + @horizon_days
WHERE f.rn >= first_row.rn - @horizon_days
