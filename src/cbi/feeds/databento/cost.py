"""What a Databento Historical backfill will cost, asked before any data is requested.

Databento prices historical data by volume; `metadata.get_cost` quotes a request in USD.
A backfill is quoted per root and schema over the ranges it will fetch (hourly bars for old
history, minutes for the last `databento_minute_days`, settlements), the total is said,
and a total above `max_backfill_cost_usd` stops the backfill before it spends anything.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable

from cbi import calendar
from cbi.errors import UsageError


class CostLimitExceeded(UsageError):
    """The quoted cost of a backfill is above the setting that caps it: nothing fetched."""


def ranges(root: str, start: dt.datetime, end: dt.datetime,
           minute_days: int) -> list[tuple[str, dt.datetime, dt.datetime]]:
    """(schema, start, end) of what a backfill of one root fetches."""
    minute_from = calendar.session_open(root, calendar.next_trading_date(
        root, calendar.trading_date_of(root, end) - dt.timedelta(days=minute_days)))
    out = []
    if start < minute_from:
        out.append(("ohlcv-1h", start, min(minute_from, end)))
    if max(start, minute_from) < end:
        out.append(("ohlcv-1m", max(start, minute_from), end))
    return out


def quote(client: Any, settings: Any, roots: list[str], start: dt.datetime, end: dt.datetime,
          call: Callable[..., Any]) -> float:
    """The USD cost of backfilling `roots` over [start, end), from `metadata.get_cost`."""
    total = 0.0
    for root in roots:
        wanted = ranges(root, start, end, settings.databento_minute_days)
        if settings.databento_settlements and start < end:
            wanted.append(("statistics", start, end))
        for schema, lo, hi in wanted:
            total += float(call(settings, f"metadata.get_cost {root}.FUT {schema}",
                                client.metadata.get_cost, dataset=settings.databento_dataset,
                                symbols=[f"{root}.FUT"], schema=schema, stype_in="parent",
                                start=lo, end=hi))
    return total


def check(cost: float, settings: Any, roots: list[str], start: dt.datetime, end: dt.datetime) -> str:
    """The line that says the cost; raises when it is above the cap."""
    line = (f"Databento backfill of {', '.join(roots)} from {start:%Y-%m-%d %H:%M} to "
            f"{end:%Y-%m-%d %H:%M} UTC: estimated cost ${_usd(cost)}")
    cap = settings.max_backfill_cost_usd
    if cap is not None and cost > cap:
        raise CostLimitExceeded(f"{line}, above max_backfill_cost_usd = ${_usd(cap)}: nothing "
                                "fetched (raise the setting, or backfill a shorter range)")
    return line


def _usd(amount: float) -> str:
    return f"{amount:,.2f}" if amount >= 1 else f"{amount:.4f}"
