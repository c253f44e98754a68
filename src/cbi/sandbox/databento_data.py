"""Simulated GLBX.MDP3 OHLCV bars for ZL, ES and CL, deterministic from a seed.

What the generator imitates (the things a consumer gets wrong otherwise):
- CME Globex sessions: trading date D runs 17:00 CT on D-1 to 16:00 CT on D (23 hours,
  America/Chicago with DST); no sessions on weekends or on a few fixed holidays.
- Several contract months per root with volume-led rolls (the next contract overtakes the
  front ten days before expiry), and calendar spreads (`ZLH5-ZLK5`) whose price may be
  negative and which trade rarely.
- Minutes without trades have no bar (Poisson volume of 0).

Every price is a function of (seed, root, trading date) only, so any request range sees the
same bars. A contract's price is the root's path times a constant factor per contract, so a
within-contract return equals the root's return while the raw closes jump at a roll.
"""

from __future__ import annotations

import datetime as dt
import time
import zlib
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

CHICAGO = ZoneInfo("America/Chicago")
EPOCH = dt.date(2015, 1, 1)  # the price paths start here
MINUTE_NS = 60_000_000_000
SESSION_MINUTES = 23 * 60
PUBLISHER_ID = 1  # GLBX.MDP3 Globex
MONTH_CODES = "FGHJKMNQUVXZ"

#: The DBN v2/v3 OHLCV record layout (56 bytes, little-endian), as `to_ndarray` gives it.
OHLCV_DTYPE = np.dtype([
    ("length", "u1"), ("rtype", "u1"), ("publisher_id", "<u2"), ("instrument_id", "<u4"),
    ("ts_event", "<u8"), ("open", "<i8"), ("high", "<i8"), ("low", "<i8"), ("close", "<i8"),
    ("volume", "<u8"),
])
RTYPE = {"ohlcv-1m": 0x21, "ohlcv-1h": 0x22, "ohlcv-1d": 0x23}


@dataclass(frozen=True)
class RootSpec:
    base_price: float
    tick: float
    months: str  # listed contract months
    daily_vol: float


ROOTS: dict[str, RootSpec] = {
    "ZL": RootSpec(45.0, 0.01, "FHKNQUVZ", 0.015),
    "ES": RootSpec(5000.0, 0.25, "HMUZ", 0.010),
    "CL": RootSpec(75.0, 0.01, MONTH_CODES, 0.020),
}


class SimClock:
    """A sandbox clock: starts at `start` (UTC) and runs `speed` times faster than real time.
    Tests share one between the HTTP and Live stand-ins to see a market that is open."""

    def __init__(self, start: dt.datetime | None = None, speed: float = 1.0):
        self.real_start = time.time()
        self.start = start.timestamp() if start else self.real_start
        self.speed = speed

    def __call__(self) -> float:
        return self.start + (time.time() - self.real_start) * self.speed


def is_trading_date(d: dt.date) -> bool:
    """Weekdays except New Year's Day, Independence Day and Christmas (a simplified calendar)."""
    return d.weekday() < 5 and (d.month, d.day) not in ((1, 1), (7, 4), (12, 25))


def session_start_ns(d: dt.date) -> int:
    """17:00 America/Chicago on the calendar day before trading date `d`, in UTC ns."""
    opens = dt.datetime.combine(d - dt.timedelta(days=1), dt.time(17), CHICAGO)
    return int(opens.timestamp()) * 1_000_000_000


def trading_date_of(ts_ns: int) -> dt.date:
    """The trading date a session minute belongs to (17:00 CT and later -> the next date)."""
    local = dt.datetime.fromtimestamp(ts_ns / 1e9, CHICAGO)
    return (local + dt.timedelta(hours=7)).date()


def contract_symbol(root: str, year: int, month: int) -> str:
    return f"{root}{MONTH_CODES[month - 1]}{year % 10}"


def instrument_id(symbol: str) -> int:
    return zlib.crc32(symbol.encode()) % 90_000_000 + 1_000_000


@dataclass(frozen=True)
class Contract:
    symbol: str
    expiry: dt.date
    factor: float  # contract price = root path x factor (constant: no within-contract jumps)


def _listed(root: str, d: dt.date, count: int = 3) -> list[Contract]:
    """The next `count` listed contracts expiring after `d` (expiry: the 14th of the month)."""
    out: list[Contract] = []
    year, month = d.year, d.month
    while len(out) < count:
        if MONTH_CODES[month - 1] in ROOTS[root].months:
            expiry = dt.date(year, month, 14)
            if expiry > d:
                factor = 1.0 + 0.004 * ((year * 12 + month) % 7)
                out.append(Contract(contract_symbol(root, year, month), expiry, factor))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def volume_shares(contracts: list[Contract], d: dt.date) -> list[float]:
    """Volume-led roll: the second contract leads from ten days before the front's expiry."""
    if (contracts[0].expiry - d).days > 10:
        return [0.70, 0.25, 0.05]
    return [0.20, 0.70, 0.10]


@lru_cache(maxsize=16)
def _daily_closes(seed: int, root: str, until: dt.date) -> dict[dt.date, float]:
    """The root's close per trading date from EPOCH (a seeded geometric random walk)."""
    spec = ROOTS[root]
    dates = [EPOCH + dt.timedelta(days=i) for i in range((until - EPOCH).days + 1)]
    dates = [d for d in dates if is_trading_date(d)]
    rng = np.random.default_rng([seed, zlib.crc32(root.encode())])
    path = spec.base_price * np.exp(np.cumsum(rng.normal(0, spec.daily_vol, len(dates))))
    return dict(zip(dates, path.tolist()))


def _closes(seed: int, root: str, d: dt.date) -> tuple[float, float]:
    """(previous close, close) of the root on trading date `d`."""
    year_end = dt.date(d.year + 1, 1, 1)  # cache key granularity: one walk per year-end
    closes = _daily_closes(seed, root, year_end)
    prev = d - dt.timedelta(days=1)
    while prev not in closes and prev >= EPOCH:
        prev -= dt.timedelta(days=1)
    return closes.get(prev, ROOTS[root].base_price), closes[d]


@lru_cache(maxsize=4096)
def session_bars(seed: int, root: str, d: dt.date) -> np.ndarray:
    """Every 1-minute bar of trading date `d` for one root (outrights and one spread)."""
    if not is_trading_date(d) or d < EPOCH:
        return np.zeros(0, OHLCV_DTYPE)
    spec = ROOTS[root]
    rng = np.random.default_rng([seed, zlib.crc32(root.encode()), d.toordinal()])
    prev_close, close = _closes(seed, root, d)
    path = _bridge(rng, prev_close, close, spec.daily_vol)
    contracts = _listed(root, d)
    shares = volume_shares(contracts, d)
    minute = np.arange(SESSION_MINUTES)
    # busier in the day session (08:30-13:15 CT is minutes 930-1215 of the session)
    activity = np.where((minute >= 930) & (minute < 1215), 40.0, 3.0)
    parts = []
    for c, share in zip(contracts, shares):
        parts.append(_bars(rng, d, root, c.symbol, path * c.factor, activity * share, spec.tick))
    spread = f"{contracts[0].symbol}-{contracts[1].symbol}"
    diff = path * (contracts[0].factor - contracts[1].factor)
    parts.append(_bars(rng, d, root, spread, diff, activity * 0.01, spec.tick))
    bars = np.concatenate(parts)
    return bars[np.argsort(bars["ts_event"], kind="stable")]


def _bridge(rng: np.random.Generator, start: float, end: float, daily_vol: float) -> np.ndarray:
    """A Brownian bridge in log price, SESSION_MINUTES + 1 points from start to end."""
    steps = rng.normal(0, daily_vol / np.sqrt(SESSION_MINUTES), SESSION_MINUTES)
    walk = np.concatenate([[0.0], np.cumsum(steps)])
    t = np.linspace(0, 1, SESSION_MINUTES + 1)
    log_path = np.log(start) + walk - t * walk[-1] + t * (np.log(end) - np.log(start))
    return np.exp(log_path)


def _bars(rng: np.random.Generator, d: dt.date, root: str, symbol: str, path: np.ndarray,
          activity: np.ndarray, tick: float) -> np.ndarray:
    volume = rng.poisson(activity)
    wiggle = np.abs(rng.normal(0, 0.0004, (2, SESSION_MINUTES))) * np.abs(path[1:])
    to_fixed = int(round(tick * 1e9))

    def fixed(x: np.ndarray) -> np.ndarray:
        return np.round(x / tick).astype(np.int64) * to_fixed

    o, c = fixed(path[:-1]), fixed(path[1:])
    hi = np.maximum(np.maximum(o, c), fixed(np.maximum(path[:-1], path[1:]) + wiggle[0]))
    lo = np.minimum(np.minimum(o, c), fixed(np.minimum(path[:-1], path[1:]) - wiggle[1]))
    traded = volume > 0
    out = np.zeros(int(traded.sum()), OHLCV_DTYPE)
    out["length"], out["rtype"], out["publisher_id"] = 14, RTYPE["ohlcv-1m"], PUBLISHER_ID
    out["instrument_id"] = instrument_id(symbol)
    out["ts_event"] = session_start_ns(d) + np.flatnonzero(traded).astype(np.uint64) * MINUTE_NS
    for name, values in (("open", o), ("high", hi), ("low", lo), ("close", c), ("volume", volume)):
        out[name] = values[traded]
    return out


def symbols_on(root: str, d: dt.date) -> dict[str, int]:
    """Raw symbol -> instrument_id of every instrument listed on trading date `d`."""
    contracts = _listed(root, d)
    names = [c.symbol for c in contracts] + [f"{contracts[0].symbol}-{contracts[1].symbol}"]
    return {n: instrument_id(n) for n in names}


def trading_dates(start_ns: int, end_ns: int) -> list[dt.date]:
    """Trading dates whose session overlaps [start_ns, end_ns)."""
    first = trading_date_of(start_ns) - dt.timedelta(days=1)
    last = trading_date_of(max(start_ns, end_ns - 1)) + dt.timedelta(days=1)
    days = (last - first).days + 1
    return [first + dt.timedelta(days=i) for i in range(days)
            if is_trading_date(first + dt.timedelta(days=i))]


def bars(seed: int, roots: list[str], schema: str, start_ns: int, end_ns: int,
         now_ns: int | None = None) -> tuple[np.ndarray, dict[str, int]]:
    """Bars of `schema` (ohlcv-1m or ohlcv-1h) with start in [start_ns, end_ns), sorted by
    time, only bars complete by `now_ns`; and raw symbol -> instrument_id of what appears."""
    parts, symbols = [], {}
    for root in roots:
        for d in trading_dates(start_ns, end_ns):
            day = session_bars(seed, root, d)
            if schema == "ohlcv-1h":
                day = hourly(day, d)
            parts.append(day)
            symbols.update(symbols_on(root, d))
    out = np.concatenate(parts) if parts else np.zeros(0, OHLCV_DTYPE)
    width = MINUTE_NS * (60 if schema == "ohlcv-1h" else 1)
    keep = (out["ts_event"] >= start_ns) & (out["ts_event"] < end_ns)
    if now_ns is not None:
        keep &= out["ts_event"] + np.uint64(width) <= now_ns
    out = out[keep]
    out = out[np.argsort(out["ts_event"], kind="stable")]
    present = set(np.unique(out["instrument_id"]).tolist())
    return out, {s: i for s, i in symbols.items() if i in present}


def hourly(minutes: np.ndarray, d: dt.date) -> np.ndarray:
    """Aggregate one session's minute bars into hour bars (the session opens on the hour)."""
    if not len(minutes):
        return minutes
    hour_ns = np.uint64(60 * MINUTE_NS)
    start = np.uint64(session_start_ns(d))
    hour = (minutes["ts_event"] - start) // hour_ns
    keys = minutes["instrument_id"].astype(np.uint64) * np.uint64(100) + hour
    order = np.lexsort((minutes["ts_event"], keys))
    m, k = minutes[order], keys[order]
    first = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    last = np.r_[first[1:] - 1, len(m) - 1]
    out = np.zeros(len(first), OHLCV_DTYPE)
    out["length"], out["rtype"], out["publisher_id"] = 14, RTYPE["ohlcv-1h"], PUBLISHER_ID
    out["instrument_id"] = m["instrument_id"][first]
    out["ts_event"] = start + (k[first] % np.uint64(100)) * hour_ns
    out["open"], out["close"] = m["open"][first], m["close"][last]
    out["high"] = np.maximum.reduceat(m["high"], first)
    out["low"] = np.minimum.reduceat(m["low"], first)
    out["volume"] = np.add.reduceat(m["volume"], first)
    return out
