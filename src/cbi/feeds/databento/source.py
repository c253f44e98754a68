"""Databento polling on the feed seam: `DatabentoSource` plans one root's chunks from its
watermark (or its pending backfill's progress) to the available end, fetches and validates
each, and `cbi.feeds.base.run_feed` merges it. Old history comes as ohlcv-1h bars rolled up to
daily bars (merged into market.DAILY); the last `databento_minute_days` come as ohlcv-1m, a
day per request. Before each MERGE the roll-up marker (`cbi.feeds.rollups`); after it the
daily bars and the continuous series of the dates touched, and the settlements; then the
watermark, never past the end the chunk really covered.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping

import databento as db
import databento_dbn as dbn
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cbi import calendar
from cbi.config import Settings
from cbi.feeds import rollups
from cbi.feeds.base import Request, SourceBase, get_watermark, run_feed, set_watermark
from cbi.feeds.databento.client import UTC, _fetch, _utc, source_of
from cbi.feeds.databento.dbn import (OHLCV_DTYPE, UNDEF_PRICE, UNDEF_TS, ZSTD_MAGIC, decode_dbn,
                                     symbol_map, to_arrow, unzstd)
from cbi.feeds.validate import BarError, Limits, collapse_duplicates, split_bars
from cbi.transform import market
from cbi.warehouse import watermarks
from cbi.warehouse.base import MergeResult, Warehouse

log = logging.getLogger(__name__)
FEED = "databento"
TABLE = "market_data.databento_futures_ohlcv_1m"
SETTLEMENTS = "market_data.databento_settlements"
QUARANTINE = "ops.quarantined_records"
BACKFILL = "databento-backfill"
HOURLY_CHUNK_DAYS = 120


class RecordsQuarantined(BarError):
    """A polled batch held records that failed validation: they are quarantined, the batch is
    not applied, and the root's watermark stays before it."""

    exit_code = 1


def validated(raw: bytes | None, what: str, settings: Settings, root: str, start: dt.datetime,
              covered: dt.datetime, wh: Warehouse | None = None,
              limits: Limits | None = None) -> pa.Table:
    """One answer (`_fetch`), decoded and validated. A bad record quarantines (with `wh`) and
    refuses the whole batch; a stream cut short is refused whole."""
    if raw is None:
        return to_arrow(np.zeros(0, OHLCV_DTYPE), {}, source_of(settings))
    source = f"databento {what}"
    metadata, records = decode_dbn(raw, source)
    rows = to_arrow(records, symbol_map(metadata, root), source_of(settings))
    rows = collapse_duplicates(rows, ["ts_event", "symbol"], source, row_label="record")
    good, bad, reasons = split_bars(rows, start=start, end=covered, limits=limits)
    if bad.num_rows:
        if wh is not None:
            quarantine(wh, bad, reasons, "databento poll")
        first = reasons[0]
        raise RecordsQuarantined(
            f"{source}: {bad.num_rows} record(s) quarantined, first {_describe(bad)}, field "
            f"{first} (batch of {rows.num_rows} not applied; the watermark stays at {start.isoformat()})")
    return good


def _describe(bad: pa.Table) -> str:
    row = bad.slice(0, 1).select(["ts_event", "symbol", "instrument_id"]).to_pylist()[0]
    ts = row["ts_event"].isoformat() if row["ts_event"] else "no timestamp"
    return f"{row['symbol'] or 'instrument ' + str(row['instrument_id'])} at {ts}"


def get_settlements(client: db.Historical, settings: Settings, root: str, start: dt.datetime,
                    end: dt.datetime) -> pa.Table:
    """CME settlement prices published in [start, end), as rows of SETTLEMENTS."""
    raw, what, _ = _fetch(client, settings, root, "statistics", start, end)
    if raw is None:
        return settlement_rows([], {}, root, source_of(settings))
    if raw[:4] == ZSTD_MAGIC:
        raw = unzstd(raw, f"databento {what}")
    decoder = dbn.DBNDecoder(upgrade_policy=dbn.VersionUpgradePolicy.UPGRADE_TO_V3)
    decoder.write(raw)
    decoded = decoder.decode()
    metadata = decoded[0] if decoded and isinstance(decoded[0], dbn.Metadata) else None
    stats = [r for r in decoded if isinstance(r, dbn.StatMsg)
             and r.stat_type == dbn.StatType.SETTLEMENT_PRICE
             and r.update_action == dbn.StatUpdateAction.NEW and r.price != UNDEF_PRICE]
    symbols = symbol_map(metadata, root) if metadata is not None else {}
    return settlement_rows(stats, symbols, root, source_of(settings))


def settlement_rows(stats: list[Any], symbols: Mapping[int, tuple[str, str | None]], root: str,
                    source: str) -> pa.Table:
    """StatMsg settlements -> rows: the trading date is the record's `ts_ref` (CME's trade
    date) or, when undefined, the root's trading date of its publication."""
    known = [s for s in stats if s.instrument_id in symbols and "-" not in symbols[s.instrument_id][0]]
    dates = [dt.datetime.fromtimestamp(s.ts_ref / 1e9, UTC).date() if s.ts_ref != UNDEF_TS
             else calendar.trading_date_of(root, dt.datetime.fromtimestamp(s.ts_event / 1e9, UTC))
             for s in known]
    now = dt.datetime.now(UTC)
    rows = pa.table({
        "date": pa.array(dates, pa.date32()),
        "symbol": pa.array([symbols[s.instrument_id][0] for s in known], pa.string()),
        "root": pa.array([root] * len(known), pa.string()),
        "instrument_id": pa.array([s.instrument_id for s in known], pa.int64()),
        "settlement_price": pa.array([s.price * 1e-9 for s in known], pa.float64()),
        "published_at": pa.array([dt.datetime.fromtimestamp(s.ts_event / 1e9, UTC) for s in known],
                                 pa.timestamp("us", tz="UTC")),
        "source": pa.array([source] * len(known), pa.string()),
        "ingest_timestamp": pa.array([now] * len(known), pa.timestamp("us", tz="UTC")),
    })
    return rows.sort_by([("date", "ascending"), ("symbol", "ascending"), ("published_at", "ascending")])


def apply_settlements(wh: Warehouse, root: str, rows: pa.Table) -> int:
    """MERGE settlements (the latest published per date and contract wins), then close the
    daily bars of those dates at them and rebuild the series from the first."""
    if rows.num_rows == 0:
        return 0
    result = wh.merge(SETTLEMENTS, rows)
    extent = pc.min_max(rows.column("date"))
    first, last = extent["min"].as_py(), extent["max"].as_py()
    settled = market.settle_daily(wh, root, first, last)
    return result.inserted + result.updated + settled + (
        market.update_continuous(wh, root, first) if settled else 0)


def _root_alert(wh: Warehouse, settings: Settings, root: str, error: str | None) -> None:
    """One open alert per failed root (kind job_failed, subject databento:ROOT), so a cycle
    whose job otherwise succeeded still reports the root that did not; closed when the root
    next succeeds."""
    from cbi.ops import alerts

    subject = f"{FEED}:{root}"
    if error is None:
        alerts.resolve_alert(wh, "job_failed", subject)
    else:
        alerts.raise_alert(wh, settings, "job_failed", subject, f"root {root} failed: {error}")


def check_root_name(root: str) -> str:
    from cbi.feeds.validate import check_root

    return check_root(root, "databento roots")


def backfills(wh: Warehouse) -> dict[str, dict[str, Any]]:
    """root -> {"start", "end", "progress"} of every backfill not yet finished."""
    return {row["cursor_key"]: {"start": _utc(row["details"]["start"]),
                                "end": _utc(row["details"]["end"]), "progress": row["watermark"]}
            for row in watermarks.cursors(wh, BACKFILL)}


def remember_backfill(wh: Warehouse, root: str, start: dt.datetime, end: dt.datetime,
                      progress: dt.datetime | None = None) -> None:
    set_watermark(wh, BACKFILL, root, progress or start,
                            {"start": start.isoformat(), "end": end.isoformat()})


def _forget_backfill(wh: Warehouse, root: str) -> None:
    watermarks.forget(wh, BACKFILL, root)



@dataclass(frozen=True)
class Fetched:
    """One raw answer: the DBN (None when nothing is available yet), what was asked, and the
    end it really covers (the available end may have moved back under us)."""

    raw: bytes | None
    what: str
    covered: dt.datetime


class DatabentoSource(SourceBase):
    """The feed seam (`cbi.feeds.base.Source`) for one root a run (`plan(..., root=...)`): the
    job runs `run_feed` per root, so one root's failure leaves the others untouched. `counts`
    (rows read, rows written with roll-ups and settlements, requests) survive a failure: a
    BarError carries them as `exc.counts`."""

    feed = FEED
    table = TABLE
    secret: str | None = "DATABENTO_API_KEY"

    def __init__(self, client: db.Historical, settings: Settings, end: dt.datetime,
                 limits: Limits | None = None,
                 progress: Callable[[str], None] | None = None) -> None:
        self.client, self.settings, self.end = client, settings, end
        self.limits, self.progress = limits, progress
        self.counts = {"rows_read": 0, "rows_written": 0, "requests": 0}
        self.wh: Warehouse | None = None
        self.mark: dt.datetime | None = None  # the root's watermark as it stands
        self.covered: dt.datetime | None = None  # the end the last answer covered
        self.span: tuple[dt.date, dt.date] | None = None  # trading dates of the last batch
        self.read = 0

    def plan(self, wh: Warehouse, settings: Settings, root: str = "", start: Any = None,
             **_: Any) -> Iterator[Request]:
        """The root's chunks from its pending backfill's progress (or `start`, or its
        watermark). Resumed after each chunk's watermark moved: the backfill's progress
        follows it, and a chunk cut short (the available end moved back) ends the plan."""
        self.wh, end = wh, self.end
        if start is not None:
            remember_backfill(wh, root, _utc(start), end)
        watermark = get_watermark(wh, FEED, root)
        self.mark = _utc(watermark) if watermark else None
        backfill = backfills(wh).get(root)
        minute_from = calendar.session_open(root, calendar.next_trading_date(
            root, calendar.trading_date_of(root, end) - dt.timedelta(days=settings.databento_minute_days)))
        if backfill is not None:
            begin = _utc(backfill["progress"] or backfill["start"])
        else:
            begin = self.mark or minute_from
        for chunk_start, chunk_end, schema in plan(root, begin, end, minute_from):
            if self.progress:  # the CLI parses this line for its progress bar: keep its format
                self.progress(f"{root} {schema} {chunk_start:%Y-%m-%d %H:%M} -> "
                              f"{chunk_end:%Y-%m-%d %H:%M}")
            self.covered = None
            yield Request(root, chunk_start, chunk_end, {"schema": schema},
                          table=market.DAILY if schema == "ohlcv-1h" else TABLE)
            covered = self.covered or chunk_start
            if self.mark is None or covered > self.mark:
                self.mark = covered
            if backfill is not None:  # after the chunk's watermark
                remember_backfill(wh, root, backfill["start"], backfill["end"], covered)
            if covered < chunk_end:  # the available end moved back: the rest waits for next time
                return
        if backfill is not None and end >= backfill["end"]:  # the whole request is committed
            _forget_backfill(wh, root)

    def fetch(self, request: Request) -> Fetched:
        assert isinstance(request.start, dt.datetime) and isinstance(request.end, dt.datetime)
        raw, what, covered = _fetch(self.client, self.settings, request.cursor_key,
                                    request.params["schema"], request.start, request.end)
        self.covered = covered
        return Fetched(raw, what, covered)

    def normalize(self, request: Request, raw: Fetched) -> pa.Table:
        """Validated bars; hourly ones as the daily bars they roll up to, minutes stamped
        with their trading date."""
        assert isinstance(request.start, dt.datetime)
        try:
            rows = validated(raw.raw, raw.what, self.settings, request.cursor_key, request.start,
                             raw.covered, self.wh, self.limits)
        except BarError as exc:
            exc.counts = dict(self.counts)  # type: ignore[attr-defined]
            raise
        self.counts["requests"] += 1
        self.counts["rows_read"] += rows.num_rows
        self.read, self.span = rows.num_rows, None
        if rows.num_rows == 0:
            return rows
        if request.params["schema"] == "ohlcv-1h":  # hours roll up exactly by trading date
            rows, column = market.daily_from_bars(rows), "date"
        else:
            rows, column = market.stamp_trading_dates(rows), "trading_date"
        extent = pc.min_max(rows.column(column))
        self.span = (extent["min"].as_py(), extent["max"].as_py())
        return rows

    def records(self, raw: Any, rows: pa.Table) -> int:
        return self.read

    def before_merge(self, wh: Warehouse, request: Request, rows: pa.Table) -> None:
        """The roll-up marker: a kill between here and `after_merge`'s roll-up is finished by
        the next feed command (`rollups.finish_pending`)."""
        if self.span is not None:
            rollups.mark(wh, request.cursor_key, *self.span,
                         minutes=request.params["schema"] == "ohlcv-1m")

    def after_merge(self, wh: Warehouse, request: Request, rows: pa.Table,
                    result: MergeResult) -> int:
        """Daily bars and the continuous series of the dates touched (then the marker goes),
        and the settlements published over the chunk; the rows they wrote."""
        root, extra = request.cursor_key, 0
        if self.span is not None:
            first, last = self.span
            extra += rollups.roll_up(wh, root, first, last,
                                     minutes=request.params["schema"] == "ohlcv-1m")
            rollups.clear(wh, root, first, last)
        covered = self.covered
        assert isinstance(request.start, dt.datetime) and covered is not None
        if self.settings.databento_settlements and covered > request.start:
            settled = get_settlements(self.client, self.settings, root, request.start, covered)
            self.counts["requests"] += 1
            extra += apply_settlements(wh, root, settled)
        self.counts["rows_written"] += result.inserted + result.updated + extra
        return extra

    def watermark(self, request: Request, rows: pa.Table) -> dt.datetime | None:
        """The end really covered; never back before a later mark."""
        covered = self.covered
        return covered if covered is not None and (self.mark is None or covered > self.mark) else None

    def details(self, request: Request, rows: pa.Table) -> dict[str, Any]:
        return {"schema": request.params["schema"]}


def poll_root(wh: Warehouse, client: db.Historical, settings: Settings, root: str,
              end: dt.datetime, start: Any = None, progress: Callable[[str], None] | None = None,
              limits: Limits | None = None) -> dict[str, int]:
    """One root from its pending backfill's progress (or `start`, or its watermark) to `end`,
    through `run_feed`. Each chunk's watermark (and backfill progress) moves only after its
    MERGEs commit, and only to the end the chunk really covered."""
    source = DatabentoSource(client, settings, end, limits, progress)
    run_feed(wh, source, settings, root=root, start=start)
    return source.counts


def plan(root: str, begin: dt.datetime, end: dt.datetime,
         minute_from: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime, str]]:
    """Hourly chunks (whole sessions) before `minute_from`, then 1-minute chunks of a day."""
    if begin < minute_from:
        opens = calendar.session_open(root, calendar.trading_date_of(root, begin))
        cursor = min(opens, begin)
        while cursor < min(minute_from, end):
            later = calendar.next_trading_date(
                root, calendar.trading_date_of(root, cursor) + dt.timedelta(days=HOURLY_CHUNK_DAYS))
            nxt = min(calendar.session_open(root, later), minute_from, end)
            yield cursor, nxt, "ohlcv-1h"
            cursor = nxt
        begin = minute_from
    while begin < end:
        nxt = min(begin + dt.timedelta(days=1), end)
        yield begin, nxt, "ohlcv-1m"
        begin = nxt


def quarantine(wh: Warehouse, bad: pa.Table, reasons: list[str], via: str = "databento live") -> None:
    now = dt.datetime.now(UTC)
    rows = bad.drop_columns(["ingest_timestamp"]).to_pylist()
    ids = [f"databento:{r['instrument_id']}:{r['ts_event'].isoformat() if r['ts_event'] else 'none'}"
           for r in rows]
    wh.merge(QUARANTINE, pa.table({
        "record_id": ids, "feed": [FEED] * len(rows),
        "received_at": pa.array([now] * len(rows), pa.timestamp("us", tz="UTC")),
        "reason": reasons, "record": [repr({k: str(v) for k, v in r.items()}) for r in rows],
    }))
    log.warning("%s: %d record(s) quarantined: %s", via, len(rows), reasons[:3])

