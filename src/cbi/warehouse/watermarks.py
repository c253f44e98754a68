"""Watermarks: how far each feed (or build) has committed, one row per (feed, cursor_key) in
`ops.feed_cursors`. The one module that reads and writes that table; move a watermark only
after the rows it covers have been merged.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pyarrow as pa

from cbi.warehouse.base import Warehouse

TABLE = "ops.feed_cursors"
UTC = dt.timezone.utc


def get_watermark(wh: Warehouse, feed: str, cursor_key: str) -> dt.datetime | None:
    """How far `feed`/`cursor_key` has been committed (None when never)."""
    return wh.scalar(f"SELECT watermark FROM {TABLE} WHERE feed = @feed AND cursor_key = @key",
                     {"feed": feed, "key": cursor_key})


def get_details(wh: Warehouse, feed: str, cursor_key: str) -> dict[str, Any]:
    """The JSON details stored with a watermark ({} when none)."""
    details = wh.scalar(f"SELECT details FROM {TABLE} WHERE feed = @feed AND cursor_key = @key",
                        {"feed": feed, "key": cursor_key})
    return json.loads(details) if details else {}


def cursors(wh: Warehouse, feed: str) -> list[dict[str, Any]]:
    """Every cursor of `feed`: cursor_key, watermark and details (parsed; {} when none)."""
    rows = wh.query(f"SELECT cursor_key, watermark, details FROM {TABLE} WHERE feed = @feed",
                    {"feed": feed}).to_pylist()
    return [{**r, "details": json.loads(r["details"]) if r["details"] else {}} for r in rows]


def set_watermark(wh: Warehouse, feed: str, cursor_key: str,
                  watermark: dt.datetime | dt.date | None,
                  details: dict[str, Any] | None = None) -> None:
    """Move a watermark (call only after the data it covers has been merged); a date means
    its midnight UTC."""
    if isinstance(watermark, dt.date) and not isinstance(watermark, dt.datetime):
        watermark = dt.datetime.combine(watermark, dt.time(), UTC)
    wh.merge(TABLE, pa.table({
        "feed": [feed], "cursor_key": [cursor_key],
        "watermark": pa.array([watermark], pa.timestamp("us", tz="UTC")),
        "updated_at": pa.array([dt.datetime.now(UTC)], pa.timestamp("us", tz="UTC")),
        "details": [json.dumps(details, sort_keys=True) if details else None],
    }))


def forget(wh: Warehouse, feed: str, cursor_key: str) -> None:
    """Drop a cursor (a finished backfill, a finished roll-up)."""
    wh.execute(f"DELETE FROM {TABLE} WHERE feed = @feed AND cursor_key = @key",
               {"feed": feed, "key": cursor_key})
