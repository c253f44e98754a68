"""The Databento Live stream: ohlcv-1m from the Live gateway. On every (re)connect it first
backfills the gap from Historical (`poll_root`, through the feed seam), then subscribes with
`start` = the Historical end, so nothing is missed between the two. Each flush of the buffered
bars goes through the same seam (`LiveSource` and `run_feed`): per root the roll-up marker,
the MERGE, the roll-ups, then the watermark, as a poll writes them."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import queue
import threading
import time
from typing import Any, Iterator

import databento as db
import databento_dbn as dbn
import pyarrow as pa
import pyarrow.compute as pc

from cbi.config import Settings
from cbi.feeds import rollups
from cbi.feeds.base import Request, SourceBase, get_watermark, run_feed
from cbi.feeds.databento.client import FeedError, api_key, available_end, check_endpoints, historical, source_of
from cbi.feeds.databento.dbn import records_array, to_arrow
from cbi.feeds.databento.source import FEED, TABLE, poll_root, quarantine
from cbi.feeds.validate import BarError, Limits, bar_limits, split_bars
from cbi.secrets import redact
from cbi.transform import market
from cbi.warehouse.base import MergeResult, Warehouse

log = logging.getLogger(__name__)


class LiveBuffer:
    """Records from the Live callback thread, flushed in small batches by the stream loop.
    Each instrument's root is the subscription's: a mapping names the parent symbol it
    came from (`ZL.FUT`), and `subscribed` says which root that parent is."""

    def __init__(self, roots: list[str], source: str = "databento",
                 limits: Limits | None = None) -> None:
        self.limits = limits
        self.bars: list[Any] = []
        self.symbols: dict[int, tuple[str, str]] = {}
        self.subscribed = {f"{root}.FUT": root for root in roots}
        self.source = source
        #: root -> the earliest quarantined minute: the watermark stays there, so the next
        #: Historical backfill (every reconnect, every poll) fetches that minute again.
        self.held: dict[str, dt.datetime] = {}

    def add(self, record: Any) -> None:
        if isinstance(record, dbn.OHLCVMsg):
            self.bars.append(record)
        elif isinstance(record, dbn.SymbolMappingMsg):
            root = self.subscribed.get(record.stype_in_symbol)
            if root is None:
                log.warning("databento live: mapping for %r, which was not subscribed; ignored",
                            record.stype_in_symbol)
                return
            self.symbols[record.instrument_id] = (record.stype_out_symbol, root)
        elif isinstance(record, dbn.ErrorMsg):
            log.error("databento live gateway error: %s", redact(record.err))

    def flush(self, wh: Warehouse) -> int:
        """Write the buffered bars (bad ones quarantined) through `run_feed`: the rows written."""
        if not self.bars:
            return 0
        records, self.bars = records_array(self.bars), []
        rows = to_arrow(records, self.symbols, self.source)
        good, bad, reasons = split_bars(rows, limits=self.limits)
        if bad.num_rows:
            quarantine(wh, bad, reasons)
            self._hold(bad)
        return run_feed(wh, LiveSource(good, self.held), None)["rows_written"]

    def _hold(self, bad: pa.Table) -> None:
        for row in bad.select(["root", "ts_event"]).to_pylist():
            if row["root"] and row["ts_event"]:
                self.held[row["root"]] = min(row["ts_event"], self.held.get(row["root"], row["ts_event"]))


class LiveSource(SourceBase):
    """One flush on the feed seam: a request per root of the batch, whose rows are the ones
    already received; around the MERGE the same roll-up marker and roll-ups as a poll's."""

    feed, table = FEED, TABLE
    secret: str | None = "DATABENTO_API_KEY"
    log_level = logging.DEBUG  # a line per root every flush (1 s) would flood `cbi serve`'s log

    def __init__(self, bars: pa.Table, held: dict[str, dt.datetime]) -> None:
        self.bars, self.held = bars, held
        self.span: tuple[dt.date, dt.date] | None = None  # trading dates of the current batch

    def plan(self, wh: Warehouse, settings: Any, **_: Any) -> Iterator[Request]:
        roots = dict.fromkeys(r for r in self.bars.column("root").to_pylist() if r is not None)
        for root in roots:  # in the order received
            part = self.bars.filter(pc.equal(self.bars.column("root"), root))
            extent = pc.min_max(part.column("ts_event"))
            yield Request(root, extent["min"].as_py(), extent["max"].as_py(), {"rows": part})

    def fetch(self, request: Request) -> pa.Table:
        return request.params["rows"]  # received already: nothing to ask for

    def normalize(self, request: Request, raw: pa.Table) -> pa.Table:
        rows = market.stamp_trading_dates(raw)
        extent = pc.min_max(rows.column("trading_date"))
        self.span = (extent["min"].as_py(), extent["max"].as_py())
        return rows

    def before_merge(self, wh: Warehouse, request: Request, rows: pa.Table) -> None:
        assert self.span is not None
        rollups.mark(wh, request.cursor_key, *self.span)  # a kill past here: finish_pending

    def after_merge(self, wh: Warehouse, request: Request, rows: pa.Table,
                    result: MergeResult) -> int:
        assert self.span is not None
        written = rollups.roll_up(wh, request.cursor_key, *self.span)
        rollups.clear(wh, request.cursor_key, *self.span)
        return written

    def watermark(self, request: Request, rows: pa.Table) -> dt.datetime:
        """The newest minute (it may still get bars of other contracts: re-polled, never
        skipped), or the earliest quarantined one before it."""
        newest = request.end
        assert isinstance(newest, dt.datetime)
        return min(newest, self.held.get(request.cursor_key, newest))

    def details(self, request: Request, rows: pa.Table) -> dict[str, Any]:
        return {"schema": "ohlcv-1m", "via": "live"}


def run_live(wh: Warehouse, settings: Settings, stop: threading.Event) -> None:
    """Stream until `stop` is set; reconnect with backoff, backfilling the gap each time."""
    check_endpoints(settings, live=True)
    backoff = settings.databento_retry_wait_s
    while not stop.is_set():
        try:
            resume = _backfill_gap(wh, settings)
            _stream(wh, settings, resume, stop)
            backoff = settings.databento_retry_wait_s
        except Exception as exc:  # noqa: BLE001 - the stream must outlive any one failure
            log.warning("databento live: %s; reconnecting in %.1fs", redact(str(exc)), backoff)
        if not stop.is_set():
            stop.wait(backoff)
            backoff = min(backoff * 2, 60.0)


def _backfill_gap(wh: Warehouse, settings: Settings) -> dt.datetime:
    client = historical(settings)
    end = available_end(client, settings)
    limits = bar_limits(settings)
    for root in settings.roots:
        if get_watermark(wh, FEED, root) is not None:
            try:
                poll_root(wh, client, settings, root, end, limits=limits)
            except BarError as exc:  # quarantined; the other roots go on
                log.error("databento %s: %s", root, redact(str(exc)))
    return end


def _stream(wh: Warehouse, settings: Settings, resume: dt.datetime, stop: threading.Event) -> None:
    host, _, port = (settings.databento_live_gateway or "").partition(":")
    options: dict[str, Any] = {"key": api_key(settings),
                               "heartbeat_interval_s": 5}
    if host:
        options.update(gateway=host, port=int(port or 13000))
    client = db.Live(**options)
    inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
    client.add_callback(inbox.put)
    client.subscribe(dataset=settings.databento_dataset, schema="ohlcv-1m", stype_in="parent",
                     symbols=[f"{r}.FUT" for r in settings.roots],
                     start=resume)  # the Historical end: minutes ago, within Live's replay day
    client.start()
    buffer = LiveBuffer(settings.roots, source_of(settings), bar_limits(settings))
    last_flush = time.monotonic()
    try:
        while not stop.is_set():
            with contextlib.suppress(queue.Empty):
                buffer.add(inbox.get(timeout=0.05))
                while not inbox.empty():
                    buffer.add(inbox.get_nowait())
            if time.monotonic() - last_flush >= settings.databento_live_flush_s:
                buffer.flush(wh)
                last_flush = time.monotonic()
            if not client.is_connected() and inbox.empty():
                raise FeedError("live connection lost")
    finally:
        with contextlib.suppress(queue.Empty):
            while True:
                buffer.add(inbox.get_nowait())
        buffer.flush(wh)
        with contextlib.suppress(Exception):
            client.terminate()
