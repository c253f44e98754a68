"""The feed seam: a `Source` plans its requests, fetches each, and normalises to Arrow.

A feed job is the same three steps for every outside source (Databento, FRED, NewsAPI):

    for request in source.plan(wh, settings, **options):   # what to ask for, from watermarks
        raw = source.fetch(request)                         # talk to the outside world
        rows = source.normalize(request, raw)               # -> pyarrow.Table, validated
        wh.merge(source.table, rows)                        # whole batch or nothing
        set_watermark(wh, source.feed, request.cursor_key, request.end)  # only after the MERGE

`run_source` is that loop; a source with its own needs (Databento rolls up daily bars after
each batch) may write its own loop but keeps the watermark rule.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any, Iterable, Iterator, Protocol, runtime_checkable

import pyarrow as pa

from cbi.secrets import get_secret
from cbi.warehouse.base import Warehouse

log = logging.getLogger(__name__)

CURSORS = "ops.feed_cursors"


@dataclass(frozen=True)
class Request:
    """One unit of fetching: a cursor (root, series, query) over a time range [start, end)."""

    cursor_key: str
    start: dt.datetime | dt.date | None
    end: dt.datetime | dt.date | None
    params: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Source(Protocol):
    """A feed. `feed` names it in ops.feed_cursors; `table` is the table its rows merge into."""

    feed: str
    table: str

    def plan(self, wh: Warehouse, settings: Any, **options: Any) -> Iterable[Request]:
        """The requests still to make, starting from each cursor's watermark."""
        ...

    def fetch(self, request: Request) -> Any:
        """The raw answer for one request (bytes, JSON...); retries are the source's business."""
        ...

    def normalize(self, request: Request, raw: Any) -> pa.Table:
        """Rows for `table` as Arrow (UTC timestamps); raise ValueError naming row and field."""
        ...


def get_watermark(wh: Warehouse, feed: str, cursor_key: str) -> dt.datetime | None:
    """How far `feed`/`cursor_key` has been committed (None when never)."""
    return wh.scalar(
        "SELECT watermark FROM ops.feed_cursors WHERE feed = @feed AND cursor_key = @key",
        {"feed": feed, "key": cursor_key},
    )


def set_watermark(wh: Warehouse, feed: str, cursor_key: str, watermark: dt.datetime,
                  details: dict[str, Any] | None = None) -> None:
    """Move a watermark (call only after the data it covers has been merged)."""
    if isinstance(watermark, dt.date) and not isinstance(watermark, dt.datetime):
        watermark = dt.datetime.combine(watermark, dt.time(), dt.timezone.utc)
    row = pa.table({
        "feed": [feed], "cursor_key": [cursor_key],
        "watermark": pa.array([watermark], pa.timestamp("us", tz="UTC")),
        "updated_at": pa.array([dt.datetime.now(dt.timezone.utc)], pa.timestamp("us", tz="UTC")),
        "details": [json.dumps(details) if details else None],
    })
    wh.merge(CURSORS, row)


def run_source(wh: Warehouse, source: Source, settings: Any, **options: Any) -> dict[str, int]:
    """The plain feed loop: plan, fetch, normalise, merge, then move the watermark."""
    read = written = 0
    for request in source.plan(wh, settings, **options):
        rows = source.normalize(request, source.fetch(request))
        read += rows.num_rows
        if rows.num_rows:
            result = wh.merge(source.table, rows)
            written += result.inserted + result.updated
        if request.end is not None:
            set_watermark(wh, source.feed, request.cursor_key, request.end)
    return {"rows_read": read, "rows_written": written}


def use_sandbox(settings: Any, key: str | None = None) -> bool:
    """Sandbox (simulated data) only when asked: `sandbox = true` (the demo and tests set it).
    Otherwise the live service, whose missing key is an error naming it: a key's absence never
    switches a feed to simulated data. (`key` is accepted for old callers and ignored.)"""
    return settings.sandbox is True


@contextlib.contextmanager
def json_endpoint(settings: Any, *, secret: str, base_url: str, default_url: str,
                  sandbox_module: str, sandbox_key: str, label: str,
                  error: type[Exception]) -> Iterator[tuple[str, str, str]]:
    """(key, base_url, label) of the live API, or of the sandbox: the configured sandbox URL,
    or a sandbox started here (and stopped after) when the URL is still the live default."""
    key = get_secret(secret)
    server = None
    if use_sandbox(settings, key):
        key, label = sandbox_key, f"{label}-sandbox"
        if base_url.rstrip("/") == default_url:
            server = import_module(sandbox_module).start(seed=settings.sandbox_seed)
            base_url = server.url
        log.info("%s: sandbox mode (simulated data) at %s", label, base_url)
    elif key is None:
        raise error(f"{secret} is not set (keychain or environment); "
                    "or set sandbox = true for simulated data")
    try:
        yield key, base_url, label
    finally:
        if server is not None:
            server.stop()
