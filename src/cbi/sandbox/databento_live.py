"""A local stand-in for Databento's Live TCP gateway, driven by the real `databento.Live`.

The wire protocol (the server side of databento/live/protocol.py and gateway.py):
1. gateway -> `lsg_version=...\\n`, then `cram=<challenge>\\n`
2. client  -> `auth=<sha256(challenge|key)>-<last 5 of key>|dataset=...|...\\n`
3. gateway -> `success=1|session_id=...\\n` (or `success=0|error=...\\n` and close)
4. client  -> subscription lines (`schema=...|stype_in=...|symbols=...|start=...`), then
   `start_session=0\\n`
5. gateway -> DBN: metadata, then a SymbolMappingMsg per instrument before its first bar,
   the bars (replayed from `start` when given, then each minute as it completes), and
   heartbeat SystemMsgs when idle.

`clock` (e.g. `databento_data.SimClock(start, speed)`, shared with the HTTP stand-in) lets
tests and benchmarks stream an open market at any speed. Faults: `drops` connections closed after
`drop_after_records` records; `malformed` sends one bar with high < low.
"""

from __future__ import annotations

import hashlib
import secrets
import socket
import socketserver
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import databento_dbn as dbn

from cbi.sandbox import databento_data as data
from cbi.sandbox.databento_http import DATASET, SANDBOX_API_KEY

MINUTE_NS = data.MINUTE_NS


@dataclass
class LiveState:
    seed: int
    clock: Callable[[], float]
    drops: int = 0
    drop_after_records: int = 50
    malformed: int = 0
    connections: int = 0
    sent: list[tuple[float, int, int]] = field(default_factory=list)  # (wall time, id, ts_event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopped: threading.Event = field(default_factory=threading.Event)

    def now_ns(self) -> int:
        return int(self.clock() * 1e9)


class Session(socketserver.StreamRequestHandler):
    server: "LiveServer"

    def handle(self) -> None:
        state = self.server.state
        with state.lock:
            state.connections += 1
            drop = state.drops > 0
            state.drops -= int(drop)
        try:
            auth = self._authenticate()
            if auth is None:
                return
            subscriptions = self._read_subscriptions()
            self._stream(state, auth, subscriptions, drop)
        except (ConnectionError, OSError):
            return  # the client went away

    def _send_line(self, text: str) -> None:
        self.wfile.write(text.encode() + b"\n")
        self.wfile.flush()

    def _read_fields(self) -> dict[str, str]:
        line = self.rfile.readline().decode().strip()
        if not line:
            raise ConnectionError("client closed")
        return dict(part.partition("=")[::2] for part in line.split("|"))

    def _authenticate(self) -> dict[str, str] | None:
        challenge = secrets.token_hex(16)
        self._send_line("lsg_version=0.0.0-cbi-sandbox")
        self._send_line(f"cram={challenge}")
        request = self._read_fields()
        expected = hashlib.sha256(f"{challenge}|{SANDBOX_API_KEY}".encode()).hexdigest()
        if request.get("auth") != f"{expected}-{SANDBOX_API_KEY[-5:]}":
            self._send_line("success=0|error=Authentication failed.")
            return None
        if request.get("dataset") != DATASET:
            self._send_line(f"success=0|error=Unknown dataset {request.get('dataset')}.")
            return None
        self._send_line(f"success=1|session_id={self.server.state.connections}")
        return request

    def _read_subscriptions(self) -> list[dict[str, str]]:
        subscriptions: list[dict[str, str]] = []
        while True:
            request = self._read_fields()
            if "start_session" in request:
                return subscriptions
            subscriptions.append(request)

    def _stream(self, state: LiveState, auth: dict[str, str], subs: list[dict[str, str]],
                drop: bool) -> None:
        roots = [s.removesuffix(".FUT") for sub in subs for s in sub.get("symbols", "").split(",")]
        roots = [r for r in dict.fromkeys(roots) if r in data.ROOTS]
        starts = [int(s["start"]) for s in subs if s.get("start")]
        now = state.now_ns()
        cursor = min(starts) if starts else now // MINUTE_NS * MINUTE_NS
        meta = dbn.Metadata(dataset=DATASET, start=cursor, stype_in=dbn.SType.PARENT,
                            stype_out=dbn.SType.INSTRUMENT_ID, schema=dbn.Schema.OHLCV_1M,
                            symbols=[f"{r}.FUT" for r in roots])
        self.wfile.write(meta.encode())
        heartbeat_s = float(auth.get("heartbeat_interval_s") or 30)
        mapped: set[int] = set()
        sent, last_send = 0, time.monotonic()
        while not state.stopped.is_set():
            end = state.now_ns() // MINUTE_NS * MINUTE_NS  # bars of complete minutes only
            if end > cursor:
                sent += self._send_bars(state, roots, cursor, end, mapped, drop, sent)
                cursor, last_send = end, time.monotonic()
            elif time.monotonic() - last_send >= heartbeat_s:
                self.wfile.write(bytes(dbn.SystemMsg(ts_event=state.now_ns(), msg="Heartbeat")))
                self.wfile.flush()
                last_send = time.monotonic()
            time.sleep(0.02)

    def _send_bars(self, state: LiveState, roots: list[str], start: int, end: int,
                   mapped: set[int], drop: bool, sent_before: int) -> int:
        bars, symbols = data.bars(state.seed, roots, "ohlcv-1m", start, end)
        if len(bars) and state.malformed > 0:
            state.malformed -= 1
            bars = bars.copy()
            bars["high"][0] = bars["low"][0] - 10_000_000
        by_id = {i: s for s, i in symbols.items()}
        for n, bar in enumerate(bars):
            if drop and sent_before + n >= state.drop_after_records:
                self.connection.shutdown(socket.SHUT_RDWR)
                raise ConnectionError("sandbox fault: dropped connection")
            iid = int(bar["instrument_id"])
            if iid not in mapped:
                self.wfile.write(_mapping(iid, by_id[iid], int(bar["ts_event"])))
                mapped.add(iid)
            self.wfile.write(bar.tobytes())
            state.sent.append((time.time(), iid, int(bar["ts_event"])))
        self.wfile.flush()
        return len(bars)


def _mapping(instrument_id: int, symbol: str, ts: int) -> bytes:
    parent = symbol.split("-")[0][:-2] + ".FUT"
    return bytes(dbn.SymbolMappingMsg(
        publisher_id=data.PUBLISHER_ID, instrument_id=instrument_id, ts_event=ts,
        stype_in=dbn.SType.PARENT, stype_in_symbol=parent,
        stype_out=dbn.SType.RAW_SYMBOL, stype_out_symbol=symbol,
        start_ts=ts, end_ts=ts + 86_400_000_000_000,
    ))


class LiveServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: LiveState):
        super().__init__(address, Session)
        self.state = state
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True)

    @property
    def host(self) -> str:
        return str(self.server_address[0])

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def stop(self) -> None:
        self.state.stopped.set()
        self.shutdown()
        self.server_close()


def start(seed: int = 7, host: str = "127.0.0.1", port: int = 0,
          clock: Callable[[], float] | None = None, **faults: Any) -> LiveServer:
    """Start the Live stand-in in a background thread (`.host`, `.port`, `.stop()`);
    `clock` (seconds since the epoch; default: real time) sets where "now" is."""
    server = LiveServer((host, port), LiveState(seed, clock or time.time, **faults))
    server._thread.start()
    return server
