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

from cbi import calendar
from cbi.feeds import databento
from cbi.feeds.validate import BarError, check_bars
from cbi.transform import market
from cbi.warehouse.base import Warehouse

PRICE_COLUMNS = ("open", "high", "low", "close")
FILE_SOURCE = "file"
#: A vendor's daily close: settlement or last trade as the vendor defines it.
VENDOR_CLOSE = "vendor"


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
    rows = databento.to_arrow(records, databento.symbol_map(metadata, root), FILE_SOURCE)
    if len(records) and records["rtype"][0] == 0x23:  # ohlcv-1d: a bar per UTC day
        daily = rows.append_column("date", pc.cast(rows.column("ts_event"), pa.date32()))
        daily = daily.drop_columns(["ts_event"]).append_column(
            "close_source", pa.array([VENDOR_CLOSE] * rows.num_rows, pa.string()))
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
    roots = frame["root"].astype(str) if "root" in frame.columns else _roots(symbols, path)
    if root:
        _check_root(roots, root, path)
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
    columns["source"] = pa.array([FILE_SOURCE] * len(frame))
    if "date" in columns:
        columns["close_source"] = pa.array([VENDOR_CLOSE] * len(frame), pa.string())
    columns["ingest_timestamp"] = pa.array([dt.datetime.now(dt.timezone.utc)] * len(frame),
                                           pa.timestamp("us", tz="UTC"))
    return pa.table(columns)


def _roots(symbols: pd.Series, path: Path) -> pd.Series:
    """Each row's root from its symbol, by the feeds' own parser (`databento.root_of`)."""
    parsed = {}
    for line, symbol in enumerate(symbols, start=2):
        if symbol not in parsed:
            try:
                parsed[symbol] = databento.root_of(symbol)
            except BarError as exc:
                raise BarError(f"{path}: line {line}, field symbol: {exc}") from None
    return symbols.map(parsed)


def _check_root(roots: pd.Series, root: str, path: Path) -> None:
    other = roots[roots != root]
    if len(other):
        raise BarError(f"{path}: line {other.index[0] + 2}, field symbol: root "
                       f"{other.iloc[0]!r} is not the --root {root!r} given")


def import_bars(wh: Warehouse, paths: list[Path], root: str | None = None) -> dict[str, Any]:
    """Validate every file first; then MERGE each and rebuild daily bars and the series.
    Daily rows move to their CME trading date (`redate_daily`); what moved, and a vendor
    continuous series' roll gaps, are reported in `notes`."""
    loaded, notes = [], []
    for path in paths:
        rows, table, label = read_bars(Path(path), root)
        offset = 2 if label == "line" else 1
        check_bars(rows, str(path), row_offset=offset, row_label=label)
        if table == market.DAILY:
            rows, moved = redate_daily(rows, Path(path), offset, label)
            notes.extend(moved + _continuous_notes(rows, Path(path)))
        else:
            rows = market.stamp_trading_dates(rows)
        loaded.append((Path(path), rows, table))
    files = []
    for path, rows, table in loaded:
        result = wh.merge(table, rows)
        _refresh(wh, rows, table)
        files.append({"file": str(path), "table": table, "rows": rows.num_rows,
                      "inserted": result.inserted, "updated": result.updated})
    return {"files": files, "notes": notes, "rows_read": sum(f["rows"] for f in files),
            "rows_written": sum(f["inserted"] + f["updated"] for f in files)}


def redate_daily(rows: pa.Table, path: Path, offset: int = 2,
                 label: str = "line") -> tuple[pa.Table, list[str]]:
    """Daily rows dated on a day without a session for their root move to the root's next CME
    trading date (vendors stamp the session before a Monday holiday on the Sunday, or on the
    holiday). A weekday row whose trading date the file already holds for its symbol keeps
    its own date (the vendor reports trading there; moving it would lose a bar), said in a
    note; a weekend row that cannot move, or a date outside the calendar, refuses the file
    whole. Returns the re-dated rows and the notes."""
    dates = rows.column("date").to_numpy(zero_copy_only=False).astype("datetime64[D]")
    placed = _next_trading_dates(rows, dates, path)
    symbols = rows.column("symbol").to_pylist()
    held = {(symbols[i], dates[i]) for i in range(rows.num_rows) if placed[i] == dates[i]}
    kept = [i for i in np.flatnonzero(placed != dates) if (symbols[i], placed[i]) in held]
    for i in kept:
        if dates[i].astype(dt.date).weekday() >= 5:
            raise BarError(
                f"{path}: {label} {i + offset}, field date: {dates[i]} is a weekend day with no "
                f"session, and its CME trading date {placed[i]} already holds a {symbols[i]} bar "
                "in this file (rule: a bar on a day without a session belongs to the next "
                "trading date); the file is refused whole, nothing written")
        placed[i] = dates[i]
    _refuse_duplicates(symbols, placed, dates, path, offset, label)
    moved = np.flatnonzero(placed != dates)
    notes = []
    if len(moved):
        notes.append(f"{path.name}: {len(moved)} bar(s) re-dated to their CME trading date: "
                     f"{_pairs(dates, placed, moved)} (a session on a day the exchange does not "
                     "settle belongs to the next trading date)")
    if kept:
        notes.append(f"{path.name}: {len(kept)} bar(s) kept on a day CME's calendar has no "
                     f"session, their next trading date being taken: "
                     f"{', '.join(str(dates[i]) for i in kept[:5])}")
    index = rows.column_names.index("date")
    return rows.set_column(index, "date", pa.array(placed, pa.date32())), notes


def _next_trading_dates(rows: pa.Table, dates: np.ndarray, path: Path) -> np.ndarray:
    roots = np.array(rows.column("root").to_pylist(), dtype=object)
    placed = dates.copy()
    for root in set(roots):
        where = roots == root
        try:
            placed[where] = calendar.next_trading_dates(root, dates[where])
        except ValueError as exc:
            raise BarError(f"{path}: a {root} date outside the CME calendar: {exc}") from None
    return placed


def _refuse_duplicates(symbols: list[str], placed: np.ndarray, dates: np.ndarray, path: Path,
                       offset: int, label: str) -> None:
    seen: dict[tuple[str, Any], int] = {}
    for i, key in enumerate(zip(symbols, placed)):
        if key in seen:
            j = seen[key]
            raise BarError(f"{path}: {label} {j + offset} ({dates[j]}) and {label} {i + offset} "
                           f"({dates[i]}) are both {key[0]} on CME trading date {key[1]} "
                           "(rule: one bar per symbol and trading date); the file is refused "
                           "whole, nothing written")
        seen[key] = i


def _pairs(dates: np.ndarray, placed: np.ndarray, moved: np.ndarray) -> str:
    shown = ", ".join(f"{dates[i]} → {placed[i]}" for i in moved[:5])
    return shown + (f", and {len(moved) - 5} more" if len(moved) > 5 else "")


def _continuous_notes(rows: pa.Table, path: Path) -> list[str]:
    series = sorted({s for s in rows.column("symbol").to_pylist() if not databento.is_contract(s)})
    if not series:
        return []
    return [f"{path.name}: {', '.join(series)} is a vendor continuous series (symbol = root): "
            "its returns keep the vendor's roll gaps; import contract months for gap-free rolls"]



def _refresh(wh: Warehouse, rows: pa.Table, table: str) -> None:
    for root in pc.unique(rows.column("root")).to_pylist():
        part = rows.filter(pc.equal(rows.column("root"), root))
        if table == databento.TABLE:
            extent = pc.min_max(part.column("ts_event"))
            market.refresh_after_bars(wh, root, extent["min"].as_py(), extent["max"].as_py())
        else:
            market.update_continuous(wh, root, pc.min(part.column("date")).as_py())
