"""Market transforms: 1-minute bars -> daily bars by CME trading date -> continuous series.

Both run in the warehouse (`sql/daily_bars.sql`, `sql/continuous_contract.sql`) and write
through MERGE, so a re-run for the same dates gives the same rows. `daily_from_bars` is the
same trading-date rule in Arrow, for hourly backfills that never touch the 1-minute table.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from cbi.warehouse.base import Warehouse

SQL = "cbi.transform.sql"
DAILY = "market_data.futures_ohlcv_1d"
CONTINUOUS = "market_data.futures_continuous_1d"
CHICAGO = ZoneInfo("America/Chicago")


def trading_date(ts: dt.datetime) -> dt.date:
    """The CME trading date of an instant: Chicago clock + 7 h (17:00 CT opens the next date)."""
    local = ts.astimezone(CHICAGO).replace(tzinfo=None) + dt.timedelta(hours=7)
    return _monday_if_weekend(local.date())


def _monday_if_weekend(d: dt.date) -> dt.date:
    return d + dt.timedelta(days={6: 2, 7: 1}.get(d.isoweekday(), 0))


def trading_dates(ts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """`trading_date` over an Arrow timestamp column (vectorised)."""
    local = pc.local_timestamp(pc.cast(ts, pa.timestamp("us", tz="America/Chicago")))
    clock = pc.cast(pc.add(local, pa.scalar(dt.timedelta(hours=7))), pa.date32())
    weekday = pc.day_of_week(clock, count_from_zero=False)  # Monday = 1 ... Sunday = 7
    shift = pc.if_else(pc.equal(weekday, 6), 2, pc.if_else(pc.equal(weekday, 7), 1, 0))
    days = pc.add(pc.cast(clock, pa.int32()), pc.cast(shift, pa.int32()))
    return pc.cast(days, pa.date32())


def roll_up_daily(wh: Warehouse, root: str, first: dt.date, last: dt.date) -> int:
    """Rebuild the daily bars of trading dates [first, last] of one root from its 1-minute bars."""
    scan_start = dt.datetime.combine(first - dt.timedelta(days=3), dt.time(), dt.timezone.utc)
    scan_end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
    rows = wh.query_file(SQL, "daily_bars.sql", {
        "root": root, "scan_start": scan_start, "scan_end": scan_end,
        "from_date": first, "to_date": last,
    })
    return _merge(wh, DAILY, rows)


def update_continuous(wh: Warehouse, root: str, since: dt.date) -> int:
    """Recompute the continuous series of `root` from trading date `since` onward."""
    rows = wh.query_file(SQL, "continuous_contract.sql", {"root": root, "from_date": since})
    return _merge(wh, CONTINUOUS, rows)


def daily_from_bars(bars: pa.Table, source: str) -> pa.Table:
    """Daily bars by trading date from intraday bars (ts_event = bar start), in Arrow."""
    if bars.num_rows == 0:
        return bars
    bars = bars.sort_by([("symbol", "ascending"), ("ts_event", "ascending")])
    bars = bars.append_column("date", trading_dates(bars.column("ts_event")))
    daily = bars.group_by(["date", "symbol"], use_threads=False).aggregate([
        ("root", "first"), ("instrument_id", "max"), ("open", "first"), ("high", "max"),
        ("low", "min"), ("close", "last"), ("volume", "sum"),
    ])
    now = dt.datetime.now(dt.timezone.utc)
    return pa.table({
        "date": daily["date"], "root": daily["root_first"], "symbol": daily["symbol"],
        "instrument_id": daily["instrument_id_max"], "open": daily["open_first"],
        "high": daily["high_max"], "low": daily["low_min"], "close": daily["close_last"],
        "volume": daily["volume_sum"], "source": pa.array([source] * daily.num_rows),
        "ingest_timestamp": pa.array([now] * daily.num_rows, pa.timestamp("us", tz="UTC")),
    })


def _merge(wh: Warehouse, fqn: str, rows: pa.Table) -> int:
    if rows.num_rows == 0:
        return 0
    result = wh.merge(fqn, rows)
    return result.inserted + result.updated


def refresh_after_bars(wh: Warehouse, root: str, ts_min: dt.datetime, ts_max: dt.datetime) -> int:
    """After 1-minute bars in [ts_min, ts_max] merged: their daily bars, then the series."""
    first, last = trading_date(ts_min), trading_date(ts_max)
    written = roll_up_daily(wh, root, first, last)
    return written + update_continuous(wh, root, first)
