"""A tiny threaded JSON HTTP server for the FRED and NewsAPI stand-ins, with fault injection.

Faults are counts of requests to afflict, first come first served, checked in this order:
`fail_429` (429 with Retry-After: `retry_after_s`), `fail_500`, `malformed` (200 with a body
cut off mid-JSON). The API's own error bodies come from the subclass (`error_body`).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self, cast
from urllib.parse import parse_qs, urlsplit

from cbi.sandbox.faults import Faults  # noqa: F401 - re-exported for the stand-ins


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class JsonServer(ThreadingHTTPServer):
    """Subclasses implement `route(path, params, headers) -> (status, body)` and `error_body`."""

    daemon_threads = True

    def __init__(self, host: str, port: int, faults: Faults) -> None:
        super().__init__((host, port), _Handler)
        self.faults = faults
        self.requests: list[dict[str, Any]] = []  # what was asked, for tests
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = cast("tuple[str, int]", self.server_address[:2])  # bound as (host, port)
        return f"http://{host}:{port}"

    def route(self, path: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, Any]:
        raise NotImplementedError

    def error_body(self, error: ApiError) -> dict[str, Any]:
        raise NotImplementedError

    def answer(self, path: str, params: dict[str, str], headers: dict[str, str]):
        """(status, extra headers, body bytes) for one request, faults first."""
        with self._lock:
            self.requests.append({"path": path, **params})
            fault = next((f for f in ("fail_429", "fail_500", "malformed") if self.faults.take(f)), None)
        if fault == "fail_429":
            body = self.error_body(ApiError(429, "rateLimited", "Too Many Requests. Exceeded Rate Limit"))
            return 429, {"Retry-After": self.faults.retry_after_header()}, json.dumps(body).encode()
        if fault == "fail_500":
            body = self.error_body(ApiError(500, "unexpectedError", "Internal Server Error"))
            return 500, {}, json.dumps(body).encode()
        try:
            status, body = self.route(path, params, headers)
        except ApiError as exc:
            status, body = exc.status, self.error_body(exc)
        raw = json.dumps(body).encode()
        return status, {}, raw[: len(raw) // 2] if fault == "malformed" else raw

    def start_thread(self) -> Self:
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: JsonServer

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        parts = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        status, headers, raw = self.server.answer(parts.path, params, dict(self.headers))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet: URLs hold keys
        pass
