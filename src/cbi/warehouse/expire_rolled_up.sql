-- Retention of a table whose DDL says `-- retention: after roll-up into {rollup}`, the one rule
-- both engines run: a row older than @cutoff (its UTC date) goes only once the roll-up holds its
-- symbol on the row's own trading date, so a day that was never rolled up is never lost (a later
-- day's daily bar says nothing about it). A row without a trading date (written before the
-- column existed) is matched on its UTC date.
DELETE FROM {table} AS r
WHERE DATE(r.{column}) < @cutoff
  AND EXISTS (
    SELECT 1 FROM {rollup} AS d
    WHERE d.symbol = r.symbol AND d.date = COALESCE(r.trading_date, DATE(r.{column}))
  )
