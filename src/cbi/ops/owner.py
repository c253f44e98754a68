"""The warehouse owner: `cbi serve` holds the DuckDB file and runs other commands' jobs.

DuckDB lets one process open the file, and then no other may, not even read-only
(DESIGN.md, "Process model"). So the owner writes an endpoint file beside the database
(`cbi.duckdb.owner.json`: pid, port) and a token in `cbi.duckdb.owner.token` that only the
user can read (0600), and serves a job API on 127.0.0.1. Other `cbi` commands find the
endpoint, send the token, and get the job's log lines streamed back as JSON lines. Without
the token the API answers 401 and runs nothing. BigQuery has no owner: commands run directly.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import queue
import secrets
import threading
from dataclasses import dataclass
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlparse

from cbi.secrets import redact

log = logging.getLogger(__name__)


class OwnerError(RuntimeError):
    pass


@dataclass(frozen=True)
class OwnerFiles:
    endpoint: Path
    token: Path


@dataclass(frozen=True)
class Owner:
    url: str
    token: str
    pid: int


def owner_files(settings) -> OwnerFiles | None:
    """Where an owner of this warehouse announces itself; None when nothing can own it."""
    url = settings.warehouse
    if urlparse(url).scheme != "duckdb":
        return None
    path = url.split("://", 1)[1]
    path = path[1:] if path.startswith("/") else path
    if path in ("", ":memory:"):
        return None
    db = Path(path).resolve()
    return OwnerFiles(db.with_name(db.name + ".owner.json"), db.with_name(db.name + ".owner.token"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def find_owner(settings) -> Owner | None:
    """The running owner of the configured warehouse, or None (a stale file is ignored)."""
    files = owner_files(settings)
    if files is None or not files.endpoint.exists():
        return None
    try:
        info = json.loads(files.endpoint.read_text())
    except (OSError, ValueError):
        return None
    if not _alive(int(info.get("pid", 0))):
        return None
    try:
        token = files.token.read_text().strip()
    except OSError as exc:
        raise OwnerError(f"a cbi serve (pid {info['pid']}) owns the warehouse, but its token "
                         f"{files.token} cannot be read ({exc.strerror}); run as its user") from None
    return Owner(f"http://127.0.0.1:{info['port']}", token, int(info["pid"]))


# ---- client ------------------------------------------------------------------------------------
def submit(owner: Owner, job: str, options: dict[str, Any],
           on_line: Callable[[str], None] = print) -> dict[str, Any]:
    """Run a job in the owner; its log lines go to `on_line`; returns the job's result."""
    import httpx

    headers = {"Authorization": f"Bearer {owner.token}"}
    result: dict[str, Any] | None = None
    with _client().stream("POST", f"{owner.url}/jobs/{job}", json=options, headers=headers,
                          timeout=httpx.Timeout(10, read=None)) as resp:
        if resp.status_code != 200:
            resp.read()
            raise OwnerError(f"the owner refused job {job}: HTTP {resp.status_code} {resp.text}")
        for line in resp.iter_lines():
            if not line.strip():
                continue
            msg = json.loads(line)
            if "log" in msg:
                on_line(msg["log"])
            elif "error" in msg:
                raise OwnerError(msg["error"])
            elif "result" in msg:
                result = msg["result"]
    if result is None:
        raise OwnerError(f"the owner closed the stream before job {job} finished")
    return result


@lru_cache(maxsize=1)
def _client():
    """One client per process: building one loads an SSL context (~50 ms), even for http."""
    import httpx

    return httpx.Client()


def fetch(owner: Owner, what: str) -> Any:
    """A read the owner answers for us (`status`, `cost`): we cannot open the file ourselves."""
    resp = _client().get(f"{owner.url}/{what}", headers={"Authorization": f"Bearer {owner.token}"},
                     timeout=30)
    if resp.status_code != 200:
        raise OwnerError(f"the owner refused {what}: HTTP {resp.status_code}")
    return resp.json()


# ---- server ------------------------------------------------------------------------------------
class _ThreadLogHandler(logging.Handler):
    """Forwards the log records of one thread (the job's) to a queue: the progress stream."""

    def __init__(self, thread_id: int, out: queue.Queue) -> None:
        super().__init__(logging.INFO)
        self.thread_id, self.out = thread_id, out
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread_id:
            self.out.put({"log": redact(self.format(record))})


class OwnerService:
    """The job API of a running owner: run_job(name, options) and reads, behind a token."""

    def __init__(self, settings, run: Callable[[str, dict], dict],
                 reads: dict[str, Callable[[], Any]], port: int = 0, warehouse: Any = None) -> None:
        self.files = owner_files(settings)
        if self.files is None:
            raise OwnerError("only a DuckDB warehouse file has an owner")
        existing = find_owner(settings)
        if existing and existing.pid != os.getpid():
            raise OwnerError(f"a cbi serve (pid {existing.pid}) already owns this warehouse")
        self.run, self.reads, self.warehouse = run, reads, warehouse
        self._inflight: set[threading.Thread] = set()
        self._accepting = True
        self.token = secrets.token_urlsafe(32)
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, name="cbi-job-api",
                                        daemon=True)

    def start(self) -> OwnerService:
        _write_private(self.files.token, self.token)
        self._thread.start()
        tmp = self.files.endpoint.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": os.getpid(), "port": self.port, "host": "127.0.0.1"}))
        tmp.replace(self.files.endpoint)
        log.info("job API on 127.0.0.1:%d (endpoint %s)", self.port, self.files.endpoint)
        return self

    def stop(self, wait: float = 600) -> None:
        """Refuse new jobs, let running ones finish their batch, then close the API."""
        self._accepting = False
        for thread in list(self._inflight):
            thread.join(timeout=wait)
        self.server.shutdown()
        self.server.server_close()
        for path in (self.files.endpoint, self.files.token):
            path.unlink(missing_ok=True)

    def command_stream(self, argv: list[str]):
        """Run a whole `cbi` command here, on the owner's warehouse; stream its output."""
        from cbi.ops.forward import run_command

        return self._stream("command", lambda out: {"exit": run_command(argv, self.warehouse, out)})

    def authorised(self, header: str | None) -> bool:
        given = (header or "").removeprefix("Bearer ").strip()
        return bool(given) and hmac.compare_digest(given, self.token)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # small NDJSON lines: Nagle + delayed ACK cost 40 ms

            def log_message(self, fmt: str, *args: Any) -> None:
                log.debug("job API: " + fmt, *args)

            def do_GET(self) -> None:
                if self.path == "/health":
                    return self._json(200, {"ok": True, "pid": os.getpid()})
                if not service.authorised(self.headers.get("Authorization")):
                    return self._json(401, {"error": "token required"})
                read = service.reads.get(self.path.strip("/"))
                if read is None:
                    return self._json(404, {"error": f"no {self.path}"})
                self._json(200, read())

            def do_POST(self) -> None:
                if not service.authorised(self.headers.get("Authorization")):
                    return self._json(401, {"error": "token required"})
                if not (self.path.startswith("/jobs/") or self.path == "/commands"):
                    return self._json(404, {"error": f"no {self.path}"})
                if not service._accepting:
                    return self._json(503, {"error": "the owner is shutting down"})
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}") if length else {}
                if self.path == "/commands":
                    messages = service.command_stream(body.get("argv") or [])
                else:
                    messages = service.stream(self.path.removeprefix("/jobs/"), body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.end_headers()
                for msg in messages:
                    self.wfile.write((json.dumps(msg, default=str) + "\n").encode())
                    self.wfile.flush()

            def _json(self, code: int, body: Any) -> None:
                data = json.dumps(body, default=str).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def stream(self, job: str, options: dict[str, Any]):
        """Run the job in its own thread; yield its log lines, then the result or the error."""
        return self._stream(f"job-{job}", lambda out: {"result": self.run(job, options)})

    def _stream(self, name: str, work: Callable[[queue.Queue], dict[str, Any]]):
        out: queue.Queue = queue.Queue()

        def target() -> None:
            handler = _ThreadLogHandler(threading.get_ident(), out)
            logging.getLogger().addHandler(handler)
            try:
                out.put(work(out))
            except Exception as exc:  # noqa: BLE001 - sent to the client, which exits non-zero
                out.put({"error": redact(str(exc))})
            finally:
                logging.getLogger().removeHandler(handler)
                self._inflight.discard(threading.current_thread())

        thread = threading.Thread(target=target, name=name, daemon=True)
        self._inflight.add(thread)
        thread.start()
        while True:
            msg = out.get()
            yield msg
            if "log" not in msg and "out" not in msg:
                return


def _write_private(path: Path, text: str) -> None:
    """Create a file only the user can read (0600) before anything is written to it."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def dispatch(settings, job: str, options: dict[str, Any] | None = None,
             on_line: Callable[[str], None] = print) -> dict[str, Any]:
    """Run a job where it must run: in the owner when one holds the warehouse, else here.

    Other areas' commands call this to stay usable while `cbi serve` runs.
    """
    options = options or {}
    owner = find_owner(settings)
    if owner is not None:
        on_line(f"cbi serve (pid {owner.pid}) owns the warehouse: running {job} there")
        return submit(owner, job, options, on_line)
    from cbi.ops.runs import role_for, run_job
    from cbi.warehouse import connect

    from cbi.warehouse import WarehouseError

    with connect(settings=settings, role=role_for(job)) as wh:
        if not wh.table_exists("ops.pipeline_runs"):
            raise WarehouseError(f"{wh.url} has no ops tables yet: run `cbi init` first")
        return run_job(wh, settings, job, **options)
