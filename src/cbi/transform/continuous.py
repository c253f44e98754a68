"""One continuous front series per root from its daily bars: who leads, and returns across rolls.

Rules (DESIGN.md, "Domain notes"):
- The series holds one outright (no '-' in the symbol) per trading date: the one it held the
  day before, until another outright of a *later* expiry has led by volume on
  `confirm_days` consecutive trading dates (or the held one stops trading). A leader that
  flips back and forth between two months therefore rolls once, not daily, and a roll never
  goes back to an earlier expiry.
- Each return is within one contract: on a roll day the new contract's close against its own
  close on the series' previous date; if it did not trade that date, the old contract's
  return over the same day (never a return that spans two days of the new contract).
- Returns chain into `index_close`, anchored at the first close; a close <= 0 (WTI,
  2020-04-20) has no return and the index holds flat rather than take a log.
- A vendor continuous series (symbol = root) is one symbol: its returns keep its roll gaps.

It runs in Python over the root's daily outrights from the date it must start at, with the
state (held contract, index) of the series' stored row before that date, so an append costs
the dates it touched, not the whole history.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

#: A later-expiry outright must lead this many consecutive trading dates to take over.
ROLL_CONFIRM_DAYS = 2
_MONTHS = "FGHJKMNQUVXZ"
_CONTRACT = re.compile(r"^[A-Z0-9]{1,4}?([FGHJKMNQUVXZ])(\d{1,2})$")


def expiry_key(symbol: str, on: dt.date) -> int | None:
    """Months since year 0 of a contract's expiry month (ZLN5 traded in 2025 -> July 2025);
    None for a symbol without a month code (a vendor series). One-digit years are read as
    the nearest year at or after the trading date's year minus one."""
    match = _CONTRACT.match(symbol)
    if not match:
        return None
    month, digits = _MONTHS.index(match[1]) + 1, match[2]
    if len(digits) == 2:
        year = 2000 + int(digits) if 2000 + int(digits) <= on.year + 20 else 1900 + int(digits)
    else:
        year = on.year - on.year % 10 + int(digits)
        if year < on.year - 1:
            year += 10
        elif year > on.year + 8:
            year -= 10
    return year * 12 + month


@dataclass
class State:
    """Where the series stands after a date: the contract held, its index, and a challenger."""

    date: dt.date | None = None
    contract: str | None = None
    index: float | None = None
    challenger: str | None = None
    streak: int = 0


Day = dict  # symbol -> (close, volume, source): one trading date's outrights


def _days(bars: pd.DataFrame) -> dict[dt.date, Day]:
    days: dict[dt.date, Day] = {}
    for date, symbol, close, volume, source in zip(bars["date"], bars["symbol"], bars["close"],
                                                   bars["volume"], bars["source"]):
        days.setdefault(date, {})[symbol] = (float(close), int(volume), source)
    return dict(sorted(days.items()))


def build(bars: pd.DataFrame, root: str, state: State | None = None,
          confirm_days: int = ROLL_CONFIRM_DAYS) -> pd.DataFrame:
    """Series rows for the dates of `bars` after `state.date` (columns date, symbol, close,
    volume, source: outrights of one root, from `state.date` on), continuing from `state`."""
    state = state or State()
    by_date = _days(bars)
    out = []
    for date, today in by_date.items():
        if state.date is not None and date <= state.date:
            continue
        previous = by_date.get(state.date) if state.date is not None else None
        held = _choose(today, date, state, confirm_days)
        ret = _return(held, state, today, previous) if state.date is not None else None
        close, volume, source = today[held]
        index = close if state.index is None else (
            state.index * (1 + ret) if ret is not None else state.index)
        out.append({"date": date, "root": root, "contract_symbol": held, "close": close,
                     "volume": volume, "return_1d": ret, "index_close": index,
                     "is_roll": state.contract is not None and held != state.contract,
                     "source": source})
        state.date, state.contract, state.index = date, held, index
    return pd.DataFrame(out, columns=["date", "root", "contract_symbol", "close", "volume",
                                      "return_1d", "index_close", "is_roll", "source"])


def _leader(today: Day) -> str:
    """The highest volume; a tie goes to the first symbol in order."""
    top = max(v[1] for v in today.values())
    return min(s for s, v in today.items() if v[1] == top)


def _choose(today: Day, date: dt.date, state: State, confirm_days: int) -> str:
    leader = _leader(today)
    held = state.contract
    if held is None or held not in today:
        state.challenger, state.streak = None, 0
        return _not_earlier(leader, held, today, date)
    if leader == held or not _later(leader, held, date):
        state.challenger, state.streak = None, 0
        return held
    state.streak = state.streak + 1 if state.challenger == leader else 1
    state.challenger = leader
    if state.streak >= confirm_days:
        state.challenger, state.streak = None, 0
        return leader
    return held


def _later(symbol: str, than: str, date: dt.date) -> bool:
    a, b = expiry_key(symbol, date), expiry_key(than, date)
    return a is None or b is None or a > b


def _not_earlier(leader: str, held: str | None, today: Day, date: dt.date) -> str:
    """The held contract stopped trading: the leader, unless it expires before the held one
    (then the highest-volume contract that does not)."""
    if held is None or _later(leader, held, date):
        return leader
    later = sorted((s for s in today if _later(s, held, date)), key=lambda s: -today[s][1])
    return later[0] if later else leader


def resume(stored: pd.DataFrame, bars: pd.DataFrame, confirm_days: int = ROLL_CONFIRM_DAYS) -> State:
    """The state after the last stored row: `stored` holds the series' last rows (date,
    contract_symbol, index_close) before the dates to build, `bars` the outrights from the
    first of them. The challenger's streak is recounted from those days."""
    if stored.empty:
        return State()
    stored = stored.sort_values("date")
    last = stored.iloc[-1]
    state = State(last["date"], last["contract_symbol"], float(last["index_close"]))
    days = _days(bars)
    for date, contract in zip(stored["date"][::-1], stored["contract_symbol"][::-1]):
        day = days.get(date)
        if contract != state.contract or day is None or state.streak >= confirm_days - 1:
            break
        leader = _leader(day)
        if leader == state.contract or not _later(leader, state.contract, date) or (
                state.challenger not in (None, leader)):
            break
        state.challenger, state.streak = leader, state.streak + 1
    return state


def _return(held: str, state: State, today: Day, previous: Day | None) -> float | None:
    for contract in (held, state.contract):
        if contract in today and previous is not None and contract in previous:
            return _ratio(today[contract][0], previous[contract][0])
    return None


def _ratio(close: float, prev: float) -> float | None:
    return close / prev - 1 if close > 0 and prev > 0 else None


def to_arrow(rows: pd.DataFrame, now: dt.datetime) -> pa.Table:
    return pa.table({
        "date": pa.array(rows["date"], pa.date32()), "root": pa.array(rows["root"], pa.string()),
        "contract_symbol": pa.array(rows["contract_symbol"], pa.string()),
        "close": pa.array(rows["close"], pa.float64()), "volume": pa.array(rows["volume"], pa.int64()),
        "return_1d": pa.array(rows["return_1d"].astype(float), pa.float64(), from_pandas=True),
        "index_close": pa.array(rows["index_close"], pa.float64()),
        "is_roll": pa.array(rows["is_roll"], pa.bool_()),
        "source": pa.array(rows["source"], pa.string()),
        "updated_at": pa.array([now] * len(rows), pa.timestamp("us", tz="UTC")),
    })
