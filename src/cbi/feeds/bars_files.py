"""`cbi ingest bars FILE…`: bar files into the warehouse, each file whole or not at all.

Formats: Databento DBN (`.dbn`, `.dbn.zst` as batch downloads give them; ohlcv-1m/1h go to
the 1-minute table as they are, ohlcv-1d to daily bars dated by the bar's UTC day), CSV and
Parquet with columns `ts_event` (1-minute) or `date` (daily), `symbol` (or `--root`),
`open`, `high`, `low`, `close`, `volume`. Values that do not parse become missing and are
then refused by validation, which names the file, the row (CSV: the line) and the field.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from cbi import calendar
from cbi.feeds import databento, rollups
from cbi.feeds.validate import (BarError, bar_limits, check_bars, check_columns,
                                collapse_duplicates, to_volume)
from cbi.transform import market
from cbi.warehouse.base import Warehouse

PRICE_COLUMNS = ("open", "high", "low", "close")
FILE_SOURCE = "file"
#: A vendor's daily close: settlement or last trade as the vendor defines it.
VENDOR_CLOSE = "vendor"


#: Rows per batch of a 1-minute file: memory is bounded by this, not by the file.
BATCH_ROWS = 250_000
#: Rows per write: whole DuckDB row groups (122,880 rows each). A commit of a row group or
#: more is written as row groups of its own, so a write of 250,000 left one of 4,240 rows;
#: at 40M rows the hundreds of those were merged by the next commands' checkpoints (100
#: merges per checkpoint), each paying seconds and a GB. Whole groups leave nothing to merge.
WRITE_ROWS = 2 * 122_880
DBN_RECORD = databento.OHLCV_DTYPE.itemsize
#: The warehouse engine's own memory during a bulk import (DuckDB spills past it).
IMPORT_MEMORY = "512MB"


@dataclass
class Batch:
    rows: pa.Table
    first: int  # the row number (CSV: the line) of the batch's first row


def read_batches(path: Path, root: str | None = None,
                 batch_rows: int = BATCH_ROWS) -> tuple[str, str, Iterator[Batch]]:
    """(the table the file's rows belong in, its row label, its rows in batches)."""
    name = path.name.lower()
    if name.endswith((".dbn", ".dbn.zst")):
        return _dbn_batches(path, root, batch_rows)
    if name.endswith(".csv"):
        columns = _csv_header(path)
        return _table_for(columns), "line", _csv_batches(path, columns, root, batch_rows)
    if name.endswith(".parquet"):
        columns = pq.ParquetFile(path).schema_arrow.names
        check_columns(columns, str(path))
        return _table_for(columns), "row", _parquet_batches(path, root, batch_rows)
    raise BarError(f"{path}: unknown file type (use .dbn, .dbn.zst, .csv or .parquet)")


def read_bars(path: Path, root: str | None = None) -> tuple[pa.Table, str, str]:
    """(every row, table they belong in, row label) for one file, in one table."""
    table, label, batches = read_batches(path, root)
    parts = [b.rows for b in batches]
    rows = pa.concat_tables(parts, promote_options="default") if parts else pa.table({})
    return rows, table, label


def _table_for(columns: list[str]) -> str:
    return databento.TABLE if "ts_event" in columns else market.DAILY


def _csv_header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        header = next(csv.reader(fh), None)
    if not header:
        raise BarError(f"{path}: line 1: no header")
    columns = [c.strip() for c in header]
    check_columns(columns, str(path))
    return columns


def _csv_batches(path: Path, columns: list[str], root: str | None, batch_rows: int) -> Iterator[Batch]:
    # every field read as text: values that do not parse become missing, then refused by name
    options = pacsv.ConvertOptions(column_types={c: pa.string() for c in columns},
                                   strings_can_be_null=False, quoted_strings_can_be_null=False)
    reader = pacsv.open_csv(path, read_options=pacsv.ReadOptions(
        block_size=max(1 << 16, batch_rows * 64), column_names=columns, skip_rows=1,
        encoding="utf-8-sig"), convert_options=options)
    line = 2
    for record_batch in reader:
        frame = record_batch.to_pandas()
        yield Batch(_from_frame(frame, path, root, line), line)
        line += len(frame)


def _parquet_batches(path: Path, root: str | None, batch_rows: int) -> Iterator[Batch]:
    row = 1
    # no pre-buffering: with it the reader keeps every column chunk it has read (~45 MB per
    # million bars), so memory would grow with the file instead of the batch
    reader = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
    for record_batch in reader.iter_batches(batch_size=batch_rows):
        frame = record_batch.to_pandas()
        yield Batch(_from_frame(frame, path, root, row), row)
        row += len(frame)


def _dbn_batches(path: Path, root: str | None, batch_rows: int) -> tuple[str, str, Iterator[Batch]]:
    """A DBN file's OHLCV records in batches, streamed (zstd decompressed as it is read); a
    stream that is not pure OHLCV is decoded whole, and a daily file goes whole too."""
    with _dbn_stream(path) as stream:
        head = stream.read(8)
        if head[:3] != b"DBN":
            raise BarError(f"{path}: not DBN data (no DBN header)")
        meta_raw = head + stream.read(int.from_bytes(head[4:8], "little"))
        first = stream.read(DBN_RECORD)
    metadata = _dbn_metadata(meta_raw, path)
    if len(first) == DBN_RECORD and first[1] == 0x23:  # ohlcv-1d: a bar per UTC day
        rows = _daily_from_dbn(path, root)
        return market.DAILY, "record", iter([Batch(rows, 1)])
    symbols = databento.symbol_map(metadata, root)
    return databento.TABLE, "record", _dbn_records(path, len(meta_raw), symbols, batch_rows)


def _dbn_metadata(raw: bytes, path: Path):
    import databento_dbn as dbn

    try:
        return dbn.Metadata.decode(raw, dbn.VersionUpgradePolicy.UPGRADE_TO_V3)
    except Exception as exc:  # noqa: BLE001 - the decoder's own error type varies by version
        raise BarError(f"{path}: the DBN metadata does not decode: {exc}") from None


def _dbn_records(path: Path, skip: int, symbols: dict[int, tuple[str, str | None]],
                 batch_rows: int) -> Iterator[Batch]:
    with _dbn_stream(path) as stream:
        stream.read(skip)
        record = 1
        while chunk := _read_exactly(stream, batch_rows * DBN_RECORD):
            if len(chunk) % DBN_RECORD:
                raise BarError(f"{path}: record {record + len(chunk) // DBN_RECORD}: the stream "
                               "ends mid-record (a truncated file); refused whole, nothing written")
            records = np.frombuffer(chunk, databento.OHLCV_DTYPE)
            if not (np.all(records["length"] == DBN_RECORD // 4)
                    and np.isin(records["rtype"], databento.OHLCV_RTYPES).all()):
                raise BarError(f"{path}: records other than OHLCV bars; import OHLCV files only")
            yield Batch(databento.to_arrow(records, symbols, FILE_SOURCE), record)
            record += len(records)


def _read_exactly(stream, n: int) -> bytes:
    parts, got = [], 0
    while got < n:
        part = stream.read(n - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


@contextlib.contextmanager
def _dbn_stream(path: Path) -> Iterator[Any]:
    with path.open("rb") as fh:
        if fh.read(4) == b"\x28\xb5\x2f\xfd":  # zstd frame magic
            fh.seek(0)
            yield databento.ZstdReader(fh, str(path))  # a frame cut short or corrupt: refused
            return
        fh.seek(0)
        yield fh


def _daily_from_dbn(path: Path, root: str | None) -> pa.Table:
    metadata, records = databento.decode_dbn(path.read_bytes(), str(path))
    rows = databento.to_arrow(records, databento.symbol_map(metadata, root), FILE_SOURCE)
    daily = rows.append_column("date", pc.cast(rows.column("ts_event"), pa.date32()))
    return daily.drop_columns(["ts_event"]).append_column(
        "close_source", pa.array([VENDOR_CLOSE] * rows.num_rows, pa.string()))


def _from_frame(frame: pd.DataFrame, path: Path, root: str | None, first: int = 2) -> pa.Table:
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
    frame = frame.reset_index(drop=True)
    symbols = symbols.reset_index(drop=True)
    roots = frame["root"].astype(str) if "root" in frame.columns else _roots(symbols, path, first)
    if root:
        _check_root(roots, root, path, first)
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
    columns["volume"] = to_volume(frame["volume"])  # a 23-digit field: refused by name
    n = len(frame)
    columns["source"] = pa.repeat(pa.scalar(FILE_SOURCE), n)
    if "date" in columns:
        columns["close_source"] = pa.repeat(pa.scalar(VENDOR_CLOSE), n)
    columns["ingest_timestamp"] = pa.repeat(
        pa.scalar(dt.datetime.now(dt.timezone.utc), pa.timestamp("us", tz="UTC")), n)
    return pa.table(columns)


def _roots(symbols: pd.Series, path: Path, first: int = 2) -> pd.Series:
    """Each row's root from its symbol, by the feeds' own parser (`databento.root_of`); each
    distinct symbol is parsed once (a million bars hold a few dozen symbols)."""
    parsed = {}
    for symbol in symbols.unique():
        try:
            parsed[symbol] = databento.root_of(symbol)
        except BarError as exc:
            line = int((symbols == symbol).to_numpy().argmax()) + first
            raise BarError(f"{path}: line {line}, field symbol: {exc}") from None
    return symbols.map(parsed)


def _check_root(roots: pd.Series, root: str, path: Path, first: int = 2) -> None:
    other = roots[roots != root]
    if len(other):
        raise BarError(f"{path}: line {other.index[0] + first}, field symbol: root "
                       f"{other.iloc[0]!r} is not the --root {root!r} given")


@dataclass
class CheckedFile:
    """A file that passed every check (first pass), with what the write needs."""

    path: Path
    table: str
    label: str
    rows: int
    daily: pa.Table | None = None  # daily files are small: kept, re-dated, whole
    spool: Path | None = None  # minute files: the checked batches, as Arrow IPC on disk
    extents: dict[str, tuple[dt.datetime, dt.datetime]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def import_bars(wh: Warehouse, paths: list[Path], root: str | None = None,
                batch_rows: int = BATCH_ROWS) -> dict[str, Any]:
    """Check every file whole first (streamed in batches: memory bounded by `batch_rows`, not
    the file); then MERGE each, batch by batch, rebuild its daily bars and series, and leave
    the table compact. Daily rows move to their CME trading date (`redate_daily`); what
    moved, and a vendor continuous series' roll gaps, are reported in `notes`."""
    rollups.finish_pending(wh)  # what a killed import left behind comes first
    with tempfile.TemporaryDirectory(prefix="cbi-import-") as spool, wh.bounded_memory(IMPORT_MEMORY):
        checked = [check_file(Path(p), root, batch_rows, Path(spool)) for p in paths]
        files = [write_file(wh, c) for c in checked]
    return {"files": files, "notes": [n for c in checked for n in c.notes],
            "rows_read": sum(f["rows"] for f in files),
            "rows_written": sum(f["inserted"] + f["updated"] for f in files)}


def check_file(path: Path, root: str | None, batch_rows: int, spool: Path) -> CheckedFile:
    """First pass: every check over the whole file, batch by batch. A minute file's checked
    batches go to a spool file (Arrow IPC) that the write reads back without parsing again."""
    table, label, batches = read_batches(path, root, batch_rows)
    offset = 2 if label == "line" else 1
    checked = CheckedFile(path, table, label, 0)
    parts, writer = [], None
    from cbi.config import get_settings

    limits = bar_limits(get_settings())  # plausible dates, price bands per root, the jump rule
    key = ["date", "symbol"] if table == market.DAILY else ["ts_event", "symbol"]
    for batch in batches:
        batch.rows = collapse_duplicates(batch.rows, key, str(path), batch.first, label)
        check_bars(batch.rows, str(path), row_offset=batch.first, row_label=label, limits=limits)
        checked.rows += batch.rows.num_rows
        if table == market.DAILY:
            parts.append(batch.rows)
            continue
        _widen(checked.extents, batch.rows)
        rows = market.stamp_trading_dates(batch.rows)
        if writer is None:
            checked.spool = spool / f"{len(list(spool.iterdir()))}.arrow"
            writer = pa.ipc.new_file(checked.spool, rows.schema)
        writer.write_table(rows)
    if writer is not None:
        writer.close()
    if table == market.DAILY and parts:
        daily, checked.notes = redate_daily(pa.concat_tables(parts), path, offset, label)
        checked.notes += _continuous_notes(daily, path)
        checked.daily = daily
    return checked


def _widen(extents: dict[str, tuple[dt.datetime, dt.datetime]], rows: pa.Table) -> None:
    for root in pc.unique(rows.column("root")).to_pylist():
        part = pc.min_max(rows.filter(pc.equal(rows.column("root"), root)).column("ts_event"))
        lo, hi = part["min"].as_py(), part["max"].as_py()
        if root in extents:
            lo, hi = min(lo, extents[root][0]), max(hi, extents[root][1])
        extents[root] = (lo, hi)


def write_file(wh: Warehouse, checked: CheckedFile) -> dict[str, Any]:
    """Second pass: MERGE batch by batch (in file order: a key seen twice keeps its last row),
    then the daily bars and the series of what was touched, then compact the table."""
    inserted = updated = 0
    if checked.daily is not None:
        spans = {}
        for r in pc.unique(checked.daily.column("root")).to_pylist():
            part = pc.min_max(checked.daily.filter(pc.equal(checked.daily.column("root"), r)).column("date"))
            spans[r] = (part["min"].as_py(), part["max"].as_py())
            rollups.mark(wh, r, *spans[r], minutes=False)  # a kill before the series: finished later
        result = wh.merge(checked.table, checked.daily)
        inserted, updated = result.inserted, result.updated
        for r, (lo, hi) in spans.items():
            market.update_continuous(wh, r, lo)
            rollups.clear(wh, r, lo, hi)
    elif checked.spool is not None:
        dates = {r: (calendar.trading_date_of(r, lo), calendar.trading_date_of(r, hi))
                 for r, (lo, hi) in checked.extents.items()}
        for r, (first, last) in dates.items():  # a kill from here on: the next command finishes
            rollups.mark(wh, r, first, last)
        with pa.OSFile(str(checked.spool)) as source:  # read, not mapped: mapped pages count as RSS
            spooled = pa.ipc.open_file(source)
            batches = (pa.Table.from_batches([spooled.get_batch(i)])
                       for i in range(spooled.num_record_batches))
            for rows in _chunks(batches, WRITE_ROWS):
                result = wh.merge(checked.table, rows)
                inserted, updated = inserted + result.inserted, updated + result.updated
        for r, (lo, hi) in checked.extents.items():
            market.refresh_after_bars(wh, r, lo, hi)
            rollups.clear(wh, r, *dates[r])
        wh.compact(checked.table)
    return {"file": str(checked.path), "table": checked.table, "rows": checked.rows,
            "inserted": inserted, "updated": updated}


def _chunks(tables: Iterator[pa.Table], rows: int) -> Iterator[pa.Table]:
    """The same rows in the same order, in tables of exactly `rows` (the last may be short);
    slices, not copies: memory stays within two batches."""
    held: list[pa.Table] = []
    count = 0
    for table in tables:
        held.append(table)
        count += table.num_rows
        while count >= rows:
            joined = pa.concat_tables(held)
            yield joined.slice(0, rows)
            held, count = [joined.slice(rows)], count - rows
    if count:
        yield pa.concat_tables(held)


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



