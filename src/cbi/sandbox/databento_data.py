"""Simulated GLBX.MDP3 OHLCV bars for ZL, ES and CL, deterministic from a seed.

What the generator imitates (the things a consumer gets wrong otherwise):
- CME Globex sessions from the product's own CME calendar (`cbi.calendar`): grains 19:00 CT
  to 13:20 CT with the morning break, ES and CL 17:00 to 16:00 CT, holidays, and the
  abbreviated holiday sessions CME books to the next trading date.
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
from typing import cast
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from cbi import calendar
from cbi.feeds.databento.dbn import OHLCV_DTYPE, RTYPE  # noqa: F401 - the layout is the feed's

CHICAGO = ZoneInfo("America/Chicago")
EPOCH = dt.date(2015, 1, 1)  # the price paths start here
MINUTE_NS = 60_000_000_000
PUBLISHER_ID = 1  # GLBX.MDP3 Globex
MONTH_CODES = "FGHJKMNQUVXZ"



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


def is_trading_date(root: str, d: dt.date) -> bool:
    return calendar.is_trading_date(root, d)


def session_start_ns(root: str, d: dt.date) -> int:
    """Where the first session booked to trading date `d` opens, in UTC ns."""
    return _ns(calendar.session_open(root, d))


def session_minutes(root: str, d: dt.date) -> np.ndarray:
    """The start (UTC ns) of every minute of the sessions booked to trading date `d`."""
    spans = [np.arange(_ns(o), _ns(c), MINUTE_NS, dtype=np.uint64)
             for o, c in calendar.sessions(root, d)]
    return np.concatenate(spans) if spans else np.zeros(0, np.uint64)


def dataset_start_ns() -> int:
    """Where the simulated dataset starts: the earliest session of EPOCH over the roots."""
    return min(session_start_ns(root, calendar.next_trading_date(root, EPOCH)) for root in ROOTS)


def _ns(when: dt.datetime) -> int:
    return int(when.timestamp()) * 1_000_000_000


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
    dates = [d for d in dates if is_trading_date(root, d)]
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
    if d < EPOCH or not is_trading_date(root, d):
        return np.zeros(0, OHLCV_DTYPE)
    spec = ROOTS[root]
    rng = np.random.default_rng([seed, zlib.crc32(root.encode()), d.toordinal()])
    prev_close, close = _closes(seed, root, d)
    minutes = session_minutes(root, d)
    path = _bridge(rng, prev_close, close, spec.daily_vol, len(minutes))
    contracts = _listed(root, d)
    shares = volume_shares(contracts, d)
    activity = _activity(minutes)
    parts = []
    for c, share in zip(contracts, shares):
        parts.append(_bars(rng, minutes, c.symbol, path * c.factor, activity * share, spec.tick))
    spread = f"{contracts[0].symbol}-{contracts[1].symbol}"
    diff = path * (contracts[0].factor - contracts[1].factor)
    parts.append(_bars(rng, minutes, spread, diff, activity * 0.01, spec.tick))
    bars = np.concatenate(parts)
    return bars[np.argsort(bars["ts_event"], kind="stable")]


def _activity(minutes: np.ndarray) -> np.ndarray:
    """Trades per minute: busier in the day session (08:30-13:15 CT)."""
    local = pd.to_datetime(minutes.astype(np.int64), utc=True).tz_convert(CHICAGO)
    clock = np.asarray(local.hour * 60 + local.minute)
    return np.where((clock >= 8 * 60 + 30) & (clock < 13 * 60 + 15), 40.0, 3.0)


def _bridge(rng: np.random.Generator, start: float, end: float, daily_vol: float,
            n: int) -> np.ndarray:
    """A Brownian bridge in log price, n + 1 points from start to end (n session minutes)."""
    steps = rng.normal(0, daily_vol / np.sqrt(n), n)
    walk = np.concatenate([[0.0], np.cumsum(steps)])
    t = np.linspace(0, 1, n + 1)
    log_path = np.log(start) + walk - t * walk[-1] + t * (np.log(end) - np.log(start))
    return np.exp(log_path)


def _bars(rng: np.random.Generator, minutes: np.ndarray, symbol: str, path: np.ndarray,
          activity: np.ndarray, tick: float) -> np.ndarray:
    volume = rng.poisson(activity)
    wiggle = np.abs(rng.normal(0, 0.0004, (2, len(minutes)))) * np.abs(path[1:])
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
    out["ts_event"] = minutes[traded]
    for name, values in (("open", o), ("high", hi), ("low", lo), ("close", c), ("volume", volume)):
        out[name] = values[traded]
    return out


def symbols_on(root: str, d: dt.date) -> dict[str, int]:
    """Raw symbol -> instrument_id of every instrument listed on trading date `d`."""
    contracts = _listed(root, d)
    names = [c.symbol for c in contracts] + [f"{contracts[0].symbol}-{contracts[1].symbol}"]
    return {n: instrument_id(n) for n in names}


def trading_dates(root: str, start_ns: int, end_ns: int) -> list[dt.date]:
    """The root's trading dates whose sessions may overlap [start_ns, end_ns)."""
    first = dt.datetime.fromtimestamp(start_ns / 1e9, CHICAGO).date()
    last = dt.datetime.fromtimestamp(max(start_ns, end_ns - 1) / 1e9, CHICAGO).date()
    return calendar.trading_dates(root, first, last + dt.timedelta(days=5))


def bars(seed: int, roots: list[str], schema: str, start_ns: int, end_ns: int,
         now_ns: int | None = None) -> tuple[np.ndarray, dict[str, int]]:
    """Bars of `schema` (ohlcv-1m or ohlcv-1h) with start in [start_ns, end_ns), sorted by
    time, only bars complete by `now_ns`; and raw symbol -> instrument_id of what appears."""
    parts, symbols = [], {}
    for root in roots:
        for d in trading_dates(root, start_ns, end_ns):
            day = session_bars(seed, root, d)
            if schema == "ohlcv-1h":
                day = hourly(day, root, d)
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


#: Where CME publishes settlements, after the close (the sandbox: this long after it).
SETTLEMENT_DELAY_NS = 15 * MINUTE_NS
SETTLEMENT_PRICE = 3  # databento_dbn.StatType.SETTLEMENT_PRICE


def settlements(seed: int, roots: list[str], start_ns: int, end_ns: int,
                now_ns: int | None = None) -> tuple[list[tuple[int, int, int, int]], dict[str, int]]:
    """(instrument_id, ts_event, ts_ref, price) of the settlement price of every outright on each
    trading date, published SETTLEMENT_DELAY_NS after the date's close, with ts_event in
    [start_ns, end_ns) and published by `now_ns`; and the raw symbols that appear. A
    settlement is the last trade rounded one tick up: close to, but not, the last trade."""
    out, symbols = [], {}
    for root in roots:
        tick = int(round(ROOTS[root].tick * 1e9))
        for d in trading_dates(root, start_ns, end_ns):
            close = cast(dt.datetime, calendar.settlement_close(root, d))  # a trading date has one
            published = _ns(close) + SETTLEMENT_DELAY_NS
            if not start_ns <= published < end_ns or (now_ns is not None and published > now_ns):
                continue
            day = session_bars(seed, root, d)
            for symbol, iid in symbols_on(root, d).items():
                mine = day[day["instrument_id"] == iid]
                if "-" in symbol or not len(mine):
                    continue
                last = int(mine["close"][np.argmax(mine["ts_event"])])
                ts_ref = _ns(dt.datetime.combine(d, dt.time(), dt.timezone.utc))
                out.append((iid, published, ts_ref, last + tick))
                symbols[symbol] = iid
    return sorted(out, key=lambda r: (r[1], r[0])), symbols


def hourly(minutes: np.ndarray, root: str, d: dt.date) -> np.ndarray:
    """Aggregate one trading date's minute bars into hour bars (the session opens on the hour)."""
    if not len(minutes):
        return minutes
    hour_ns = np.uint64(60 * MINUTE_NS)
    start = np.uint64(session_start_ns(root, d))
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
