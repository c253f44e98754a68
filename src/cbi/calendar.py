"""CME trading dates and Globex sessions per root, from `pandas_market_calendars`.

The one place that says which day a bar, a file row or a headline belongs to. Rules:

- A root trades on its Globex calendar (grains and oilseeds 19:00–07:45 and 08:30–13:20 CT,
  energy and equity 17:00–16:00 CT, with holidays, early closes and breaks as the library
  keeps them).
- A trading date is a session day of the root's calendar, except an abbreviated session on a
  day CME does not settle (not a `CME_TradeDate`): ES and CL trade Sunday 17:00 → Monday
  12:00 CT on a Monday holiday, and CME books that session to the next trading date, and so
  is it here.
- An instant belongs to the session it falls in: on the Chicago clock, at or after the root's
  daily open (17:00 or 19:00 CT) it is the next day's session; that day, if it is not a
  trading date, moves on to the next trading date.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Iterable
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pandas_market_calendars as mcal
import pyarrow as pa
import pyarrow.compute as pc

CHICAGO = ZoneInfo("America/Chicago")
UTC = dt.timezone.utc
#: The span the calendars are built for (CME Globex history to the foreseeable future).
FIRST_YEAR, LAST_YEAR = 1980, 2045
SETTLEMENT_CALENDAR = "CME_TradeDate"
#: Root -> the library's calendar. Other roots trade the standard Globex week (17:00–16:00 CT).
CALENDAR_OF_ROOT: dict[str, str] = {
    **dict.fromkeys(("ZL", "ZS", "ZM"), "CMEGlobex_Oilseeds"),
    **dict.fromkeys(("ZC", "ZW", "ZO", "KE", "ZR"), "CMEGlobex_Grains"),
    **dict.fromkeys(("CL", "HO", "RB", "NG", "BZ", "MCL"), "CMEGlobex_Energy"),
    **dict.fromkeys(("ES", "NQ", "YM", "RTY", "MES", "MNQ"), "CME Globex Equity"),
    **dict.fromkeys(("GC", "SI", "HG", "PL", "PA"), "CMEGlobex_Metals"),
    **dict.fromkeys(("LE", "GF", "HE"), "CMEGlobex_Livestock"),
}
DEFAULT_CALENDAR = "CMEGlobex_EnergyAndMetals"


def calendar_name(root: str) -> str:
    return CALENDAR_OF_ROOT.get(root, DEFAULT_CALENDAR)


@lru_cache(maxsize=None)
def _schedule(name: str) -> pd.DataFrame:
    """Every session of a calendar (UTC open/close, breaks where it has them), by session day."""
    cal = mcal.get_calendar(name)
    return cal.schedule(f"{FIRST_YEAR}-01-01", f"{LAST_YEAR}-12-31")


@lru_cache(maxsize=None)
def _settlement_days() -> frozenset[dt.date]:
    return frozenset(d.date() for d in _schedule(SETTLEMENT_CALENDAR).index)


@lru_cache(maxsize=None)
def _trading_days(name: str) -> np.ndarray:
    """Sorted trading dates (datetime64[D]) of a calendar: its session days, less the
    abbreviated sessions it holds on days CME does not settle (holiday sessions)."""
    schedule = _schedule(name)
    settles = _settlement_days()
    holiday_sessions = set(mcal.get_calendar(name).early_closes(schedule).index.date) - settles
    days = [d for d in schedule.index.date if d not in holiday_sessions]
    return np.array(days, dtype="datetime64[D]")


@lru_cache(maxsize=None)
def _open_time(name: str) -> dt.time:
    """The Chicago clock time at which a day's session opens (the evening before)."""
    opens = mcal.get_calendar(name).regular_market_times["market_open"]
    return opens[-1][1]


def _check_span(day: dt.date) -> None:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValueError(f"{day}: outside the CME calendar's span {FIRST_YEAR}–{LAST_YEAR}")


def is_trading_date(root: str, day: dt.date) -> bool:
    days = _trading_days(calendar_name(root))
    i = np.searchsorted(days, np.datetime64(day, "D"))
    return bool(i < len(days) and days[i] == np.datetime64(day, "D"))


def next_trading_date(root: str, day: dt.date) -> dt.date:
    """`day` itself when it is a trading date of the root, else the next one."""
    _check_span(day)
    return next_trading_dates(root, np.array([day], dtype="datetime64[D]"))[0].astype(dt.date)


def next_trading_dates(root: str, days: np.ndarray) -> np.ndarray:
    """`next_trading_date` over an array of datetime64[D] (vectorised)."""
    trading = _trading_days(calendar_name(root))
    days = days.astype("datetime64[D]")
    if len(days) and (days.min() < np.datetime64(f"{FIRST_YEAR}-01-01") or np.isnat(days).any()):
        raise ValueError(f"a date before the CME calendar's span ({FIRST_YEAR}–{LAST_YEAR}) "
                         f"or missing, for {root}")
    pos = np.searchsorted(trading, days)
    if len(pos) and pos.max(initial=0) >= len(trading):
        raise ValueError(f"a date after the CME calendar's span (to {LAST_YEAR}) for {root}")
    return trading[pos]


def trading_dates(root: str, start: dt.date, end: dt.date) -> list[dt.date]:
    """The root's trading dates in [start, end]."""
    days = _trading_days(calendar_name(root))
    lo, hi = np.searchsorted(days, np.datetime64(start, "D")), np.searchsorted(
        days, np.datetime64(end, "D"), side="right")
    return [d.astype(dt.date) for d in days[lo:hi]]


def add_trading_days(root: str, day: dt.date, n: int) -> dt.date:
    """The trading date `n` (≥ 1) trading dates after `day`."""
    days = _trading_days(calendar_name(root))
    i = np.searchsorted(days, np.datetime64(day, "D"), side="right") + n - 1
    if i >= len(days):
        raise ValueError(f"{day} + {n} trading days is past the CME calendar's span")
    return days[i].astype(dt.date)


def trading_date_of(root: str, when: dt.datetime) -> dt.date:
    """The trading date of the session an instant (aware) belongs to."""
    local = when.astimezone(CHICAGO)
    day = local.date() + dt.timedelta(days=int(local.time() >= _open_time(calendar_name(root))))
    return next_trading_date(root, day)


def trading_dates_of(root: str, ts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """`trading_date_of` over an Arrow timestamp column (vectorised: millions of bars)."""
    local = pc.local_timestamp(pc.cast(ts, pa.timestamp("us", tz="America/Chicago")))
    opens = _open_time(calendar_name(root))
    shift = dt.timedelta(days=1) - dt.timedelta(hours=opens.hour, minutes=opens.minute)
    # the clock shifted so that the open falls on midnight of the next day
    clock = pc.cast(pc.add(local, pa.scalar(shift)), pa.date32())
    days = clock.to_numpy(zero_copy_only=False).astype("datetime64[D]")
    return pa.array(next_trading_dates(root, days), pa.date32())


def session_open(root: str, trading_date: dt.date) -> dt.datetime:
    """Where the first session booked to `trading_date` opens (UTC)."""
    return sessions(root, trading_date)[0][0]


def sessions(root: str, trading_date: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    """The UTC (open, close) intervals booked to a trading date, breaks cut out; [] if none."""
    return _intervals(calendar_name(root), trading_date)


@lru_cache(maxsize=4096)
def _intervals(name: str, trading_date: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    days = _trading_days(name)
    i = np.searchsorted(days, np.datetime64(trading_date, "D"))
    if i >= len(days) or days[i] != np.datetime64(trading_date, "D"):
        return []
    previous = days[i - 1].astype(dt.date) if i else trading_date - dt.timedelta(days=7)
    schedule = _schedule(name)
    booked = schedule.loc[(schedule.index.date > previous) & (schedule.index.date <= trading_date)]
    return [interval for _, row in booked.iterrows() for interval in _split_at_break(row)]


def _split_at_break(row: pd.Series) -> Iterable[tuple[dt.datetime, dt.datetime]]:
    opened, closed = row["market_open"].to_pydatetime(), row["market_close"].to_pydatetime()
    brk, resume = row.get("break_start"), row.get("break_end")
    if brk is not None and not pd.isna(brk) and opened < brk.to_pydatetime() < closed:
        yield opened, brk.to_pydatetime()
        yield resume.to_pydatetime(), closed
    else:
        yield opened, closed


def _trading_dates_around(root: str, start: dt.datetime, end: dt.datetime) -> list[dt.date]:
    # A session opens at most a day before its trading date; holiday sessions a few more.
    first = start.astimezone(CHICAGO).date() - dt.timedelta(days=1)
    last = end.astimezone(CHICAGO).date() + dt.timedelta(days=5)
    return trading_dates(root, first, last)


def is_open(root: str, when: dt.datetime) -> bool:
    """True while the root trades on Globex at `when` (an aware datetime)."""
    return any(o <= when < c for d in _trading_dates_around(root, when, when)
               for o, c in sessions(root, d))


def open_minutes_between(root: str, start: dt.datetime, end: dt.datetime) -> float:
    """Minutes of open market between two instants: how long a feed has had to deliver."""
    if end <= start:
        return 0.0
    start = max(start, end - dt.timedelta(days=14))  # enough to call anything older stale
    total = 0.0
    for day in _trading_dates_around(root, start, end):
        for o, c in sessions(root, day):
            total += max(0.0, (min(c, end) - max(o, start)).total_seconds()) / 60
    return total


def settlement_close(root: str, trading_date: dt.date) -> dt.datetime | None:
    """The close of the last session booked to a trading date (UTC); None if it has none."""
    booked = sessions(root, trading_date)
    return booked[-1][1] if booked else None


def trading_date_moved_by(root: str, when: dt.datetime) -> dt.date:
    """The first trading date whose close comes after `when`: the date a headline published
    then can move (one after the close counts for the next trading date)."""
    day = trading_date_of(root, when)
    closes = settlement_close(root, day)
    return add_trading_days(root, day, 1) if closes is not None and when >= closes else day
