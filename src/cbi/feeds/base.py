"""The feed seam: a `Source` plans its requests, fetches each, and normalises to Arrow;
`run_feed` is the one loop that merges and then moves the watermark.

    for request in source.plan(wh, settings, **options):    # what to ask for, from watermarks
        rows = source.normalize(request, source.fetch(request))   # outside world -> Arrow
        source.before_merge(wh, request, rows)                # e.g. a roll-up marker (survives a kill)
        result = wh.merge(request.table or source.table, rows)    # whole batch or nothing
        source.after_merge(wh, request, rows, result)         # e.g. roll-ups of the dates touched
        set_watermark(wh, source.feed, request.cursor_key,    # only after the MERGE
                      source.watermark(request, rows), source.details(request, rows))

`plan` may be a generator: it resumes only after the previous request's watermark moved, so
it can stop early (Databento stops a root whose available end moved back). A feed stops
another cursor's requests only by raising; per-cursor isolation (one root's failure does not
stop the others) is the job's: it runs `run_feed` once per cursor (see `cbi.feeds.databento`).

A feed is registered once in `cbi.feeds.registry` (its job, key name, schedule, settings,
commands and sandbox stand-ins); `SourceBase` gives the optional parts their defaults. Adding
a feed: a folder (`client`, `source`) and one `Feed(...)` line in the registry.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol, runtime_checkable

import pyarrow as pa

from cbi.secrets import feed_key, sandbox_mode
from cbi.warehouse.base import MergeResult, Warehouse
from cbi.warehouse.watermarks import get_watermark, set_watermark  # noqa: F401 - the feeds' names

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class Request:
    """One unit of fetching: a cursor (root, series, query) over a time range [start, end)."""

    cursor_key: str
    start: dt.datetime | dt.date | None
    end: dt.datetime | dt.date | None
    params: dict[str, Any] = field(default_factory=dict)
    table: str | None = None  # where this request's rows merge, when not the source's `table`


@runtime_checkable
class Source(Protocol):
    """A feed. `feed` names it in ops.feed_cursors; `table` is the table its rows merge into;
    `secret` the key it sends (None: no key)."""

    feed: str
    table: str
    secret: str | None
    log_level: int  # of run_feed's line per request (the Live stream's flushes: DEBUG)

    def plan(self, wh: Warehouse, settings: Any, **options: Any) -> Iterable[Request]:
        """The requests still to make, starting from each cursor's watermark."""
        ...

    def fetch(self, request: Request) -> Any:
        """The raw answer for one request (bytes, JSON...); retries are the source's business."""
        ...

    def normalize(self, request: Request, raw: Any) -> pa.Table:
        """Rows for `table` as Arrow (UTC timestamps); raise ValueError naming row and field."""
        ...

    def before_merge(self, wh: Warehouse, request: Request, rows: pa.Table) -> None:
        """What must be written before the MERGE (a marker that a kill leaves behind)."""
        ...

    def after_merge(self, wh: Warehouse, request: Request, rows: pa.Table,
                    result: MergeResult) -> int | None:
        """What must follow the MERGE before the watermark moves (roll-ups, alerts); the
        rows it wrote besides the MERGE (counted in `rows_written`), or None."""
        ...

    def watermark(self, request: Request, rows: pa.Table) -> dt.datetime | dt.date | None:
        """Where the cursor moves once the rows are merged (None: it stays)."""
        ...

    def details(self, request: Request, rows: pa.Table) -> dict[str, Any] | None:
        """JSON details stored beside the watermark."""
        ...

    def records(self, raw: Any, rows: pa.Table) -> int:
        """How many records the answer held (`rows_read`; rows may be fewer: duplicates)."""
        ...


class SourceBase:
    """Defaults for a `Source`'s optional parts: nothing after the MERGE, the watermark moves
    to the request's end, no details."""

    secret: str | None = None
    log_level: int = logging.INFO

    def before_merge(self, wh: Warehouse, request: Request, rows: pa.Table) -> None:
        return None

    def after_merge(self, wh: Warehouse, request: Request, rows: pa.Table,
                    result: MergeResult) -> int | None:
        return None

    def watermark(self, request: Request, rows: pa.Table) -> dt.datetime | dt.date | None:
        return request.end

    def details(self, request: Request, rows: pa.Table) -> dict[str, Any] | None:
        return None

    def records(self, raw: Any, rows: pa.Table) -> int:
        return rows.num_rows


def run_feed(wh: Warehouse, source: Source, settings: Any, **options: Any) -> dict[str, Any]:
    """The feed loop, and the only place a feed's rows are merged and its watermark moved:
    plan, fetch, normalise, before-merge hook, merge, after-merge hook, then the watermark.
    An empty batch merges nothing and skips the before-merge hook. `requests` counts the
    requests made; `cursors` maps each cursor to its (last request's) rows, inserted, updated."""
    totals: dict[str, Any] = {"rows_read": 0, "rows_written": 0, "requests": 0, "cursors": {}}
    for request in source.plan(wh, settings, **options):
        raw = source.fetch(request)
        rows = source.normalize(request, raw)
        table = request.table or source.table
        if rows.num_rows:
            source.before_merge(wh, request, rows)
            result = wh.merge(table, rows)
        else:
            result = MergeResult(table)
        extra = source.after_merge(wh, request, rows, result) or 0
        mark = source.watermark(request, rows)
        if mark is not None:
            set_watermark(wh, source.feed, request.cursor_key, mark, source.details(request, rows))
        totals["requests"] += 1
        totals["rows_read"] += source.records(raw, rows)
        totals["rows_written"] += result.inserted + result.updated + extra
        totals["cursors"][request.cursor_key] = {
            "rows": rows.num_rows, "inserted": result.inserted, "updated": result.updated}
        log.log(source.log_level, "%s %s: %d rows (%d new) from %s", source.feed,
                request.cursor_key, rows.num_rows, result.inserted, request.start or "the beginning")
    return totals




def endpoint(settings: Any, *, secret: str, url_setting: str, label: str,
             error: type[Exception]) -> tuple[str, str, str]:
    """(key, base_url, label) of the service the settings point at. In sandbox mode: the fake
    key and `<label>-sandbox`, and an endpoint still at the live default is refused (a fake key
    never goes to the live service; `cbi.sandbox.session` starts the stand-ins). Otherwise the
    stored key, whose absence is an error naming it."""
    url = getattr(settings, url_setting)
    key = feed_key(settings, secret)
    if sandbox_mode(settings):
        if url == type(settings).model_fields[url_setting].default:
            raise error(f"sandbox = true but {url_setting} is the live service's {url}: run it "
                        "through `cbi` (which starts the sandbox) or point it at a stand-in")
        log.info("%s: sandbox mode (simulated data) at %s", label, url)
        return str(key), url, f"{label}-sandbox"
    if key is None:
        raise error(f"{secret} is not set (keychain or environment); "
                    "or set sandbox = true for simulated data")
    return key, url, label
