"""Databento GLBX.MDP3 bars: Historical polling and backfill, and the Live stream.

- `poll_job` polls every configured root (parent symbology `ROOT.FUT`: every contract month
  and calendar spread) from its watermark in ops.feed_cursors to the dataset's available
  end. Old history comes as ohlcv-1h bars rolled up to daily bars (two years of every
  1-minute bar is tens of millions of records); the last `databento_minute_days` come as
  ohlcv-1m, a day per request. After each MERGE: daily bars and the continuous series for
  the dates touched, then the watermark.
- `run_live` streams ohlcv-1m from the Live gateway; on every (re)connect it first backfills
  the gap from Historical, then subscribes with `start` = the Historical end, so nothing is
  missed between the two.

Databento quirks answered here: `Historical(gateway=...)` rewrites http:// to https://
(`_plain_http`); the client never retries get_range (`_call` does, with tenacity); prices
are int64 x 1e-9; the last minutes may be unavailable (422 data_end_after_available_end).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import queue
import threading
import time
from typing import Any, Callable, Iterator

import databento as db
import databento_dbn as dbn
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import requests
import zstandard
from tenacity import Retrying, retry_if_exception, stop_after_attempt

from cbi import calendar
from cbi.feeds import databento_cost
from cbi.feeds.dbn import OHLCV_DTYPE
from cbi.feeds.base import get_watermark, set_watermark
from cbi.feeds import rollups
from cbi.feeds.validate import (_CONTRACT, BarError, Limits, bar_limits, collapse_duplicates,
                                root_of, split_bars)
from cbi.secrets import feed_key, redact, sandbox_mode
from cbi.transform import market
from cbi.warehouse import watermarks
from cbi.warehouse.base import Warehouse

log = logging.getLogger(__name__)
FEED = "databento"
TABLE = "market_data.databento_futures_ohlcv_1m"
SETTLEMENTS = "market_data.databento_settlements"
UNDEF_PRICE = 2**63 - 1  # DBN's undefined price
UNDEF_TS = 2**64 - 1  # DBN's undefined timestamp
QUARANTINE = "ops.quarantined_records"
UTC = dt.timezone.utc
OHLCV_RTYPES = (0x20, 0x21, 0x22, 0x23)
HOURLY_CHUNK_DAYS = 120


class FeedError(RuntimeError):
    """A Databento request failed for good; the message is redacted and names the request."""


# ---- client ---------------------------------------------------------------------------------
def api_key(settings: Any) -> str:
    """The key to send: the stand-in's fake key in sandbox mode, else the stored one."""
    key = feed_key(settings, "DATABENTO_API_KEY")
    if not key:
        raise FeedError("no Databento API key: set DATABENTO_API_KEY (keychain or environment), "
                        "or run with sandbox = true")
    return key


def historical(settings: Any) -> db.Historical:
    """The official client; a plain-http gateway (the sandbox) is kept plain."""
    gateway = settings.databento_gateway
    client = db.Historical(api_key(settings), gateway=gateway) if gateway else db.Historical(api_key(settings))
    if gateway and gateway.startswith("http://"):
        _plain_http(client, gateway.rstrip("/"))
    return client


def _plain_http(client: db.Historical, gateway: str) -> None:
    # databento's validate_gateway forces https; each endpoint group keeps its own base URL.
    rewritten = client.gateway
    for api in (client.batch, client.metadata, client.symbology, client.timeseries):
        api._base_url = api._base_url.replace(rewritten, gateway, 1)
        api._gateway = gateway
    client._gateway = gateway


def check_endpoints(settings: Any, live: bool = False) -> None:
    """In sandbox mode the gateways must name stand-ins (a fake key never goes to Databento):
    `cbi.sandbox.session` starts them for the CLI, `cbi serve`, `cbi demo` and `cbi run`."""
    if not sandbox_mode(settings):
        return
    for name in ("databento_gateway",) + (("databento_live_gateway",) if live else ()):
        if not getattr(settings, name):
            raise FeedError(f"sandbox = true but {name} is unset (Databento's own): run it "
                            "through `cbi` (which starts the sandbox) or point it at a stand-in")


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, db.BentoClientError):
        return exc.http_status in (408, 429)
    return isinstance(exc, (db.BentoServerError, requests.RequestException, db.BentoError))


def _wait(settings: Any) -> Callable[[Any], float]:
    def wait(state: Any) -> float:
        exc = state.outcome.exception()
        if isinstance(exc, db.BentoClientError) and exc.http_status == 429:
            return float((exc.headers or {}).get("Retry-After") or settings.databento_retry_wait_s)
        return settings.databento_retry_wait_s * 2 ** (state.attempt_number - 1)
    return wait


def _call(settings: Any, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """429 waits for Retry-After; 5xx/timeouts/connection errors back off exponentially;
    other 4xx fail at once with the server's message."""
    retrying = Retrying(stop=stop_after_attempt(settings.databento_max_attempts),
                        wait=_wait(settings), retry=retry_if_exception(_transient), reraise=True)
    try:
        return retrying(fn, *args, **kwargs)
    except db.BentoError as exc:
        tries = f" after {settings.databento_max_attempts} attempts" if _transient(exc) else ""
        raise FeedError(redact(f"databento {what} failed{tries}: {exc}")) from None
    except requests.RequestException as exc:
        raise FeedError(redact(f"databento {what} failed after "
                               f"{settings.databento_max_attempts} attempts: {exc}")) from None


def available_end(client: db.Historical, settings: Any, schema: str = "ohlcv-1m") -> dt.datetime:
    answer = _call(settings, "metadata.get_dataset_range",
                   client.metadata.get_dataset_range, settings.databento_dataset)
    end = (answer.get("schema") or {}).get(schema, {}).get("end") or answer["end"]
    return _utc(end)


def _utc(value: Any) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# ---- decode and normalise -------------------------------------------------------------------
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def decode_dbn(raw: bytes, source: str = "DBN data") -> tuple[dbn.Metadata, np.ndarray]:
    """DBN (optionally zstd) -> (metadata, OHLCV records). Fast path: the records are read
    in place as a numpy view; anything but a pure OHLCV stream goes through the decoder.
    A stream that ends mid-record (or mid-frame), or a corrupt frame, is refused whole."""
    if raw[:4] == ZSTD_MAGIC:  # zstd frame magic; batch files may hold several frames
        raw = unzstd(raw, source)
    if raw[:3] != b"DBN":
        raise BarError(f"{source}: byte 0, field header: not DBN data (rule: a DBN stream starts "
                       "with 'DBN'); refused whole, nothing written")
    header_end = 8 + int.from_bytes(raw[4:8], "little") if len(raw) >= 8 else len(raw) + 1
    if header_end > len(raw):
        raise BarError(f"{source}: byte {len(raw)}, field metadata: the stream ends inside its "
                       "metadata (rule: whole records only); refused whole, nothing written")
    try:
        metadata = dbn.Metadata.decode(raw[:header_end], dbn.VersionUpgradePolicy.UPGRADE_TO_V3)
    except Exception as exc:  # noqa: BLE001 - the decoder's errors are not typed
        raise BarError(f"{source}: byte 8, field metadata: not decodable ({_first_line(exc)}); "
                       "refused whole, nothing written") from None
    body = memoryview(raw)[header_end:]
    if len(body) % OHLCV_DTYPE.itemsize == 0:
        records = np.frombuffer(body, OHLCV_DTYPE)
        if np.all(records["length"] == 14) and np.isin(records["rtype"], OHLCV_RTYPES).all():
            return metadata, records
    _whole_records(body, header_end, source)
    try:
        return metadata, _decode_slow(raw)
    except Exception as exc:  # noqa: BLE001
        raise BarError(f"{source}: field record: not decodable ({_first_line(exc)}); refused "
                       "whole, nothing written") from None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def unzstd(raw: bytes, source: str) -> bytes:
    """Every zstd frame of `raw`, decompressed; a frame cut short or corrupt is refused."""
    return ZstdReader(io.BytesIO(raw), source, chunk=max(len(raw), 1)).read()


class ZstdReader:
    """A file-like reader of every zstd frame of `fh`, decompressed as it is read. A frame
    cut short or corrupt raises BarError naming `source` and the frame (zstandard's own
    `stream_reader` stops silently at a truncated frame: part of a file would pass)."""

    def __init__(self, fh: Any, source: str, chunk: int = 1 << 20) -> None:
        self.fh, self.source, self.chunk = fh, source, chunk
        self.buffer, self.pending, self.frame = bytearray(), b"", 1
        self.decoder = zstandard.ZstdDecompressor().decompressobj()
        self.in_frame = self.done = False

    def _fill(self) -> None:
        data, self.pending = self.pending or self.fh.read(self.chunk), b""
        if not data:
            if self.in_frame:
                raise BarError(f"{self.source}: zstd frame {self.frame}, field data: the stream ends "
                               "mid-frame (rule: whole zstd frames); refused whole, nothing written")
            self.done = True
            return
        try:
            self.buffer += self.decoder.decompress(data)
        except zstandard.ZstdError as exc:
            raise BarError(f"{self.source}: zstd frame {self.frame}, field data: corrupt "
                           f"({_first_line(exc)}; rule: whole zstd frames); refused whole, "
                           "nothing written") from None
        self.in_frame = not self.decoder.eof
        if self.decoder.eof:
            self.pending = self.decoder.unused_data
            self.decoder = zstandard.ZstdDecompressor().decompressobj()
            self.frame += 1

    def read(self, n: int = -1) -> bytes:
        while (n < 0 or len(self.buffer) < n) and not self.done:
            self._fill()
        if n < 0:
            n = len(self.buffer)
        out = bytes(self.buffer[:n])
        del self.buffer[:n]
        return out


def _whole_records(body: memoryview, header_end: int, source: str) -> None:
    """Walk the records by their length byte: the last must end where the stream ends."""
    data, offset, n = bytes(body), 0, 0
    while offset < len(data):
        n += 1
        length = data[offset] * 4
        if length == 0 or offset + length > len(data):
            raise BarError(f"{source}: record {n} (byte {header_end + offset}), field length: the "
                           f"stream ends mid-record ({len(data) - offset} of {length} bytes; rule: "
                           "whole records only); refused whole, nothing written")
        offset += length


def _decode_slow(raw: bytes) -> np.ndarray:
    decoder = dbn.DBNDecoder(upgrade_policy=dbn.VersionUpgradePolicy.UPGRADE_TO_V3)
    decoder.write(raw)
    return records_array([r for r in decoder.decode() if isinstance(r, dbn.OHLCVMsg)])


def records_array(records: list[Any]) -> np.ndarray:
    out = np.zeros(len(records), OHLCV_DTYPE)
    for name in ("instrument_id", "ts_event", "open", "high", "low", "close", "volume"):
        out[name] = [getattr(r, name) for r in records]
    return out


def symbol_map(metadata: dbn.Metadata, default_root: str | None = None) -> dict[int, tuple[str, str]]:
    """instrument_id -> (raw symbol, root) from the metadata's mappings (keyed by raw symbol)."""
    out: dict[int, tuple[str, str]] = {}
    for raw_symbol, intervals in metadata.mappings.items():
        for interval in intervals:
            if interval["symbol"].isdigit():
                out[int(interval["symbol"])] = (raw_symbol, default_root or _root_or_none(raw_symbol))
    return out


def _root_or_none(symbol: str) -> str | None:
    """The root of a mapped symbol; None when it does not parse (validation then names it)."""
    try:
        return root_of(symbol)
    except BarError:
        return None


def is_contract(symbol: str) -> bool:
    """True for one contract month (ZLH5), False for a root alone (a vendor continuous series)."""
    return bool(_CONTRACT.match(symbol.strip().upper().split("-")[0]))


def source_of(settings: Any) -> str:
    """What rows fetched with these settings are: 'sandbox' (simulated) or 'databento'."""
    return "sandbox" if sandbox_mode(settings) else "databento"


def to_arrow(records: np.ndarray, symbols: dict[int, tuple[str, str]], source: str = "databento") -> pa.Table:
    """OHLCV records -> rows of databento_futures_ohlcv_1m (UTC, float prices, int volume);
    `source` says where they came from ('databento', 'sandbox' or 'file')."""
    ids = records["instrument_id"].astype(np.int64)
    known = np.array(sorted(symbols), dtype=np.int64)
    pos = np.searchsorted(known, ids)
    pos_ok = pos < len(known)
    found = pos_ok & (known[np.minimum(pos, max(len(known) - 1, 0))] == ids) if len(known) else pos_ok
    index = pa.array(np.where(found, pos, 0), mask=~found)
    names = pa.array([symbols[i][0] for i in known], pa.string())
    roots = pa.array([symbols[i][1] for i in known], pa.string())
    ts = records["ts_event"]
    undefined_ts = ts == np.iinfo(np.uint64).max
    now = dt.datetime.now(UTC)
    columns = {
        "ts_event": pa.array((ts // 1000).astype(np.int64), pa.int64(), mask=undefined_ts)
        .cast(pa.timestamp("us", tz="UTC")),
        "root": roots.take(index), "symbol": names.take(index),
        "instrument_id": pa.array(ids),
    }
    for name in ("open", "high", "low", "close"):
        raw = records[name]
        columns[name] = pa.array(np.where(raw == np.iinfo(np.int64).max, np.nan, raw * 1e-9))
    columns["volume"] = pa.array(records["volume"].astype(np.int64))
    columns["source"] = pa.array([source] * len(records), pa.string())
    columns["ingest_timestamp"] = pa.array(np.full(len(records), np.datetime64(now.replace(tzinfo=None), "us")),
                                           pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC"))
    return pa.table(columns)


# ---- polling ------------------------------------------------------------------------------
def _fetch(client: db.Historical, settings: Any, root: str, schema: str,
           start: dt.datetime, end: dt.datetime) -> tuple[bytes | None, str, dt.datetime]:
    """The raw DBN of one request (None when nothing is available yet), its name, and the end
    it really covers (the available end may have moved back under us: the request is capped)."""
    what = f"get_range {root}.FUT {schema} [{start.isoformat()}, {end.isoformat()})"
    try:
        store = _call(settings, what, client.timeseries.get_range, dataset=settings.databento_dataset,
                      symbols=[f"{root}.FUT"], schema=schema, stype_in="parent", start=start, end=end)
    except FeedError as exc:
        if "data_end_after_available_end" not in str(exc):
            raise
        capped = available_end(client, settings)  # the end moved back under us: ask again
        if capped <= start:
            return None, what, start
        return _fetch(client, settings, root, schema, start, min(end, capped))
    return store.reader.read(), what, end


class RecordsQuarantined(BarError):
    """A polled batch held records that failed validation: they are quarantined, the batch is
    not applied, and the root's watermark stays before it."""

    exit_code = 1


def _get_range(client: Any, settings: Any, root: str, schema: str, start: dt.datetime,
               end: dt.datetime, wh: Warehouse | None = None,
               limits: Limits | None = None) -> tuple[pa.Table, dt.datetime]:
    """One request, decoded and validated, and the end it covers. A bad record quarantines
    (with `wh`) and refuses the whole batch; a stream cut short is refused whole."""
    raw, what, covered = _fetch(client, settings, root, schema, start, end)
    if raw is None:
        return to_arrow(np.zeros(0, OHLCV_DTYPE), {}, source_of(settings)), covered
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
    return good, covered


def _describe(bad: pa.Table) -> str:
    row = bad.slice(0, 1).select(["ts_event", "symbol", "instrument_id"]).to_pylist()[0]
    ts = row["ts_event"].isoformat() if row["ts_event"] else "no timestamp"
    return f"{row['symbol'] or 'instrument ' + str(row['instrument_id'])} at {ts}"


def get_settlements(client: db.Historical, settings: Any, root: str, start: dt.datetime,
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


def settlement_rows(stats: list[Any], symbols: dict[int, tuple[str, str]], root: str,
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


BACKFILL = "databento-backfill"


def poll_job(wh: Warehouse, settings: Any, **options: Any) -> dict[str, Any]:
    """Poll every configured root from its watermark to the available end (see module doc).
    Options: start, end (datetimes or ISO strings), roots, progress (a callable(str)).

    A backfill (`start` given) is remembered per root in ops.feed_cursors (feed
    `databento-backfill`) before anything is fetched, its progress moved after each commit,
    and dropped when the root has reached its end: a run without `start` first finishes every
    pending backfill, so a killed backfill resumed with `--end` alone loses nothing.
    One root's bad records are quarantined and that root stops (its watermark stays before
    the batch); the other roots proceed, `errors` (root -> message) says what failed, and an
    alert (job_failed, subject databento:ROOT) stays open until that root next succeeds."""
    check_endpoints(settings)
    finished = rollups.finish_pending(wh)
    client = historical(settings)
    end = available_end(client, settings)
    if options.get("end"):
        end = min(end, _utc(options["end"]))
    roots = [check_root_name(r) for r in (options.get("roots") or settings.roots)]
    start = _utc(options["start"]) if options.get("start") else None
    if start is not None:  # a backfill: quoted and capped before anything is fetched
        quoted = databento_cost.quote(client, settings, roots, start, end, _call)
        said = databento_cost.check(quoted, settings, roots, start, end)
        log.info("%s", said)
        if options.get("progress"):
            options["progress"](said)
        for root in roots:  # remembered before any fetch: a kill cannot lose the request
            remember_backfill(wh, root, start, end)
    limits = bar_limits(settings)
    totals: dict[str, Any] = {"rows_read": 0, "rows_written": 0, "requests": 0, "roots": {},
                              "errors": {}, "rollups_finished": finished}
    for root in roots:
        try:
            counts = poll_root(wh, client, settings, root, end, None, options.get("progress"),
                               limits=limits)
        except BarError as exc:  # isolation: this root stops, the others proceed
            log.error("databento %s: %s", root, redact(str(exc)))
            counts = {"rows_read": 0, "rows_written": 0, "requests": 0,
                      **getattr(exc, "counts", {}), "error": redact(str(exc))}
            totals["errors"][root] = counts["error"]
            _root_alert(wh, settings, root, counts["error"])
        else:
            _root_alert(wh, settings, root, None)
        totals["roots"][root] = counts
        for key in ("rows_read", "rows_written", "requests"):
            totals[key] += counts[key]
    totals["simulated"] = sandbox_mode(settings)
    return totals


def _root_alert(wh: Warehouse, settings: Any, root: str, error: str | None) -> None:
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


def poll_root(wh: Warehouse, client: db.Historical, settings: Any, root: str, end: dt.datetime,
              start: Any = None, progress: Callable[[str], None] | None = None,
              limits: Limits | None = None) -> dict[str, int]:
    """One root from its pending backfill's progress (or `start`, or its watermark) to `end`.
    Each chunk's watermark (and backfill progress) moves only after its MERGEs commit, and
    only to the end the chunk really covered."""
    if start is not None:
        remember_backfill(wh, root, _utc(start), end)
    watermark = get_watermark(wh, FEED, root)
    backfill = backfills(wh).get(root)
    minute_from = calendar.session_open(root, calendar.next_trading_date(
        root, calendar.trading_date_of(root, end) - dt.timedelta(days=settings.databento_minute_days)))
    if backfill is not None:
        begin = _utc(backfill["progress"] or backfill["start"])
    else:
        begin = _utc(watermark) if watermark else minute_from
    counts = {"rows_read": 0, "rows_written": 0, "requests": 0}
    for chunk_start, chunk_end, schema in plan(root, begin, end, minute_from):
        if progress:
            progress(f"{root} {schema} {chunk_start:%Y-%m-%d %H:%M} -> {chunk_end:%Y-%m-%d %H:%M}")
        try:
            rows, covered = _get_range(client, settings, root, schema, chunk_start, chunk_end,
                                       wh=wh, limits=limits)
        except BarError as exc:
            exc.counts = dict(counts)  # type: ignore[attr-defined]
            raise
        counts["requests"] += 1
        counts["rows_read"] += rows.num_rows
        counts["rows_written"] += apply_bars(wh, root, rows, schema)
        if settings.databento_settlements and covered > chunk_start:
            settled = get_settlements(client, settings, root, chunk_start, covered)
            counts["requests"] += 1
            counts["rows_written"] += apply_settlements(wh, root, settled)
        # after the MERGEs, and never past what was covered; never back before a later mark
        if watermark is None or covered > _utc(watermark):
            set_watermark(wh, FEED, root, covered, {"schema": schema})
            watermark = covered
        if backfill is not None:
            remember_backfill(wh, root, backfill["start"], backfill["end"], covered)
        if covered < chunk_end:  # the available end moved back: the rest waits for next time
            return counts
    if backfill is not None and end >= backfill["end"]:  # the whole request is committed
        _forget_backfill(wh, root)
    return counts


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


def apply_bars(wh: Warehouse, root: str, rows: pa.Table, schema: str) -> int:
    """MERGE one validated batch, then rebuild what depends on it (daily bars, the series)."""
    if rows.num_rows == 0:
        return 0
    if schema == "ohlcv-1h":  # straight to daily bars: hours roll up exactly by trading date
        daily = market.daily_from_bars(rows)
        extent = pc.min_max(daily.column("date"))
        first, last = extent["min"].as_py(), extent["max"].as_py()
        with rollups.rolling_up(wh, root, first, last, minutes=False):
            result = wh.merge(market.DAILY, daily)
            written = result.inserted + result.updated + market.update_continuous(wh, root, first)
        return written
    stamped = market.stamp_trading_dates(rows)
    extent = pc.min_max(stamped.column("trading_date"))
    first, last = extent["min"].as_py(), extent["max"].as_py()
    with rollups.rolling_up(wh, root, first, last):  # a kill in here: the next command finishes
        result = wh.merge(TABLE, stamped)
        refreshed = rollups.roll_up(wh, root, first, last)
    return result.inserted + result.updated + refreshed


# ---- live ---------------------------------------------------------------------------------
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


def run_live(wh: Warehouse, settings: Any, stop: threading.Event) -> None:
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


def _backfill_gap(wh: Warehouse, settings: Any) -> dt.datetime:
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


def _stream(wh: Warehouse, settings: Any, resume: dt.datetime, stop: threading.Event) -> None:
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
