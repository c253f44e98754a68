"""CME Globex market hours and holidays, so a feed is called stale only while it trades.

A trading date D's session opens the evening before (America/Chicago, with DST) and belongs
to D (DESIGN.md). Grains (ZL, ZS, ZC, ZW, ZM) trade 19:00–07:45 and 08:30–13:20 CT; the rest
(ES, CL, …) 17:00–16:00 CT. On a CME holiday the trading date has no session at all: CME runs
short sessions on some of them, but a feed quiet on such a day must not raise an alert.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

CHICAGO = ZoneInfo("America/Chicago")
UTC = dt.timezone.utc
GRAINS = frozenset({"ZL", "ZS", "ZC", "ZW", "ZM", "ZO", "KE"})
#: (day offset from the trading date, "HH:MM" open, day offset, "HH:MM" close), Chicago time.
GRAIN_SESSIONS = ((-1, "19:00", 0, "07:45"), (0, "08:30", 0, "13:20"))
GLOBEX_SESSIONS = ((-1, "17:00", 0, "16:00"),)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th `weekday` (0 = Monday) of a month; n = -1 for the last."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _easter(year: int) -> dt.date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month = (h + ell - 7 * m + 114) // 31
    day = (h + ell - 7 * m + 114) % 31 + 1
    return dt.date(year, month, day)


def _observed(day: dt.date) -> dt.date:
    """A fixed-date holiday on a weekend is observed on Friday or Monday."""
    if day.weekday() == 5:
        return day - dt.timedelta(days=1)
    if day.weekday() == 6:
        return day + dt.timedelta(days=1)
    return day


@lru_cache(maxsize=64)
def holidays(year: int) -> frozenset[dt.date]:
    """CME holidays of a year (exchange closed or on a short session)."""
    days = {
        _observed(dt.date(year, 1, 1)),
        _nth_weekday(year, 1, 0, 3),  # Martin Luther King Jr. Day
        _nth_weekday(year, 2, 0, 3),  # Presidents Day
        _easter(year) - dt.timedelta(days=2),  # Good Friday
        _nth_weekday(year, 5, 0, -1),  # Memorial Day
        _observed(dt.date(year, 7, 4)),
        _nth_weekday(year, 9, 0, 1),  # Labor Day
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving
        _observed(dt.date(year, 12, 25)),
    }
    if year >= 2022:
        days.add(_observed(dt.date(year, 6, 19)))  # Juneteenth
    return frozenset(days)


def is_trading_date(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in holidays(day.year)


def sessions(root: str, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    """The UTC (open, close) intervals of trading date `day` for a root; [] when closed."""
    if not is_trading_date(day):
        return []
    out = []
    for open_off, open_at, close_off, close_at in (GRAIN_SESSIONS if root in GRAINS else GLOBEX_SESSIONS):
        out.append((_at(day + dt.timedelta(days=open_off), open_at),
                    _at(day + dt.timedelta(days=close_off), close_at)))
    return out


def _at(day: dt.date, hhmm: str) -> dt.datetime:
    hour, minute = map(int, hhmm.split(":"))
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=CHICAGO).astimezone(UTC)


def _days_around(a: dt.datetime, b: dt.datetime) -> list[dt.date]:
    # A session opens at most a day before its trading date.
    first, last = a.astimezone(CHICAGO).date(), b.astimezone(CHICAGO).date() + dt.timedelta(days=1)
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def is_open(root: str, when: dt.datetime) -> bool:
    """True while the root trades on Globex at `when` (an aware datetime)."""
    return any(o <= when < c for d in _days_around(when, when) for o, c in sessions(root, d))


def open_minutes_between(root: str, start: dt.datetime, end: dt.datetime) -> float:
    """Minutes of open market between two instants: how long a feed has had to deliver."""
    if end <= start:
        return 0.0
    start = max(start, end - dt.timedelta(days=14))  # enough to call anything older stale
    total = 0.0
    for day in _days_around(start, end):
        for o, c in sessions(root, day):
            overlap = (min(c, end) - max(o, start)).total_seconds()
            total += max(0.0, overlap) / 60
    return total
