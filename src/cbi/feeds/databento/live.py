"""The Databento Live stream: ohlcv-1m from the Live gateway. On every (re)connect it first
backfills the gap from Historical (`poll_root`, through the feed seam), then subscribes with
`start` = the Historical end, so nothing is missed between the two."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import queue
import threading
import time
from typing import Any

import databento as db
import databento_dbn as dbn
import pyarrow as pa
import pyarrow.compute as pc

from cbi.config import Settings
from cbi.feeds.base import get_watermark, set_watermark
from cbi.feeds.databento.client import FeedError, api_key, available_end, check_endpoints, historical, source_of
from cbi.feeds.databento.dbn import records_array, to_arrow
from cbi.feeds.databento.source import FEED, apply_bars, poll_root, quarantine
from cbi.feeds.validate import BarError, Limits, bar_limits, split_bars
from cbi.secrets import redact
from cbi.warehouse.base import Warehouse

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
        if not self.bars:
            return 0
        records, self.bars = records_array(self.bars), []
        rows = to_arrow(records, self.symbols, self.source)
        good, bad, reasons = split_bars(rows, limits=self.limits)
        if bad.num_rows:
            quarantine(wh, bad, reasons)
            self._hold(bad)
        written = 0
        for root in set(good.column("root").to_pylist()) - {None}:
            part = good.filter(pc.equal(good.column("root"), root))
            written += apply_bars(wh, root, part, "ohlcv-1m")
            newest = pc.max(part.column("ts_event")).as_py()
            # the newest minute may still get bars of other contracts: re-poll it, never skip it
            mark = min(newest, self.held.get(root, newest))
            set_watermark(wh, FEED, root, mark, {"schema": "ohlcv-1m", "via": "live"})
        return written

    def _hold(self, bad: pa.Table) -> None:
        for row in bad.select(["root", "ts_event"]).to_pylist():
            if row["root"] and row["ts_event"]:
                self.held[row["root"]] = min(row["ts_event"], self.held.get(row["root"], row["ts_event"]))



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
