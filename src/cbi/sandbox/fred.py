"""A local stand-in for FRED's `/fred/series/observations` (JSON), with vintages.

Simulated data, deterministic in `seed`: business-day random walks for the configured series
from `start` (default 2022-01-03) up to `today`. Each observation is first published one
business day after its date; about one in eight is revised 3-40 days later (a new vintage).
A vintage that starts after `today` is not yet known, so yesterday's answer never changes.
Missing values are "." as FRED sends them. Real-time periods work as FRED's do: vintages
overlapping [realtime_start, realtime_end] come back clipped to it. Paged by limit/offset.
"""

from __future__ import annotations

import datetime as dt
import random
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cbi.sandbox.json_server import ApiError, Faults, JsonServer
from cbi.secrets import SANDBOX_KEYS

#: The fixed fake key the sandbox accepts (defined once in cbi.secrets).
SANDBOX_KEY = SANDBOX_KEYS["FRED_API_KEY"]
START = dt.date(2022, 1, 3)
OPEN_END = dt.date(9999, 12, 31)
#: Series the sandbox knows: (starting level, daily step size, floor).
SERIES: dict[str, tuple[float, float, float | None]] = {
    "DFF": (0.08, 0.02, 0.0), "VIXCLS": (20.0, 1.2, 9.0), "DGS10": (1.6, 0.05, 0.0),
    "DTWEXBGS": (115.0, 0.4, None), "DCOILWTICO": (75.0, 1.5, None),
}


@dataclass(frozen=True)
class Vintage:
    date: dt.date
    realtime_start: dt.date
    realtime_end: dt.date
    value: str  # as FRED sends it: a decimal string or "."


def next_business_day(d: dt.date, n: int = 1) -> dt.date:
    while n > 0:
        d += dt.timedelta(days=1)
        if d.weekday() < 5:
            n -= 1
    return d


@lru_cache(maxsize=32)
def vintages(series_id: str, seed: int, start: dt.date, today: dt.date) -> tuple[Vintage, ...]:
    """Every vintage of the series known on `today`, ordered by date then realtime_start."""
    level, step, floor = SERIES[series_id]
    rng = random.Random(seed * 1_000_003 + zlib.crc32(series_id.encode()))
    out: list[Vintage] = []
    d = start
    while d < today:
        level += rng.gauss(0, step)
        level = max(level, floor) if floor is not None else level
        missing, revised, delay, bump = rng.random() < 0.03, rng.random() < 0.125, rng.randint(3, 40), rng.gauss(0, step)
        if d.weekday() < 5:
            out.extend(_vintages_of(d, level, missing, revised, delay, bump, today))
        d += dt.timedelta(days=1)
    return tuple(out)


def _vintages_of(d: dt.date, level: float, missing: bool, revised: bool, delay: int,
                 bump: float, today: dt.date) -> list[Vintage]:
    first = next_business_day(d)
    if first > today:
        return []
    value = "." if missing else f"{level:.2f}"
    revision = first + dt.timedelta(days=delay)
    if not revised or missing or revision > today:
        return [Vintage(d, first, OPEN_END, value)]
    return [Vintage(d, first, revision - dt.timedelta(days=1), value),
            Vintage(d, revision, OPEN_END, f"{level + bump:.2f}")]


class FredServer(JsonServer):
    def __init__(self, host: str, port: int, faults: Faults, seed: int, start: dt.date,
                 today: dt.date | None) -> None:
        super().__init__(host, port, faults)
        self.seed, self.start, self._today = seed, start, today

    @property
    def today(self) -> dt.date:
        return self._today or dt.date.today()

    def error_body(self, error: ApiError) -> dict[str, Any]:
        return {"error_code": error.status, "error_message": error.message}

    def route(self, path: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, Any]:
        if path != "/fred/series/observations":
            raise ApiError(404, "notFound", "Not Found. The requested URL was not found.")
        if params.get("api_key") != SANDBOX_KEY:
            raise ApiError(400, "badKey", "Bad Request.  The value for variable api_key is not "
                           "registered.  Read https://fred.stlouisfed.org/docs/api/api_key.html")
        if params.get("file_type") != "json":
            raise ApiError(400, "fileType", "Bad Request.  Variable file_type must be json here.")
        series_id = params.get("series_id", "")
        if series_id not in SERIES:
            raise ApiError(400, "series", "Bad Request.  The series does not exist.")
        return 200, self._observations(series_id, params)

    def _observations(self, series_id: str, params: dict[str, str]) -> dict[str, Any]:
        rt_start = _date(params, "realtime_start", self.today)
        rt_end = _date(params, "realtime_end", self.today)
        obs_start = _date(params, "observation_start", dt.date(1776, 7, 4))
        limit, offset = _int(params, "limit", 100_000, 1, 100_000), _int(params, "offset", 0, 0, None)
        rows = [
            {"realtime_start": max(v.realtime_start, rt_start).isoformat(),
             "realtime_end": min(v.realtime_end, rt_end).isoformat(),
             "date": v.date.isoformat(), "value": v.value}
            for v in vintages(series_id, self.seed, self.start, self.today)
            if v.date >= obs_start and v.realtime_start <= rt_end and v.realtime_end >= rt_start
        ]
        return {"realtime_start": rt_start.isoformat(), "realtime_end": rt_end.isoformat(),
                "observation_start": obs_start.isoformat(), "units": "lin", "output_type": 1,
                "file_type": "json", "order_by": "observation_date", "sort_order": "asc",
                "count": len(rows), "offset": offset, "limit": limit,
                "observations": rows[offset: offset + limit]}


def _date(params: dict[str, str], name: str, default: dt.date) -> dt.date:
    if name not in params:
        return default
    try:
        return dt.date.fromisoformat(params[name])
    except ValueError:
        raise ApiError(400, "date", f"Bad Request.  Variable {name} is not a YYYY-MM-DD date.") from None


def _int(params: dict[str, str], name: str, default: int, lo: int, hi: int | None) -> int:
    try:
        value = int(params.get(name, default))
    except ValueError:
        raise ApiError(400, "int", f"Bad Request.  Variable {name} is not an integer.") from None
    if value < lo or (hi is not None and value > hi):
        raise ApiError(400, "range", f"Bad Request.  Variable {name} is out of range.")
    return value


def start(seed: int = 7, host: str = "127.0.0.1", port: int = 0, start: dt.date = START,
          today: dt.date | None = None, **faults: Any) -> FredServer:
    """Start the FRED stand-in in a background thread; `.url` is usable as fred_base_url.

    Faults: `fail_429`, `fail_500`, `malformed` (counts of requests), `retry_after_s`.
    """
    return FredServer(host, port, Faults(**{'retry_after_s': 0, **faults}), seed, start, today).start_thread()
