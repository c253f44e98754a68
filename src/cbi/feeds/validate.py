"""OHLC bar validation, vectorised over an Arrow table.

Rules (every bar): finite prices, positive for outrights (calendar spreads, symbols with
'-', may trade at zero or below), high >= max(open, close), low <= min(open, close),
volume >= 0, a timestamp (or date) present and inside the request. A batch with a bad row
is refused whole (`check_bars`); live data splits off the bad rows instead (`split_bars`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

PRICES = ("open", "high", "low", "close")


class BarError(ValueError):
    """A batch refused by validation; the message names the source, row and field."""


def _f(table: pa.Table, name: str) -> np.ndarray:
    return table.column(name).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)


def problems(table: pa.Table, start: Any = None, end: Any = None) -> list[tuple[np.ndarray, str, str]]:
    """(bad-row mask, field, reason) for each rule, in the order a reader checks a bar."""
    prices = {p: _f(table, p) for p in PRICES}
    spread = np.asarray(pc.fill_null(pc.match_substring(table.column("symbol"), "-"), False))
    rules: list[tuple[np.ndarray, str, str]] = []
    for p in PRICES:
        rules.append((~np.isfinite(prices[p]), p, "missing or not a finite number"))
        rules.append(((prices[p] <= 0) & ~spread, p, "not a positive price"))
    top = np.fmax(prices["open"], prices["close"])
    bottom = np.fmin(prices["open"], prices["close"])
    rules.append((prices["high"] < top, "high", "high below max(open, close)"))
    rules.append((prices["low"] > bottom, "low", "low above min(open, close)"))
    volume = table.column("volume")
    rules.append((np.asarray(pc.fill_null(pc.less(volume, 0), True)), "volume",
                  "missing or negative volume"))
    rules.extend(_time_rules(table, start, end))
    return rules


def _time_rules(table: pa.Table, start: Any, end: Any) -> list[tuple[np.ndarray, str, str]]:
    name = "ts_event" if "ts_event" in table.column_names else "date"
    col = table.column(name)
    rules = [(np.asarray(pc.is_null(col)), name, "missing or unparseable timestamp")]
    if start is not None:
        rules.append((np.asarray(pc.fill_null(pc.less(col, _scalar(start, col.type)), False)),
                      name, f"before the requested start {start}"))
    if end is not None:
        rules.append((np.asarray(pc.fill_null(pc.greater_equal(col, _scalar(end, col.type)), False)),
                      name, f"at or after the requested end {end}"))
    return rules


def _scalar(value: Any, type_: pa.DataType) -> pa.Scalar:
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return pa.scalar(value, type_)


def check_bars(table: pa.Table, source: str, start: Any = None, end: Any = None,
               row_offset: int = 1, row_label: str = "row") -> None:
    """Refuse the whole batch at its first bad row: `source: row N, field F: reason`."""
    if table.num_rows == 0:
        return
    first: tuple[int, str, str] | None = None
    for mask, field, reason in problems(table, start, end):
        bad = np.flatnonzero(mask)
        if len(bad) and (first is None or bad[0] < first[0]):
            first = (int(bad[0]), field, reason)
    if first is not None:
        row, field, reason = first
        raise BarError(f"{source}: {row_label} {row + row_offset}, field {field}: {reason} "
                       f"(batch of {table.num_rows} refused, nothing written)")


def split_bars(table: pa.Table, start: Any = None, end: Any = None) -> tuple[pa.Table, pa.Table, list[str]]:
    """(good rows, bad rows, a reason per bad row) for live data, which quarantines."""
    bad = np.zeros(table.num_rows, bool)
    reasons = np.full(table.num_rows, "", dtype=object)
    for mask, field, reason in problems(table, start, end):
        fresh = mask & ~bad
        reasons[fresh] = f"{field}: {reason}"
        bad |= mask
    keep = pa.array(~bad)
    return table.filter(keep), table.filter(pa.array(bad)), reasons[bad].tolist()
