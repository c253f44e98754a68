"""Market transforms: 1-minute bars -> daily bars by CME trading date -> continuous series.

Daily bars run in the warehouse (`sql/daily_bars.sql`); the continuous series in Python over
the touched dates (`continuous.py`); both write through MERGE, so a re-run for the same dates
gives the same rows. `daily_from_bars` is the
same trading-date rule in Arrow, for hourly backfills that never touch the 1-minute table.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cbi import calendar
from cbi.transform import continuous
from cbi.warehouse.base import Warehouse

SQL = "cbi.transform.sql"
DAILY = "market_data.futures_ohlcv_1d"
CONTINUOUS = "market_data.futures_continuous_1d"
#: Trading dates rolled up per query after a bulk import.
ROLLUP_WINDOW = dt.timedelta(days=92)


def stamp_trading_dates(rows: pa.Table) -> pa.Table:
    """1-minute (or hourly) bars with their CME `trading_date` set, per root (`cbi.calendar`)."""
    dates = pa.nulls(rows.num_rows, pa.date32())
    if rows.num_rows:
        pieces = []
        for root in pc.unique(rows.column("root")).to_pylist():
            mask = pc.fill_null(pc.equal(rows.column("root"), root), False)
            pieces.append((mask, calendar.trading_dates_of(root, rows.column("ts_event").filter(mask))))
        dates = _scatter(rows.num_rows, pieces)
    if "trading_date" in rows.column_names:
        rows = rows.drop_columns(["trading_date"])
    return rows.append_column("trading_date", dates)


def _scatter(n: int, pieces: list[tuple[pa.Array, pa.Array]]) -> pa.Array:
    out = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    for mask, values in pieces:
        out[np.asarray(mask)] = values.to_numpy(zero_copy_only=False).astype("datetime64[D]")
    return pa.array(out, pa.date32(), mask=np.isnat(out))


def roll_up_daily(wh: Warehouse, root: str, first: dt.date, last: dt.date) -> int:
    """Rebuild the daily bars of trading dates [first, last] of one root from its 1-minute bars."""
    # the first session booked to `first` may open days before it (holiday sessions)
    scan_start = calendar.session_open(root, calendar.next_trading_date(root, first)) - dt.timedelta(hours=1)
    scan_end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
    rows = wh.query_file(SQL, "daily_bars.sql", {
        "root": root, "scan_start": scan_start, "scan_end": scan_end,
        "from_date": first, "to_date": last,
    })
    return _merge(wh, DAILY, rows)


def settle_daily(wh: Warehouse, root: str, first: dt.date, last: dt.date) -> int:
    """Close the daily bars of [first, last] at CME's settlement where one is stored."""
    rows = wh.query_file(SQL, "settle_daily.sql", {"root": root, "from_date": first, "to_date": last})
    return _merge(wh, DAILY, rows)


def update_continuous(wh: Warehouse, root: str, since: dt.date,
                      confirm_days: int = continuous.ROLL_CONFIRM_DAYS) -> int:
    """Recompute the continuous series of `root` from trading date `since` onward, resuming
    from its stored rows before `since` (`cbi.transform.continuous`)."""
    stored = wh.query_file(SQL, "continuous_state.sql",
                           {"root": root, "since": since, "rows": confirm_days}).to_pandas()
    start = min(stored["date"]) if len(stored) else since
    bars = wh.query_file(SQL, "continuous_inputs.sql", {"root": root, "from_date": start}).to_pandas()
    state = continuous.resume(stored, bars, confirm_days)
    rows = continuous.build(bars, root, state, confirm_days)
    return _merge(wh, CONTINUOUS, continuous.to_arrow(rows, dt.datetime.now(dt.timezone.utc)))


def daily_from_bars(bars: pa.Table) -> pa.Table:
    """Daily bars by trading date from intraday bars (ts_event = bar start), in Arrow; each
    carries the `source` of its bars ('sandbox' when any bar was simulated)."""
    if bars.num_rows == 0:
        return bars
    bars = stamp_trading_dates(bars.sort_by([("symbol", "ascending"), ("ts_event", "ascending")]))
    bars = bars.append_column("date", bars.column("trading_date"))
    daily = bars.group_by(["date", "symbol"], use_threads=False).aggregate([
        ("root", "first"), ("instrument_id", "max"), ("open", "first"), ("high", "max"),
        ("low", "min"), ("close", "last"), ("volume", "sum"), ("source", "max"),
    ])
    now = dt.datetime.now(dt.timezone.utc)
    return pa.table({
        "date": daily["date"], "root": daily["root_first"], "symbol": daily["symbol"],
        "instrument_id": daily["instrument_id_max"], "open": daily["open_first"],
        "high": daily["high_max"], "low": daily["low_min"], "close": daily["close_last"],
        "volume": daily["volume_sum"], "source": daily["source_max"],  # 'sandbox' > 'databento'
        "close_source": pa.array(["last_trade"] * daily.num_rows),
        "ingest_timestamp": pa.array([now] * daily.num_rows, pa.timestamp("us", tz="UTC")),
    })


def _merge(wh: Warehouse, fqn: str, rows: pa.Table) -> int:
    if rows.num_rows == 0:
        return 0
    result = wh.merge(fqn, rows)
    return result.inserted + result.updated


def refresh_after_bars(wh: Warehouse, root: str, ts_min: dt.datetime, ts_max: dt.datetime) -> int:
    """After 1-minute bars in [ts_min, ts_max] merged: their daily bars, then the series."""
    first, last = calendar.trading_date_of(root, ts_min), calendar.trading_date_of(root, ts_max)
    written = 0
    # in windows: a decade of minutes rolls up in bounded memory
    while first <= last:
        upto = min(last, first + ROLLUP_WINDOW)
        written += roll_up_daily(wh, root, first, upto)
        first = upto + dt.timedelta(days=1)
    return written + update_continuous(wh, root, calendar.trading_date_of(root, ts_min))
