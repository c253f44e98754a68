"""Validation at the door: OHLC bars (vectorised over Arrow), file columns, duplicate keys,
symbols, roots, series ids, finite values and plausible dates.

Rules (every bar): finite prices; positive for outrights (calendar spreads, symbols with
'-', may trade at zero or below) unless the root's plausible band reaches below zero (WTI
settled at -37.63 on 2020-04-20); high >= max(open, close), low <= min(open, close),
volume >= 0 and below `MAX_VOLUME`; a timestamp (or date) present and inside the request;
a symbol the feeds' parser reads (`root_of`) whose root is the row's root. With `limits`
(`bar_limits(settings)`): a date inside the plausible range (`bars_min_date` to today +
`future_skew_days`), prices inside the root's band (`price_bands`), and no single-bar jump
beyond `jump_factor` x the trailing range. A batch with a bad row is refused whole
(`check_bars`); live and polled data split off the bad rows into quarantine (`split_bars`).

Every refusal is one line: `SOURCE: ROW-LABEL N, field F: what (rule: ...)`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cbi.errors import UsageError

if TYPE_CHECKING:
    from cbi.config import Settings

PRICES = ("open", "high", "low", "close")
#: No contract trades a trillion lots in one bar; a bigger volume is a corrupt field.
MAX_VOLUME = 10**12
#: FRED series ids: upper-case letters, digits and underscores (DGS10, DTWEXBGS, T10Y2Y).
SERIES_ID = re.compile(r"^[A-Z0-9_]{1,40}$")
#: A CME futures symbol: root, then (for a contract) month code and 1–2 year digits; a spread
#: joins two with '-'; a parent is ROOT.FUT; a vendor continuous series is the root alone.
_CONTRACT = re.compile(r"^(?P<root>[A-Z0-9]{1,4}?)(?P<month>[FGHJKMNQUVXZ])(?P<year>\d{1,2})$")
_ROOT = re.compile(r"^[A-Z0-9]{1,4}$")


class BarError(UsageError, ValueError):
    """Input refused by validation (exit 2); the one-line message names source, row, field
    and rule. Stays a ValueError for callers that catch that."""


# ---- symbols, roots, series ids --------------------------------------------------------------
def root_of(symbol: str) -> str:
    """ZLH5 -> ZL, ZLH25 -> ZL, ESZ4-ESH5 -> ES, ZL.FUT -> ZL, ZL (a vendor continuous series)
    -> ZL. Anything else is refused: a root is never guessed."""
    text = symbol.strip().upper() if isinstance(symbol, str) else ""
    leg = text.split("-")[0]
    if leg.endswith(".FUT"):
        leg = leg[:-4]
    match = _CONTRACT.match(leg)
    if match and (text == leg or "-" in text or text.endswith(".FUT")):
        if "-" not in text or all(_CONTRACT.match(part) for part in text.split("-")):
            return match["root"]
    if _ROOT.match(leg) and "-" not in text and not text.endswith(".FUT") or (
            _ROOT.match(leg) and text == f"{leg}.FUT"):
        return leg
    raise BarError(f"symbol {symbol!r}: not a CME futures symbol (ROOT, ROOT+month+year like "
                   f"ZLH5, a spread like ZLH5-ZLK5, or ROOT.FUT)")


def check_root(root: Any, where: str) -> str:
    """A root as settings, flags and files give it: 1–4 upper-case letters or digits."""
    if not isinstance(root, str) or not _ROOT.match(root):
        raise BarError(f"{where}: root {root!r} is not a CME root (rule: 1-4 upper-case "
                       "letters or digits, like ZL)")
    return root


def check_series_id(series_id: Any, where: str) -> str:
    """A FRED series id: upper-case letters, digits and underscores."""
    if not isinstance(series_id, str) or not SERIES_ID.match(series_id):
        raise BarError(f"{where}: series id {series_id!r} is not a FRED series id (rule: "
                       "upper-case letters, digits and '_', like DGS10)")
    return series_id


def _symbol_problem(symbol: Any) -> str | None:
    if symbol is None:
        return "missing (an instrument id not in the symbol mappings)"
    if symbol != symbol.strip() or symbol != symbol.upper() or not symbol.isprintable():
        return f"{symbol!r} is not a CME futures symbol (rule: upper-case, no spaces or control characters)"
    try:
        root_of(symbol)
    except BarError:
        return (f"{symbol!r} is not a CME futures symbol (rule: ROOT, ROOT+month+year like "
                "ZLH5, or a spread like ZLH5-ZLK5)")
    return None


# ---- plausible limits ----------------------------------------------------------------------
@dataclass(frozen=True)
class Limits:
    """Plausible values for bars (`bar_limits(settings)`)."""

    min_date: dt.date
    max_date: dt.date
    bands: dict[str, tuple[float, float]] = field(default_factory=dict)
    jump_factor: float = 0.0  # 0: no jump rule
    jump_window: int = 20
    jump_floor: float = 0.02

    def band(self, root: str) -> tuple[float, float] | None:
        band = self.bands.get(root) or self.bands.get("default")
        return (float(band[0]), float(band[1])) if band else None


def today_utc() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


def bar_limits(settings: Settings, today: dt.date | None = None) -> Limits:
    """The plausible dates, price bands and jump rule for bars, from settings."""
    today = today or today_utc()
    return Limits(
        min_date=settings.bars_min_date,
        max_date=today + dt.timedelta(days=settings.future_skew_days),
        bands={k: (float(v[0]), float(v[1])) for k, v in settings.price_bands.items()},
        jump_factor=float(settings.jump_factor), jump_window=int(settings.jump_window),
        jump_floor=float(settings.jump_floor_fraction))


def date_range(settings: Settings, kind: str = "bars",
               today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """(earliest, latest) plausible date of bars or FRED observations."""
    today = today or today_utc()
    first = settings.fred_min_date if kind == "fred" else settings.bars_min_date
    return first, today + dt.timedelta(days=settings.future_skew_days)


def check_date(value: dt.date, bounds: tuple[dt.date, dt.date] | None, where: str,
               field_name: str, settings_names: str = "bars_min_date, future_skew_days") -> None:
    if bounds is None or value is None:
        return
    if not bounds[0] <= value <= bounds[1]:
        raise BarError(f"{where}, field {field_name}: {value} is outside the plausible dates "
                       f"[{bounds[0]}, {bounds[1]}] (rule: settings {settings_names})")


def finite_value(raw: Any, where: str, field_name: str = "value") -> float:
    """A number that must be finite: NaN, inf and overflowing text (1e400) are refused."""
    try:
        value = float(raw)
    except (TypeError, ValueError, OverflowError):
        raise BarError(f"{where}, field {field_name}: {raw!r} is not a number "
                       "(rule: a finite number)") from None
    if not math.isfinite(value):
        raise BarError(f"{where}, field {field_name}: {raw!r} is not a finite number "
                       "(rule: values finite; NaN, inf and overflow refused)")
    return value


# ---- file-level checks -----------------------------------------------------------------------
def check_columns(names: list[str], source: str, required: Iterable[str] | None = None) -> None:
    """Refuse a header with an empty, duplicate or (when `required` is given, or for bar
    files by default) missing column, naming it."""
    seen: dict[str, int] = {}
    for i, name in enumerate(names, start=1):
        key = str(name).strip()
        if not key:
            raise BarError(f"{source}: line 1, column {i}: empty column name (rule: every column named)")
        if key.lower() in seen:
            raise BarError(f"{source}: line 1, field {key}: duplicate column (columns {seen[key.lower()]} "
                           f"and {i}; rule: each column once)")
        seen[key.lower()] = i
    wanted = list(required) if required is not None else [*PRICES, "volume"]
    missing = [c for c in wanted if c.lower() not in seen]
    if required is None and "ts_event" not in seen and "date" not in seen:
        missing.insert(0, "ts_event or date")
    if missing:
        raise BarError(f"{source}: line 1, field {missing[0]}: missing column(s) {missing}; found "
                       f"{[str(n).strip() for n in names]} (rule: required columns)")


def collapse_duplicates(rows: pa.Table, key: list[str], source: str, row_offset: int = 1,
                        row_label: str = "row", ignore: Iterable[str] = ("ingest_timestamp",)) -> pa.Table:
    """Rows sharing a key: identical ones collapse to the first; differing ones refuse the
    batch naming both rows and the first field that differs."""
    if rows.num_rows < 2:
        return rows
    keys = rows.select(key).to_pandas()
    # a row missing part of its key is not a duplicate: validation names it instead
    dup = (keys.duplicated(keep=False) & keys.notna().all(axis=1)).to_numpy()
    if not dup.any():
        return rows
    fields = [c for c in rows.column_names if c not in set(ignore)]
    frame = rows.select(fields).to_pandas()
    first_of: dict[tuple, np.integer] = {}
    drop = np.zeros(rows.num_rows, bool)
    for i in np.flatnonzero(dup):
        k = tuple(keys.iloc[i])
        j = first_of.setdefault(k, i)
        if j == i:
            continue
        for name in fields:
            a, b = _plain(frame[name].iloc[j]), _plain(frame[name].iloc[i])
            if not (_same(a, b)):
                shown = ", ".join(f"{c}={v}" for c, v in zip(key, k))
                raise BarError(f"{source}: {row_label} {j + row_offset} and {row_label} {i + row_offset}, "
                               f"field {name}: same key ({shown}) with different values ({a!r} vs "
                               f"{b!r}) (rule: one row per key; identical duplicates collapse); "
                               "the batch is refused whole, nothing written")
        drop[i] = True
    return rows.filter(pa.array(~drop))


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (so a message shows 45.5, not np.float64)."""
    return value.item() if isinstance(value, np.generic) else value


def _same(a: Any, b: Any) -> bool:
    try:
        if a is None or b is None or (isinstance(a, float) and isinstance(b, float)):
            both_nan = a is not None and b is not None and math.isnan(a) and math.isnan(b)
            return a is b or a == b or both_nan or (a is None and b is None)
        missing_a, missing_b = _missing(a), _missing(b)
        if missing_a or missing_b:
            return missing_a and missing_b
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _missing(v: Any) -> bool:
    try:
        import pandas as pd

        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def to_volume(values: Any) -> pa.Array:
    """Volumes as int64 from parsed numbers (a pandas Series or a sequence): a fraction or a
    non-number becomes missing, and a value beyond `MAX_VOLUME` (a 23-digit field) becomes
    MAX_VOLUME + 1, so `check_bars` refuses either naming the row, never a traceback."""
    import pandas as pd

    numbers = pd.to_numeric(pd.Series(values), errors="coerce").astype("float64")
    huge = numbers.abs() > MAX_VOLUME
    whole = numbers.notna() & (numbers == np.floor(numbers.fillna(0))) & ~huge
    out = numbers.where(whole)
    out[huge] = MAX_VOLUME + 1
    return pa.array(out.astype("Int64"), pa.int64())


# ---- bars ------------------------------------------------------------------------------------
def _f(table: pa.Table, name: str) -> np.ndarray:
    return table.column(name).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)


def problems(table: pa.Table, start: Any = None, end: Any = None,
             limits: Limits | None = None) -> list[tuple[np.ndarray, str, str]]:
    """(bad-row mask, field, reason) for each rule, in the order a reader checks a bar."""
    rules: list[tuple[np.ndarray, str, str]] = []
    rules.extend(_symbol_rules(table))
    prices = {p: _f(table, p) for p in PRICES}
    spread = np.asarray(pc.fill_null(pc.match_substring(table.column("symbol"), "-"), False))
    lows = _band_lows(table, limits)
    for p in PRICES:
        rules.append((~np.isfinite(prices[p]), p, "missing or not a finite number"))
        with np.errstate(invalid="ignore"):
            rules.append(((prices[p] <= 0) & ~spread & (lows >= 0), p, "not a positive price"))
    top = np.fmax(prices["open"], prices["close"])
    bottom = np.fmin(prices["open"], prices["close"])
    rules.append((prices["high"] < top, "high", "high below max(open, close)"))
    rules.append((prices["low"] > bottom, "low", "low above min(open, close)"))
    volume = table.column("volume")
    rules.append((np.asarray(pc.fill_null(pc.less(volume, 0), True)), "volume",
                  "missing or negative volume"))
    rules.append((np.asarray(pc.fill_null(pc.greater(volume, MAX_VOLUME), False)), "volume",
                  f"implausible volume (rule: at most {MAX_VOLUME:,} in a bar)"))
    rules.extend(_time_rules(table, start, end, limits))
    if limits is not None:
        rules.extend(_band_rules(table, prices, spread, limits))
        if limits.jump_factor > 0:
            rules.extend(_jump_rules(table, prices, spread, limits))
    return rules


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, list[Any]]:
    """(a code per row, -1 for null; the distinct values) of a string column."""
    encoded = pc.dictionary_encode(column).combine_chunks()
    codes = np.asarray(encoded.indices.fill_null(-1), dtype=np.int64)
    return codes, encoded.dictionary.to_pylist()


def _symbol_rules(table: pa.Table) -> list[tuple[np.ndarray, str, str]]:
    rules: list[tuple[np.ndarray, str, str]] = []
    codes, symbols = _codes(table.column("symbol"))
    if (codes < 0).any():
        rules.append((codes < 0, "symbol", cast(str, _symbol_problem(None))))  # a missing one has one
    roots = None
    if "root" in table.column_names:
        root_codes, root_values = _codes(table.column("root"))
        roots = (root_codes, {v: i for i, v in enumerate(root_values)})
    for i, symbol in enumerate(symbols):
        problem = _symbol_problem(symbol)
        if problem:
            rules.append((codes == i, "symbol", problem))
        elif roots is not None:
            parsed = root_of(symbol)
            wrong = (codes == i) & (roots[0] != roots[1].get(parsed, -2))
            if wrong.any():
                rules.append((wrong, "root", f"not the root of symbol {symbol!r} ({parsed})"))
    return rules


def _root_masks(table: pa.Table) -> list[tuple[str, np.ndarray]]:
    codes, values = _codes(table.column("root"))
    return [(root, codes == i) for i, root in enumerate(values) if root]


def _band_lows(table: pa.Table, limits: Limits | None) -> np.ndarray:
    lows = np.zeros(table.num_rows)
    if limits is None or "root" not in table.column_names:
        return lows
    for root, mine in _root_masks(table):
        band = limits.band(root)
        if band and band[0] < 0:
            lows[mine] = band[0]
    return lows


def _band_rules(table: pa.Table, prices: dict[str, np.ndarray], spread: np.ndarray,
                limits: Limits) -> list[tuple[np.ndarray, str, str]]:
    rules = []
    for root, mine in _root_masks(table):
        band = limits.band(root)
        if not band:
            continue
        lo, hi = band
        for p in PRICES:
            x = prices[p]
            with np.errstate(invalid="ignore"):
                out = mine & np.isfinite(x) & np.where(spread, np.abs(x) > hi - min(lo, 0.0),
                                                       (x < lo) | (x > hi))
            if out.any():
                rules.append((out, p, f"outside the plausible band [{lo:g}, {hi:g}] of root {root} "
                                      "(rule: setting price_bands)"))
    return rules


def _jump_rules(table: pa.Table, prices: dict[str, np.ndarray], spread: np.ndarray,
                limits: Limits) -> list[tuple[np.ndarray, str, str]]:
    """A bar whose high or low is further from the previous close than `jump_factor` x the
    range of the `jump_window` bars before it (at least `jump_floor` x the price). Bars are
    taken per symbol in time order; calendar spreads (prices near zero) are left out."""
    import pandas as pd

    n, w = table.num_rows, max(int(limits.jump_window), 2)
    rows = np.flatnonzero(~spread)
    if len(rows) <= w:
        return []
    codes, _ = _codes(table.column("symbol"))
    time_name = "ts_event" if "ts_event" in table.column_names else "date"
    when = np.asarray(pc.fill_null(table.column(time_name).cast(
        pa.int64() if time_name == "ts_event" else pa.int32()), 0)).astype(np.int64)
    order = rows[np.lexsort((when[rows], codes[rows]))]
    group = codes[order]
    starts = np.r_[True, group[1:] != group[:-1]]
    first = np.maximum.accumulate(np.where(starts, np.arange(len(order)), 0))
    position = np.arange(len(order)) - first
    high, low, close = prices["high"][order], prices["low"][order], prices["close"][order]
    trailing = (pd.Series(high).rolling(w).max() - pd.Series(low).rolling(w).min()).shift(1).to_numpy()
    previous = np.roll(close, 1)
    with np.errstate(invalid="ignore"):
        scale = np.fmax(trailing, limits.jump_floor * np.abs(previous))
        move = np.fmax(np.abs(high - previous), np.abs(low - previous))
        jump = (position >= w) & (move > limits.jump_factor * scale)
    if not jump.any():
        return []
    mask = np.zeros(n, bool)
    mask[order[jump]] = True
    return [(mask, "close", f"a single-bar jump beyond {limits.jump_factor:g} x the range of the "
                            f"previous {w} bars (rule: settings jump_factor, jump_window)")]


def _time_rules(table: pa.Table, start: Any, end: Any,
                limits: Limits | None = None) -> list[tuple[np.ndarray, str, str]]:
    name = "ts_event" if "ts_event" in table.column_names else "date"
    col = table.column(name)
    rules = [(np.asarray(pc.is_null(col)), name, "missing or unparseable timestamp")]
    if start is not None:
        rules.append((np.asarray(pc.fill_null(pc.less(col, _scalar(start, col.type)), False)),
                      name, f"before the requested start {start}"))
    if end is not None:
        rules.append((np.asarray(pc.fill_null(pc.greater_equal(col, _scalar(end, col.type)), False)),
                      name, f"at or after the requested end {end}"))
    if limits is not None:
        lo = dt.datetime.combine(limits.min_date, dt.time(), dt.timezone.utc)
        hi = dt.datetime.combine(limits.max_date + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
        lo_s, hi_s = (_scalar(v if pa.types.is_timestamp(col.type) else v.date(), col.type) for v in (lo, hi))
        outside = pc.or_(pc.less(col, lo_s), pc.greater_equal(col, hi_s))
        rules.append((np.asarray(pc.fill_null(outside, False)), name,
                      f"outside the plausible dates [{limits.min_date}, {limits.max_date}] "
                      "(rule: settings bars_min_date, future_skew_days)"))
    return rules


def _scalar(value: Any, type_: pa.DataType) -> pa.Scalar:
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return pa.scalar(value, type_)


def first_problem(table: pa.Table, start: Any = None, end: Any = None,
                  limits: Limits | None = None) -> tuple[int, str, str] | None:
    first: tuple[int, str, str] | None = None
    for mask, field_name, reason in problems(table, start, end, limits):
        bad = np.flatnonzero(mask)
        if len(bad) and (first is None or bad[0] < first[0]):
            first = (int(bad[0]), field_name, reason)
    return first


def check_bars(table: pa.Table, source: str, start: Any = None, end: Any = None,
               row_offset: int = 1, row_label: str = "row", limits: Limits | None = None) -> None:
    """Refuse the whole batch at its first bad row: `source: row N, field F: reason`.
    `limits` (`bar_limits(settings)`) adds plausible dates, price bands and the jump rule."""
    if table.num_rows == 0:
        return
    first = first_problem(table, start, end, limits)
    if first is not None:
        row, field_name, reason = first
        raise BarError(f"{source}: {row_label} {row + row_offset}, field {field_name}: {reason} "
                       f"(batch of {table.num_rows} refused, nothing written)")


def split_bars(table: pa.Table, start: Any = None, end: Any = None,
               limits: Limits | None = None) -> tuple[pa.Table, pa.Table, list[str]]:
    """(good rows, bad rows, a reason per bad row) for live and polled data, which quarantine."""
    bad = np.zeros(table.num_rows, bool)
    reasons = np.full(table.num_rows, "", dtype=object)
    for mask, field_name, reason in problems(table, start, end, limits):
        fresh = mask & ~bad
        reasons[fresh] = f"{field_name}: {reason}"
        bad |= mask
    keep = pa.array(~bad)
    return table.filter(keep), table.filter(pa.array(bad)), reasons[bad].tolist()
