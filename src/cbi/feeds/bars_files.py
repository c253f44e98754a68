"""`cbi ingest bars FILE…`: bar files into the warehouse, each file whole or not at all.

Formats: Databento DBN (`.dbn`, `.dbn.zst` as batch downloads give them; ohlcv-1m/1h go to
the 1-minute table as they are, ohlcv-1d to daily bars dated by the bar's UTC day), CSV and
Parquet with columns `ts_event` (1-minute) or `date` (daily), `symbol` (or `--root`),
`open`, `high`, `low`, `close`, `volume`. Values that do not parse become missing and are
then refused by validation, which names the file, the row (CSV: the line) and the field.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cbi.feeds import databento
from cbi.feeds.validate import BarError, check_bars
from cbi.transform import market
from cbi.warehouse.base import Warehouse

PRICE_COLUMNS = ("open", "high", "low", "close")


def read_bars(path: Path, root: str | None = None) -> tuple[pa.Table, str, str]:
    """(rows, table they belong in, row label) for one file."""
    name = path.name.lower()
    if name.endswith((".dbn", ".dbn.zst")):
        return _read_dbn(path, root)
    if name.endswith(".csv"):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        return _from_frame(frame, path, root), _table_for(frame), "line"
    if name.endswith(".parquet"):
        frame = pq.read_table(path).to_pandas()
        return _from_frame(frame, path, root), _table_for(frame), "row"
    raise BarError(f"{path}: unknown file type (use .dbn, .dbn.zst, .csv or .parquet)")


def _table_for(frame: pd.DataFrame) -> str:
    return databento.TABLE if "ts_event" in frame.columns else market.DAILY


def _read_dbn(path: Path, root: str | None) -> tuple[pa.Table, str, str]:
    metadata, records = databento.decode_dbn(path.read_bytes())
    rows = databento.to_arrow(records, databento.symbol_map(metadata, root))
    if len(records) and records["rtype"][0] == 0x23:  # ohlcv-1d: a bar per UTC day
        daily = rows.append_column("date", pc.cast(rows.column("ts_event"), pa.date32()))
        daily = daily.drop_columns(["ts_event"]).append_column(
            "source", pa.array([f"file:{path.name}"] * rows.num_rows))
        return daily, market.DAILY, "record"
    return rows, databento.TABLE, "record"


def _from_frame(frame: pd.DataFrame, path: Path, root: str | None) -> pa.Table:
    missing = [c for c in (*PRICE_COLUMNS, "volume") if c not in frame.columns]
    if "ts_event" not in frame.columns and "date" not in frame.columns:
        missing.insert(0, "ts_event or date")
    if missing:
        raise BarError(f"{path}: missing column(s) {missing}; found {list(frame.columns)}")
    symbols = frame["symbol"].astype(str) if "symbol" in frame.columns else None
    if symbols is None and not root:
        raise BarError(f"{path}: no symbol column: give --root")
    if symbols is None:
        symbols = pd.Series([root] * len(frame))
    roots = frame["root"].astype(str) if "root" in frame.columns else (
        pd.Series([root] * len(frame)) if root else symbols.map(databento.root_of))
    columns: dict[str, Any] = {}
    if "ts_event" in frame.columns:
        ts = pd.to_datetime(frame["ts_event"], utc=True, errors="coerce")
        columns["ts_event"] = pa.array(ts.dt.tz_convert("UTC"), pa.timestamp("us", tz="UTC"))
    else:
        columns["date"] = pa.array(pd.to_datetime(frame["date"], errors="coerce").dt.date, pa.date32())
    columns["root"], columns["symbol"] = pa.array(roots, pa.string()), pa.array(symbols, pa.string())
    columns["instrument_id"] = pa.nulls(len(frame), pa.int64())
    for name in PRICE_COLUMNS:
        columns[name] = pa.array(pd.to_numeric(frame[name], errors="coerce"), pa.float64())
    volume = pd.to_numeric(frame["volume"], errors="coerce")
    whole = volume.notna() & (volume == np.floor(volume.fillna(0)))
    columns["volume"] = pa.array(volume.where(whole).astype("Int64"), pa.int64())
    if "date" in columns:
        columns["source"] = pa.array([f"file:{path.name}"] * len(frame))
    columns["ingest_timestamp"] = pa.array([dt.datetime.now(dt.timezone.utc)] * len(frame),
                                           pa.timestamp("us", tz="UTC"))
    return pa.table(columns)


def import_bars(wh: Warehouse, paths: list[Path], root: str | None = None) -> dict[str, Any]:
    """Validate every file first; then MERGE each and rebuild daily bars and the series."""
    loaded = []
    for path in paths:
        rows, table, label = read_bars(Path(path), root)
        check_bars(rows, str(path), row_offset=2 if label == "line" else 1, row_label=label)
        loaded.append((Path(path), rows, table))
    files = []
    for path, rows, table in loaded:
        result = wh.merge(table, rows)
        _refresh(wh, rows, table)
        files.append({"file": str(path), "table": table, "rows": rows.num_rows,
                      "inserted": result.inserted, "updated": result.updated})
    return {"files": files, "rows_read": sum(f["rows"] for f in files),
            "rows_written": sum(f["inserted"] + f["updated"] for f in files)}


def _refresh(wh: Warehouse, rows: pa.Table, table: str) -> None:
    for root in pc.unique(rows.column("root")).to_pylist():
        part = rows.filter(pc.equal(rows.column("root"), root))
        if table == databento.TABLE:
            extent = pc.min_max(part.column("ts_event"))
            market.refresh_after_bars(wh, root, extent["min"].as_py(), extent["max"].as_py())
        else:
            market.update_continuous(wh, root, pc.min(part.column("date")).as_py())
