-- key: date, root
-- retention: never (training needs every row)
-- One continuous series per root: the outright with the highest volume each trading date,
-- returns within one contract, chained into an index anchored at the first close.
-- source: carried from the chosen contract's daily bar (databento, sandbox or file).
CREATE TABLE IF NOT EXISTS market_data.futures_continuous_1d (
  date DATE NOT NULL,
  root STRING NOT NULL,
  contract_symbol STRING,
  close FLOAT64,
  volume INT64,
  return_1d FLOAT64,
  index_close FLOAT64,
  is_roll BOOL,
  source STRING,
  updated_at TIMESTAMP
)
PARTITION BY DATE_TRUNC(date, MONTH)
CLUSTER BY root
OPTIONS (description = 'Continuous front series per root (volume-led rolls, no roll gaps); key (date, root)');
