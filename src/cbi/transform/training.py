"""Training tables: `training.zl_training_{surface}_allhistory_{horizon}`.

One SQL query per horizon (`training_rows.sql`) gives every column of the `full` surface;
the `prod` surface is the stable subset its schema file declares. Targets come from the
root's own series h trading rows later; the last h rows keep NULL targets.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from cbi.config import HORIZONS, SURFACES, Settings
from cbi.warehouse import Warehouse, catalog

SQL = "cbi.transform.sql"


def training_table(surface: str, horizon: str) -> str:
    if surface not in SURFACES or horizon not in HORIZONS:
        raise ValueError(f"unknown surface/horizon {surface!r}/{horizon!r}; "
                         f"surfaces {list(SURFACES)}, horizons {list(HORIZONS)}")
    return catalog.training_table(surface, horizon)


def build_training(wh: Warehouse, settings: Settings, write_from: dt.date, *,
                   full: bool = False) -> int:
    """Rebuild training rows from `write_from` (and the h rows before it, whose targets the
    new dates fill) for every surface and configured horizon; return rows merged."""
    written = 0
    created_at = dt.datetime.now(dt.timezone.utc)
    for horizon in settings.horizons:
        rows = training_rows(wh, settings.target_root, horizon, write_from, created_at)
        for surface in SURFACES:
            table = training_table(surface, horizon)
            written += wh.merge(table, project(rows, table)).rows_merged
            if full:
                wh.execute_file(SQL, "training_delete_stale.sql", table=table)
    return written


def training_rows(wh: Warehouse, symbol: str, horizon: str, write_from: dt.date,
                  created_at: dt.datetime) -> pa.Table:
    params = {"symbol": symbol, "horizon_days": HORIZONS[horizon], "write_from": write_from,
              "created_at": created_at}
    return wh.query_file(SQL, "training_rows.sql", params)


def project(rows: pa.Table, table: str) -> pa.Table:
    """The columns of `table`, in its order (the prod surface is a subset of full)."""
    return rows.select(catalog.table(table).column_names)
