"""Pending roll-ups: derived tables follow their inputs, even across a kill.

Before 1-minute bars (or hourly-derived daily bars) are merged, a marker naming the root and
the trading dates touched is written to `ops.feed_cursors` (feed `rollup`, cursor_key the
root); it is cleared only after the daily roll-up and the continuous series of those dates
have been rebuilt. A process killed in between leaves the marker, and the next feed command
(`finish_pending`, called at the start of `cbi ingest databento` and `cbi ingest bars`)
finishes the roll-up. `cbi verify --data` fails while a marker is pending, and, marker or
not, while any minute has no daily bar (`quality`, gate `market_check_minutes_rolled_up.sql`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from cbi.feeds.base import set_watermark
from cbi.warehouse.base import Warehouse

log = logging.getLogger(__name__)
FEED = "rollup"


def pending(wh: Warehouse) -> dict[str, dict[str, Any]]:
    """root -> {"first": date, "last": date, "minutes": bool} of every unfinished roll-up."""
    rows = wh.query("SELECT cursor_key, details FROM ops.feed_cursors WHERE feed = @feed",
                    {"feed": FEED}).to_pylist()
    out = {}
    for row in rows:
        if not row["details"]:
            continue
        d = json.loads(row["details"])
        out[row["cursor_key"]] = {"first": dt.date.fromisoformat(d["first"]),
                                  "last": dt.date.fromisoformat(d["last"]),
                                  "minutes": bool(d.get("minutes", True))}
    return out


def mark(wh: Warehouse, root: str, first: dt.date, last: dt.date, minutes: bool = True) -> None:
    """Record (widening any pending one) that `root`'s dates [first, last] need a roll-up."""
    held = pending(wh).get(root)
    if held:
        first, last = min(first, held["first"]), max(last, held["last"])
        minutes = minutes or held["minutes"]
    set_watermark(wh, FEED, root, first, {"first": first.isoformat(), "last": last.isoformat(),
                                           "minutes": minutes})


def clear(wh: Warehouse, root: str, first: dt.date, last: dt.date) -> None:
    """Drop the marker once [first, last] is rolled up (kept if it has grown beyond that)."""
    held = pending(wh).get(root)
    if held and first <= held["first"] and held["last"] <= last:
        wh.execute("DELETE FROM ops.feed_cursors WHERE feed = @feed AND cursor_key = @root",
                   {"feed": FEED, "root": root})


def roll_up(wh: Warehouse, root: str, first: dt.date, last: dt.date, minutes: bool = True) -> int:
    """Daily bars of [first, last] from the minutes (when `minutes`), then the series."""
    from cbi.transform import market

    written = market.roll_up_daily(wh, root, first, last) if minutes else 0
    return written + market.update_continuous(wh, root, first)


def finish_pending(wh: Warehouse) -> dict[str, int]:
    """Finish every roll-up a killed run left behind: root -> rows written."""
    done = {}
    for root, held in pending(wh).items():
        log.warning("finishing the roll-up of %s trading dates %s..%s left by an interrupted run",
                    root, held["first"], held["last"])
        done[root] = roll_up(wh, root, held["first"], held["last"], held["minutes"])
        clear(wh, root, held["first"], held["last"])
    return done
