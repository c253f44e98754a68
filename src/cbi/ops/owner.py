"""The warehouse owner: `cbi serve` holds the DuckDB file and runs other commands' jobs.

DuckDB lets one process open the file, and then no other may, not even read-only
(DESIGN.md, "Process model"). So the owner writes an endpoint file beside the database
(`cbi.duckdb.owner.json`: pid, port) and a token in `cbi.duckdb.owner.token` that only the
user can read (0600), and serves a job API on 127.0.0.1. Other `cbi` commands find the
endpoint, check it is alive and theirs (a probe that needs the token: a PID alone may have
been reused), send the token, and get the job's output streamed back as JSON lines. Without
the token the API answers 401 and runs nothing; every error is a JSON body
`{"error": …, "status": CODE}`. An endpoint whose owner is gone is removed by the next
command, which then opens the warehouse itself. BigQuery has no owner: commands run directly.

Also here: the job API's one client (`post_stream`; `submit`, `fetch` and the command client
in `cbi.ops.forward` use it) and `run_command`, a forwarded command run on the owner's side.
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
from typing import TYPE_CHECKING, Any, Callable, cast
from urllib.parse import parse_qs, urlparse

from cbi.errors import EXIT_FAILED, UsageError
from cbi.ops import runs
from cbi.ops.argv import global_values, split_globals
from cbi.secrets import redact

if TYPE_CHECKING:
    from cbi.config import Settings
    from cbi.warehouse.base import Warehouse

log = logging.getLogger(__name__)
PROBE_TIMEOUT_S = 5.0


class OwnerError(UsageError):
    """The owner cannot take the request (refused, unreadable token, a second owner)."""


class OwnerGone(OwnerError):
    """The owner stopped, or stopped answering, while it ran our request."""

    exit_code = EXIT_FAILED


@dataclass(frozen=True)
class OwnerFiles:
    endpoint: Path
    token: Path


@dataclass(frozen=True)
class Owner:
    url: str
    token: str
    pid: int


def owner_files(settings: Settings) -> OwnerFiles | None:
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



def find_owner(settings: Settings, on_stale: Callable[[str], None] | None = None) -> Owner | None:
    """The running owner of the configured warehouse, or None.

    An owner counts only when its process is alive *and* it answers a probe that needs its
    token (a reused PID, or another program on the port, does not). A stale endpoint is
    removed, with a one-line note to `on_stale`, and the caller opens the warehouse itself.
    """
    files = owner_files(settings)
    if files is None or not files.endpoint.exists():
        return None
    try:
        raw = files.endpoint.read_text()
        info = json.loads(raw)
        pid, port = int(info.get("pid", 0)), int(info["port"])
    except (OSError, ValueError, KeyError, TypeError):
        _remove_stale(files, None, on_stale, "cbi serve's endpoint file is unreadable")
        return None
    if not runs.alive(pid):
        _remove_stale(files, raw, on_stale, f"cbi serve (pid {pid}) is gone")
        return None
    try:
        token = files.token.read_text().strip()
    except FileNotFoundError:
        _remove_stale(files, raw, on_stale, f"cbi serve (pid {pid}) left no token")
        return None
    except OSError as exc:
        raise OwnerError(f"a cbi serve (pid {pid}) owns the warehouse, but its token "
                         f"{files.token} cannot be read ({exc.strerror}); run as its user") from None
    owner = Owner(f"http://127.0.0.1:{port}", token, pid)
    answer = _probe(owner)
    if answer == "theirs":
        return owner
    if answer == "refused":
        raise OwnerError(f"cbi serve (pid {pid}) refused our token (HTTP 401): {files.token} does "
                         "not hold the token it was started with; restart it")
    if answer == "busy":
        raise OwnerGone(f"cbi serve (pid {pid}) holds the warehouse but does not answer on "
                        f"127.0.0.1:{port} within {PROBE_TIMEOUT_S:g}s")
    _remove_stale(files, raw, on_stale,
                  f"pid {pid} is alive but is not the cbi serve that wrote {files.endpoint.name}")
    return None


def _probe(owner: Owner) -> str:
    """'theirs' when the owner answers /whoami with our token and its pid; 'refused' when
    that owner (its /health names the pid) refuses the token; 'busy' on a timeout; 'other'
    when nothing, or something else, listens there."""
    import httpx

    def pid_of(resp: Any) -> int:
        try:
            return int(resp.json().get("pid", -1))
        except (ValueError, AttributeError, TypeError):
            return -1

    try:
        resp = _client().get(f"{owner.url}/whoami", timeout=PROBE_TIMEOUT_S,
                             headers={"Authorization": f"Bearer {owner.token}"})
        if resp.status_code == 200 and pid_of(resp) == owner.pid:
            return "theirs"
        if resp.status_code == 401:
            health = _client().get(f"{owner.url}/health", timeout=PROBE_TIMEOUT_S)
            if health.status_code == 200 and pid_of(health) == owner.pid:
                return "refused"
    except httpx.TimeoutException:
        return "busy"
    except httpx.HTTPError:
        return "other"
    return "other"


def _remove_stale(files: OwnerFiles, raw: str | None, on_stale: Callable[[str], None] | None,
                  why: str) -> None:
    """Delete a dead owner's endpoint and token, unless a new owner rewrote them meanwhile."""
    try:
        if raw is None or files.endpoint.read_text() == raw:
            files.endpoint.unlink(missing_ok=True)
            files.token.unlink(missing_ok=True)
    except OSError:
        pass
    log.debug("stale owner endpoint removed: %s", why)
    if on_stale is not None:
        on_stale(f"{why}: its endpoint file was stale and is removed; running here")


# ---- client ------------------------------------------------------------------------------------
def post_stream(owner: Owner, path: str, body: dict[str, Any], what: str):
    """POST to the owner and yield its NDJSON messages: the one client of the job API.

    A refusal is an OwnerError naming the status and the owner's JSON error; an owner that dies
    mid-stream is an OwnerGone (one line, exit 1), never a traceback.
    """
    import httpx

    headers = {"Authorization": f"Bearer {owner.token}"}
    try:
        with _client().stream("POST", f"{owner.url}{path}", json=body, headers=headers,
                              timeout=httpx.Timeout(10, read=None)) as resp:
            if resp.status_code != 200:
                resp.read()
                raise OwnerError(f"the owner refused {what}: HTTP {resp.status_code} "
                                 f"{_error_text(resp)}")
            for line in resp.iter_lines():
                if line.strip():
                    yield json.loads(line)
    except httpx.HTTPError as exc:
        raise OwnerGone(f"cbi serve (pid {owner.pid}) stopped while running {what} "
                        f"({type(exc).__name__}); run it again: with no owner it runs here") from None


def _error_text(resp: Any) -> str:
    try:
        return str(resp.json().get("error", resp.text))
    except (ValueError, AttributeError):
        return resp.text[:200]


def submit(owner: Owner, job: str, options: dict[str, Any],
           on_line: Callable[[str], None] = print) -> dict[str, Any]:
    """Run a job in the owner; its log lines go to `on_line`; returns the job's result."""
    result: dict[str, Any] | None = None
    # the job's log lines come at this process's level: `cbi -v job` gets its debug lines
    level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
    for msg in post_stream(owner, f"/jobs/{job}?log={level}", options, what=f"job {job}"):
        if "log" in msg:
            on_line(msg["log"])
        elif "error" in msg:
            raise OwnerError(msg["error"])
        elif "result" in msg:
            result = msg["result"]
    if result is None:
        raise OwnerGone(f"cbi serve (pid {owner.pid}) stopped while running job {job} (its stream "
                        "ended early); run it again: with no owner it runs here")
    return result


@lru_cache(maxsize=1)
def _client():
    """One client per process: building one loads an SSL context (~50 ms), even for http."""
    import httpx

    return httpx.Client()


def fetch(owner: Owner, what: str) -> Any:
    """A read the owner answers for us (`status`, `cost`): we cannot open the file ourselves."""
    import httpx

    try:
        resp = _client().get(f"{owner.url}/{what}", timeout=30,
                             headers={"Authorization": f"Bearer {owner.token}"})
    except httpx.HTTPError as exc:
        raise OwnerGone(f"cbi serve (pid {owner.pid}) did not answer {what} "
                        f"({type(exc).__name__})") from None
    if resp.status_code != 200:
        raise OwnerError(f"the owner refused {what}: HTTP {resp.status_code} {_error_text(resp)}")
    return resp.json()


# ---- commands run here ------------------------------------------------------------------------
class LentWarehouse:
    """The owner's Warehouse for one forwarded command: usable, but not the command's to close."""

    def __init__(self, wh: Warehouse) -> None:
        self._wh = wh

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wh, name)

    def read_only_view(self) -> Any:
        return self._wh.read_only_view()

    def close(self) -> None:
        pass

    def __enter__(self) -> LentWarehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def run_command(root: Any, argv: list[str], wh: Warehouse | None, out: queue.Queue,
                terminal: dict[str, Any] | None = None) -> int:
    """Run `cbi ARGV` in this thread on the owner's warehouse; return its exit code.

    Root options that change the process (`-w`) are the client's business: the client found
    this owner with them. `-v`/`-q` apply to this command only.
    """
    from cbi import console

    if wh is None:
        raise RuntimeError("this owner lends no warehouse")
    options, rest = split_globals(argv)
    flags = global_values(options)
    argv = [*(["-v"] if flags["verbose"] else []), *(["-q"] if flags["quiet"] else []), *rest]
    # the proxy stands in for the Warehouse (every attribute but `close` is the owner's)
    with console.lend(cast("Warehouse", LentWarehouse(wh)), out, terminal):
        try:
            root.main(args=argv, prog_name="cbi", standalone_mode=True)
            return 0
        except SystemExit as exc:
            code = exc.code
            return code if isinstance(code, int) else (0 if code is None else 1)
        except Exception as exc:  # noqa: BLE001 - reported like the CLI does, then its code
            return console.report_error(exc)


# ---- server ------------------------------------------------------------------------------------
class _ThreadLogHandler(logging.Handler):
    """Forwards the log records of one thread (the job's) to a queue: the progress stream."""

    def __init__(self, thread_id: int, out: queue.Queue, level: int = logging.INFO) -> None:
        from cbi.console import LOG_FORMAT

        super().__init__(level)
        self.thread_id, self.out = thread_id, out
        self.setFormatter(logging.Formatter(LOG_FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread_id:
            self.out.put({"log": redact(self.format(record))})


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class OwnerService:
    """The job API of a running owner: run_job(name, options), whole commands and reads,
    behind a token. `commands` is the `cbi` click command (None: this owner runs none);
    `job_names` lists the jobs it knows (an unknown one is a 404 before anything runs)."""

    def __init__(self, settings: Settings, run: Callable[[str, dict], dict],
                 reads: dict[str, Callable[[], Any]], port: int = 0, warehouse: Warehouse | None = None,
                 commands: Any = None, job_names: Callable[[], list[str]] | None = None) -> None:
        files = owner_files(settings)
        if files is None:
            raise OwnerError("only a DuckDB warehouse file has an owner")
        self.files: OwnerFiles = files
        existing = find_owner(settings)
        if existing:
            raise OwnerError(f"a cbi serve (pid {existing.pid}) already owns this warehouse "
                             f"({self.files.endpoint.name}); stop it first")
        self.run, self.reads, self.warehouse = run, reads, warehouse
        self.commands, self.job_names = commands, job_names
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

    def command_stream(self, body: dict[str, Any]):
        """Run a whole `cbi` command here, on the owner's warehouse; stream its output."""
        argv = body.get("argv")
        if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
            raise _BadRequest(400, "body must be {\"argv\": [\"word\", …]}")
        if self.commands is None:
            raise _BadRequest(404, "this owner runs no commands")
        terminal = body.get("terminal") if isinstance(body.get("terminal"), dict) else None
        flags = global_values(split_globals(argv)[0])  # -v: debug lines too; -q: warnings only
        level = logging.DEBUG if flags["verbose"] else (
            logging.WARNING if flags["quiet"] else logging.INFO)
        return self._stream("command", lambda out: {
            "exit": run_command(self.commands, argv, self.warehouse, out, terminal)}, level=level)

    def authorised(self, header: str | None) -> bool:
        given = (header or "").removeprefix("Bearer ").strip()
        return bool(given) and hmac.compare_digest(given.encode(), self.token.encode())

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # small NDJSON lines: Nagle + delayed ACK cost 40 ms
            error_content_type = "application/json"

            def log_message(self, fmt: str, *args: Any) -> None:
                log.debug("job API: " + fmt, *args)

            def send_error(self, code: int, message: str | None = None,
                           explain: str | None = None) -> None:
                # http.server's own refusals (bad request line, unsupported method): JSON too.
                try:
                    self._json(code, {"error": message or self.responses.get(code, ("error",))[0]})
                except OSError:
                    pass

            def do_GET(self) -> None:
                self._guarded(self._get)

            def do_POST(self) -> None:
                self._guarded(self._post)

            def _guarded(self, fn: Callable[[], None]) -> None:
                try:
                    fn()
                except _BadRequest as exc:
                    self._json(exc.status, {"error": str(exc)})
                except (BrokenPipeError, ConnectionResetError):
                    pass
                except Exception as exc:  # noqa: BLE001 - a JSON 500, never a traceback page
                    log.exception("job API %s %s failed", self.command, self.path)
                    self._json(500, {"error": redact(f"{type(exc).__name__}: {exc}")})

            def _get(self) -> None:
                if self.path == "/health":
                    return self._json(200, {"ok": True, "pid": os.getpid()})
                if not service.authorised(self.headers.get("Authorization")):
                    return self._json(401, {"error": "token required"})
                if self.path == "/whoami":
                    return self._json(200, {"pid": os.getpid(), "port": service.port})
                read = service.reads.get(self.path.strip("/"))
                if read is None:
                    return self._json(404, {"error": f"no {self.path}"})
                self._json(200, read())

            def _post(self) -> None:
                if not service.authorised(self.headers.get("Authorization")):
                    return self._json(401, {"error": "token required"})
                if not (self.path.startswith("/jobs/") or self.path == "/commands"):
                    return self._json(404, {"error": f"no {self.path}"})
                if not service._accepting:
                    return self._json(503, {"error": "the owner is shutting down"})
                body = self._body()
                if self.path == "/commands":
                    messages = service.command_stream(body)
                else:
                    job, _, query = self.path.removeprefix("/jobs/").partition("?")
                    if service.job_names is not None and job not in service.job_names():
                        raise _BadRequest(404, f"unknown job {job!r}; jobs: "
                                               f"{', '.join(service.job_names())}")
                    messages = service.stream(job, body, _log_level(query))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.end_headers()
                for msg in messages:
                    self.wfile.write((json.dumps(msg, default=str) + "\n").encode())
                    self.wfile.flush()

            def _body(self) -> dict[str, Any]:
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    raise _BadRequest(400, "Content-Length is not a number") from None
                if length > 10 * 1024**2:
                    raise _BadRequest(413, "body over 10 MiB")
                raw = self.rfile.read(length) if length else b""
                if not raw.strip():
                    return {}
                try:
                    body = json.loads(raw)
                except ValueError as exc:
                    raise _BadRequest(400, f"body is not JSON: {exc}") from None
                if not isinstance(body, dict):
                    raise _BadRequest(400, "body must be a JSON object")
                return body

            def _json(self, code: int, body: Any) -> None:
                if code >= 400 and isinstance(body, dict):
                    body = {**body, "status": code}
                data = json.dumps(body, default=str).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def stream(self, job: str, options: dict[str, Any], level: int = logging.INFO):
        """Run the job in its own thread; yield its log lines (from `level` up), then the
        result or the error."""
        return self._stream(f"job-{job}", lambda out: {"result": self.run(job, options)}, level)

    def _stream(self, name: str, work: Callable[[queue.Queue], dict[str, Any]],
                level: int = logging.INFO):
        out: queue.Queue = queue.Queue()

        def target() -> None:
            handler = _ThreadLogHandler(threading.get_ident(), out, level)
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
            if not ({"log", "out", "err"} & msg.keys()):
                return


def _log_level(query: str) -> int:
    """The level a job's caller asked for (`?log=DEBUG`); INFO when it named none it may ask."""
    asked = parse_qs(query).get("log", ["INFO"])[-1].upper()
    return {"DEBUG": logging.DEBUG, "WARNING": logging.WARNING}.get(asked, logging.INFO)


def _write_private(path: Path, text: str) -> None:
    """Create a file only the user can read (0600) before anything is written to it."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def dispatch(settings: Settings, job: str, options: dict[str, Any] | None = None,
             on_line: Callable[[str], None] = print,
             on_note: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run a job where it must run: in the owner when one holds the warehouse, else here.

    Other areas' commands call this to stay usable while `cbi serve` runs.
    """
    options = options or {}
    owner = find_owner(settings, on_stale=on_note)
    if owner is not None:
        (on_note or on_line)(f"cbi serve (pid {owner.pid}) owns the warehouse: running {job} there")
        return submit(owner, job, options, on_line)
    from cbi.ops.runs import role_for, run_job
    from cbi.warehouse import connect

    from cbi.warehouse import WarehouseError

    with connect(settings=settings, role=role_for(job)) as wh:
        if not wh.table_exists("ops.pipeline_runs"):
            raise WarehouseError(f"{wh.url} has no ops tables yet: run `cbi init` first")
        from cbi.ops.runs import mark_abandoned

        mark_abandoned(wh, settings)
        return run_job(wh, settings, job, **options)
