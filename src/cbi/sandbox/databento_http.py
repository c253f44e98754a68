"""A local stand-in for Databento's Historical HTTP API, driven by the real `databento` client.

Serves `/v0/metadata.get_dataset_range`, `/v0/timeseries.get_range` (zstd DBN, parent
symbology, ohlcv-1m, ohlcv-1h, and statistics with the settlement price of every outright
after each trading date's close), `/v0/metadata.get_cost` and `/v0/symbology.resolve` from `databento_data`, with
HTTP basic auth on the sandbox key. Data ends `lag_minutes` before now, as the real API may
not serve the last minutes; an `end` past it gets 422 `data_end_after_available_end`.

Faults, each a count of get_range requests to afflict (first come first served):
`fail_429` (429 with Retry-After), `fail_500`, `drop` (connection closed mid-body),
`malformed` (one bar with high < low).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, cast
from urllib.parse import parse_qs, urlsplit

import databento_dbn as dbn
import pandas as pd
import zstandard

from cbi.sandbox import databento_data as data
from cbi.sandbox.faults import Faults
from cbi.secrets import SANDBOX_KEYS

#: The fixed fake key the sandbox accepts (Databento keys: "db-" + 29 characters).
SANDBOX_API_KEY = SANDBOX_KEYS["DATABENTO_API_KEY"]  # fake; defined once in cbi.secrets
DATASET = "GLBX.MDP3"
SCHEMAS = ("ohlcv-1m", "ohlcv-1h", "statistics")
#: The sandbox's price of data, per GB (the order of Databento's usage-based CME pricing).
USD_PER_GB = 1.0


@dataclass
class SandboxState:
    seed: int
    lag_minutes: int
    faults: Faults
    clock: Callable[[], float] = time.time
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def available_end_ns(self) -> int:
        now_min = int(self.clock()) // 60 * 60
        return (now_min - 60 * self.lag_minutes) * 1_000_000_000


def _iso(ns: int) -> str:
    return pd.Timestamp(ns, tz="UTC").isoformat().replace("+00:00", "Z")


def _parse_ts(value: str) -> int:
    """Databento accepts ISO 8601 strings or integer UNIX nanoseconds."""
    if value.isdigit():
        return int(value)
    ts = pd.Timestamp(value)
    return (ts if ts.tzinfo else ts.tz_localize("UTC")).value


class ApiError(Exception):
    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers or {}


class Handler(BaseHTTPRequestHandler):
    server: "HistoricalServer"
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        self._dispatch(parse_qs(urlsplit(self.path).query))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._dispatch(parse_qs(self.rfile.read(length).decode()))

    def _dispatch(self, form: dict[str, list[str]]) -> None:
        params = {k: v[-1] for k, v in form.items()}
        route = urlsplit(self.path).path
        routes = {"/v0/metadata.get_dataset_range": self._dataset_range,
                  "/v0/timeseries.get_range": self._get_range,
                  "/v0/symbology.resolve": self._resolve,
                  "/v0/metadata.get_cost": self._cost}
        try:
            self._authenticate()
            if route not in routes:
                raise ApiError(404, f"no such endpoint {route}")
            routes[route](params)
        except ApiError as err:
            self._send(err.status, json.dumps({"detail": err.detail}).encode(),
                       "application/json", err.headers)

    def _authenticate(self) -> None:
        header = self.headers.get("Authorization", "")
        user = base64.b64decode(header[6:]).decode().split(":")[0] if header.startswith("Basic ") else ""
        if user != SANDBOX_API_KEY:
            raise ApiError(401, "Authentication failed.")

    def _send(self, status: int, body: bytes, content_type: str,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _dataset_range(self, params: dict[str, str]) -> None:
        _check_dataset(params)
        start, end = _iso(data.dataset_start_ns()), _iso(self.server.state.available_end_ns())
        body = {"start": start, "end": end,
                "schema": {s: {"start": start, "end": end} for s in SCHEMAS}}
        self._send(200, json.dumps(body).encode(), "application/json")

    def _get_range(self, params: dict[str, str]) -> None:
        state = self.server.state
        with state.lock:
            state.requests.append(params)
            fault = next((f for f in ("fail_429", "fail_500", "drop", "malformed")
                          if state.faults.take(f)), None)
        if fault == "fail_429":
            raise ApiError(429, "Too many requests.",
                           {"Retry-After": state.faults.retry_after_header()})
        if fault == "fail_500":
            raise ApiError(500, "Internal server error (sandbox fault).")
        body = _range_body(params, state, malformed=fault == "malformed")
        if fault == "drop":  # promise the whole body, send half, hang up
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self._send(200, body, "application/octet-stream")

    def _cost(self, params: dict[str, str]) -> None:
        """What the request would cost: its bytes (records x 56, estimated from the
        simulated sessions' minutes) at USD_PER_GB, as Databento prices usage."""
        _check_dataset(params)
        start = _parse_ts(params["start"])
        end = _parse_ts(params.get("end") or str(self.server.state.available_end_ns()))
        schema = params.get("schema")
        per_session = {"ohlcv-1m": 23 * 60 * 4, "ohlcv-1h": 23 * 4, "statistics": 3}.get(schema or "", 0)
        roots = [x.removesuffix(".FUT") for x in params.get("symbols", "").split(",") if x]
        sessions = sum(len(data.trading_dates(r, start, end)) for r in roots if r in data.ROOTS)
        cost = sessions * per_session * data.OHLCV_DTYPE.itemsize / 1e9 * USD_PER_GB
        self._send(200, json.dumps(round(cost, 6)).encode(), "application/json")

    def _resolve(self, params: dict[str, str]) -> None:
        _check_dataset(params)
        start = _parse_ts(params["start_date"])
        end = _parse_ts(params.get("end_date") or str(start + 86_400_000_000_000))
        result: dict[str, list[dict[str, str]]] = {}
        for parent in params.get("symbols", "").split(","):
            root = parent.removesuffix(".FUT")
            _, symbols = data.bars(self.server.state.seed, [root], "ohlcv-1h", start, end)
            result[parent] = [{"d0": params["start_date"][:10], "d1": (params.get("end_date") or "")[:10],
                               "s": str(i)} for i in symbols.values()]
        body = {"result": result, "symbols": list(result), "stype_in": params.get("stype_in"),
                "stype_out": params.get("stype_out"), "start_date": params["start_date"],
                "end_date": params.get("end_date"), "partial": [], "not_found": [],
                "message": "OK", "status": 0}
        self._send(200, json.dumps(body).encode(), "application/json")


def _check_dataset(params: dict[str, str]) -> None:
    if params.get("dataset") != DATASET:
        raise ApiError(422, f"dataset {params.get('dataset')!r} is not available in the sandbox")


def _range_body(params: dict[str, str], state: SandboxState, malformed: bool) -> bytes:
    """The zstd DBN answer to one get_range: metadata with symbol mappings, then bars."""
    _check_dataset(params)
    schema = params.get("schema")
    if schema not in SCHEMAS:
        raise ApiError(422, f"schema {schema!r} not served by the sandbox (use {SCHEMAS})")
    if params.get("stype_in") != "parent":
        raise ApiError(422, "the sandbox serves stype_in=parent only")
    start = _parse_ts(params["start"])
    available = state.available_end_ns()
    end = _parse_ts(params["end"]) if params.get("end") else available
    if end > available:
        raise ApiError(422, f"data_end_after_available_end: the end {_iso(end)} is after the "
                            f"available end {_iso(available)}")
    if start >= end:
        raise ApiError(422, "Invalid time range: start must be before end.")
    roots = [s.removesuffix(".FUT") for s in params.get("symbols", "").split(",")]
    unknown = [r for r in roots if r not in data.ROOTS]
    if unknown:
        raise ApiError(422, f"symbols not found: {unknown}")
    if schema == "statistics":
        return zstandard.ZstdCompressor(level=1).compress(
            _statistics(state.seed, roots, start, end, available))
    bars, symbols = data.bars(state.seed, roots, schema, start, end, now_ns=available)
    if malformed and len(bars):
        bars = bars.copy()
        bars["high"][len(bars) // 2] = bars["low"][len(bars) // 2] - 10_000_000
    return zstandard.ZstdCompressor(level=1).compress(
        metadata(schema, start, end, roots, symbols) + bars.tobytes())


def _statistics(seed: int, roots: list[str], start: int, end: int, available: int) -> bytes:
    records, symbols = data.settlements(seed, roots, start, end, now_ns=available)
    body = b"".join(bytes(dbn.StatMsg(
        publisher_id=data.PUBLISHER_ID, instrument_id=iid, ts_event=ts, ts_recv=ts, ts_ref=ref,
        price=price, quantity=dbn.UNDEF_STAT_QUANTITY, stat_type=dbn.StatType.SETTLEMENT_PRICE,
        sequence=n, update_action=dbn.StatUpdateAction.NEW, stat_flags=1))
        for n, (iid, ts, ref, price) in enumerate(records))
    return metadata("statistics", start, end, roots, symbols) + body


def metadata(schema: str, start: int, end: int, roots: list[str], symbols: dict[str, int]) -> bytes:
    """DBN metadata; the mappings are keyed by raw symbol, as Databento gives them for parents."""
    first = pd.Timestamp(start, tz="UTC").date()
    last = pd.Timestamp(end, tz="UTC").date() + pd.Timedelta(days=1)

    @dataclass
    class Interval:
        start_date: Any
        end_date: Any
        symbol: str

    @dataclass
    class Mapping:
        raw_symbol: str
        intervals: list[Interval]

    # duck-typed like databento_dbn's SymbolMapping (all `encode` reads)
    mappings: list[Any] = [Mapping(s, [Interval(first, last, str(i))])
                           for s, i in sorted(symbols.items())]
    return dbn.Metadata(
        dataset=DATASET, start=start, end=end, stype_in=dbn.SType.PARENT,
        stype_out=dbn.SType.INSTRUMENT_ID, schema=dbn.Schema.from_str(schema),
        symbols=[f"{r}.FUT" for r in roots], mappings=mappings,
    ).encode()


class HistoricalServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], state: SandboxState):
        super().__init__(address, Handler)
        self.state = state
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = cast("tuple[str, int]", self.server_address[:2])  # bound as (host, port)
        return f"http://{host}:{port}"

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self.state.requests

    @property
    def faults(self) -> Faults:
        return self.state.faults

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def start(seed: int = 7, host: str = "127.0.0.1", port: int = 0, lag_minutes: int = 2,
          clock: Callable[[], float] | None = None, **faults: int) -> HistoricalServer:
    """Start the Historical stand-in in a background thread; `.url` is its gateway URL.
    `clock` (seconds since the epoch; default: real time) sets where "now" is."""
    state = SandboxState(seed, lag_minutes, Faults(**faults), clock=clock or time.time)
    server = HistoricalServer((host, port), state)
    server._thread.start()
    return server
