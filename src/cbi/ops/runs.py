"""The run log: every job of `cbi.jobs.JOBS` runs through `run_job`, which records it in
`ops.pipeline_runs`, persists the BigQuery bytes it cost, and raises or resolves alerts.

A run row is written `running` before the job starts (with the host, PID and the PID's start
time in `details`) and rewritten `succeeded`/`failed` after (same run_id, so a MERGE). A run
whose process died stays `running` until `mark_abandoned` (the owner at start-up and every
few minutes, and any command that runs a job here) finds its process gone, rewrites it
`abandoned` and raises an alert; `cbi status` counts it as a failure even before that.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import inspect
import json
import logging
import os
import socket
import threading
import time
import uuid
from importlib import import_module
from typing import TYPE_CHECKING, Any, Callable, Iterator

import pyarrow as pa

from cbi import jobs
from cbi.errors import EXIT_USAGE, CbiError, alert_kind, exit_code
from cbi.secrets import redact

if TYPE_CHECKING:
    from cbi.config import Settings
    from cbi.warehouse.base import Warehouse

log = logging.getLogger(__name__)
RUNS = "ops.pipeline_runs"
UTC = dt.timezone.utc

#: Set when the process is asked to stop (SIGTERM); long jobs may check it between batches.
STOPPING = threading.Event()
_job_locks: dict[str, threading.Lock] = {}
#: BigQuery credentials each job runs with (DuckDB has one file and ignores roles).
JOB_ROLES: dict[str, str] = {"train": "training", "predict": "training"}
_locks_guard = threading.Lock()
HOST = socket.gethostname()
#: run_ids this process is running now: a `running` row of ours that is not here is abandoned.
_ACTIVE: set[str] = set()
ABANDONED = "abandoned"
#: Statuses `cbi status` counts as a failed job.
FAILED_STATUSES = ("failed", ABANDONED)


class JobFailed(CbiError):
    def __init__(self, name: str, run_id: str, error: str) -> None:
        super().__init__(f"job {name} failed (run {run_id}): {error}")
        self.name, self.run_id, self.error = name, run_id, error


def job_names(settings: Settings) -> list[str]:
    """The registry's jobs as they are now (a feed registered after import included), then
    the settings' `extra_jobs`."""
    return list(dict.fromkeys([*jobs.all_jobs(), *jobs.JOBS, *settings.extra_jobs]))


def resolve(name: str, settings: Settings) -> Callable[..., dict[str, Any]]:
    """The job function: `cbi.jobs.JOBS` first, then the settings' `extra_jobs`."""
    extra = getattr(settings, "extra_jobs", {}) or {}
    if name in jobs.JOBS or name in jobs.all_jobs():
        return jobs.job(name)
    if name in extra:
        module, fn = extra[name].split(":")
        return getattr(import_module(module), fn)
    raise KeyError(f"unknown job {name!r}; jobs: {', '.join(job_names(settings))}")


def role_for(job: str) -> str:
    return JOB_ROLES.get(job, "collector")


def supported_options(fn: Callable[..., Any], options: dict[str, Any]) -> dict[str, Any]:
    """Only the options `fn` accepts (all of them when it takes **options)."""
    params = inspect.signature(fn).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return options
    names = {p.name for p in params}
    dropped = sorted(set(options) - names)
    if dropped:
        log.debug("%s ignores option(s) %s", getattr(fn, "__qualname__", fn), dropped)
    return {k: v for k, v in options.items() if k in names}


def _lock(name: str) -> threading.Lock:
    with _locks_guard:
        return _job_locks.setdefault(name, threading.Lock())


def run_job(wh: Warehouse, settings: Settings, name: str, **options: Any) -> dict[str, Any]:
    """Run one job with its run-log row, cost records and alerts; re-raises as JobFailed.

    Two runs of the same job never overlap in this process (the second waits).
    """
    fn = resolve(name, settings)
    with _lock(name):
        run_id = uuid.uuid4().hex
        started = dt.datetime.now(UTC)
        _ACTIVE.add(run_id)
        try:
            _write(wh, run_id, name, started, "running",
                   details={"options": options, **process_identity()})
            log.info("job %s started (run %s)", name, run_id)
            t0 = time.monotonic()
            try:
                result = fn(wh, settings, **supported_options(fn, options)) or {}
            except Exception as exc:  # noqa: BLE001 - recorded, alerted, re-raised
                error = redact(f"{type(exc).__name__}: {exc}")
                _finish(wh, settings, run_id, name, started, "failed", {}, error, alert_kind(exc))
                raise JobFailed(name, run_id, error) from exc
            _finish(wh, settings, run_id, name, started, "succeeded", result, None)
        finally:
            _ACTIVE.discard(run_id)
        log.info("job %s succeeded in %.1fs: %s rows read, %s written", name,
                 time.monotonic() - t0, result.get("rows_read", 0), result.get("rows_written", 0))
        return {"run_id": run_id, **result}


#: Commands run by hand that leave a run row and their query costs as a job does (18.6):
#: the first word of the command (`cbi ingest databento` -> "ingest").
RECORDED_COMMANDS = frozenset({"ingest", "features", "export", "train", "predict", "sentiment"})


def command_job(path: str) -> str | None:
    """The run-log job name of a command path ("cbi ingest databento" -> "ingest databento"),
    None for a command that is not recorded (reads, init, status…)."""
    words = path.split()[1:]  # the first word is the program's name
    return " ".join(words) if words and words[0] in RECORDED_COMMANDS else None


@contextlib.contextmanager
def recorded_command(wh: Warehouse, settings: Settings, name: str,
                     writer: Callable[[], Any] | None = None, **details: Any) -> Iterator[None]:
    """A command run by hand, recorded as `run_job` records a job: its `running` row first,
    then `succeeded`/`failed` with its query costs and alerts. A request refused as given
    (exit 2) leaves no run row, only its costs.

    `writer`: for a command that holds a read-only connection, a function that opens a
    writable one once the command is done (DuckDB lets one process hold the file either way,
    not both); only the finished row is written then. Recording never fails the command: a
    warehouse not yet initialised, say, has nowhere to put the row.
    """
    run_id = uuid.uuid4().hex
    started = dt.datetime.now(UTC)
    info = {"command": name, "by_hand": True, **details, **process_identity()}
    live = writer is None and not wh.read_only
    _ACTIVE.add(run_id)
    if live:
        try:
            _write(wh, run_id, name, started, "running", details=info)
        except Exception as exc:  # noqa: BLE001 - no run log here (not initialised…)
            log.debug("no run row for %s: %s", name, exc)
            live = False
            writer = None
    outcome: tuple[str, str | None, str] = ("succeeded", None, "job_failed")
    try:
        yield
    except BaseException as exc:
        # A request refused as given (exit 2: a missing file, a bad option; nothing changed)
        # did not run: it leaves no run row, so `cbi status` does not count a typo as a
        # failed job; its queries' costs are kept.
        refused = exit_code(exc) == EXIT_USAGE
        outcome = ("refused" if refused else "failed", redact(f"{type(exc).__name__}: {exc}"),
                   alert_kind(exc))
        raise
    finally:
        _ACTIVE.discard(run_id)
        try:
            if outcome[0] == "refused":
                from cbi.ops import cost

                if live:
                    wh.execute("DELETE FROM ops.pipeline_runs WHERE run_id = @run_id", {"run_id": run_id})
                if not wh.read_only:
                    cost.flush_costs(wh, job=name)
            elif live:
                _finish(wh, settings, run_id, name, started, outcome[0], {"command": name, "by_hand": True},
                        outcome[1], outcome[2])
            elif writer is not None:
                pending = wh.drain_job_costs()
                with writer() as out:
                    out.keep_job_costs(pending)
                    _finish(out, settings, run_id, name, started, outcome[0], {"command": name, "by_hand": True},
                            outcome[1], outcome[2])
        except Exception as exc:  # noqa: BLE001 - the command's own outcome matters more
            log.warning("could not record the run of %s: %s", name, exc)


def _alert_kind(exc: BaseException) -> str:  # old name; the errors know their alert kind
    return alert_kind(exc)


# ---- abandoned runs -------------------------------------------------------------------------
def _pid_start(pid: int) -> str | None:
    """When `pid` started (clock ticks since boot, Linux), to tell a reused PID apart."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def alive(pid: int) -> bool:
    """True while a process with this PID exists (someone else's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, ValueError):
        return False
    return True


def process_identity() -> dict[str, Any]:
    """What a `running` row records about the process running it."""
    return {"host": HOST, "pid": os.getpid(), "pid_start": _pid_start(os.getpid())}


def abandoned_reason(row: dict[str, Any], exclusive: bool = False) -> str | None:
    """Why a `running` row is abandoned (None: it may still be running).

    On this host a row is abandoned when its PID is gone, belongs to a newer process, or is
    this process's but not one of its active runs. `exclusive`: this process holds the
    warehouse alone (DuckDB), so no other process can be running anything in it.
    """
    if row.get("status") != "running":
        return None
    try:
        details = json.loads(row.get("details") or "{}")
    except ValueError:
        details = {}
    host, pid, start = details.get("host"), details.get("pid"), details.get("pid_start")
    where = f"process {pid} on {host}" if pid is not None else "the process that ran it"
    if host == HOST and isinstance(pid, int):
        if pid == os.getpid():
            return None if row.get("run_id") in _ACTIVE else f"{where} (this one) no longer runs it"
        if not alive(pid):
            return f"{where} is gone"
        now_start = _pid_start(pid)
        if start is not None and now_start is not None and now_start != start:
            return f"{where} is gone (the PID now belongs to another process)"
        if exclusive:
            return f"{where} does not hold the warehouse"
        return None
    if exclusive:
        return f"{where} is gone (this process holds the warehouse alone)"
    return None


def running_rows(wh: Warehouse) -> list[dict[str, Any]]:
    return wh.query("SELECT run_id, job, started_at, status, details FROM ops.pipeline_runs "
                    "WHERE status = 'running'").to_pylist()


def mark_abandoned(wh: Warehouse, settings: Settings) -> list[dict[str, Any]]:
    """Rewrite each `running` row whose process is gone as `abandoned` and alert on it."""
    from cbi.ops import alerts

    exclusive = wh.ONE_PROCESS
    marked = []
    for row in running_rows(wh):
        reason = abandoned_reason(row, exclusive)
        if reason is None:
            continue
        error = f"abandoned: {reason}"
        _write(wh, row["run_id"], row["job"], row["started_at"], ABANDONED, error=error,
               details={"abandoned_by": process_identity()})
        log.warning("run %s of job %s %s", row["run_id"], row["job"], error)
        alerts.raise_alert(wh, settings, "job_abandoned", row["job"],
                           f"run {row['run_id']} of job {row['job']} never finished: {reason}")
        marked.append({**row, "status": ABANDONED, "error": error})
    return marked


def with_abandoned(wh: Warehouse, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as `cbi status` should count them: a `running` row whose process is gone reads
    `abandoned` even before anyone rewrote it."""
    running = {r["run_id"]: r for r in running_rows(wh)} if any(
        r.get("status") == "running" for r in rows) else {}
    exclusive = wh.ONE_PROCESS
    out = []
    for r in rows:
        full = running.get(r.get("run_id"))
        reason = abandoned_reason(full, exclusive) if full else None
        out.append({**r, "status": ABANDONED, "error": f"abandoned: {reason}"} if reason else r)
    return out


def _finish(wh: Warehouse, settings: Settings, run_id: str, name: str, started: dt.datetime,
            status: str, result: dict[str, Any], error: str | None, kind: str = "job_failed") -> None:
    from cbi.ops import alerts, cost

    bytes_processed = cost.flush_costs(wh, job=name)
    _write(wh, run_id, name, started, status, result, bytes_processed, error)
    if status == "failed":
        log.error("job %s failed (run %s): %s", name, run_id, error)
        alerts.raise_alert(wh, settings, kind, name, f"job {name} failed: {error}")
    else:
        for kind in ("job_failed", "quality_gate", "job_abandoned"):
            alerts.resolve_alert(wh, kind, name)


def _write(wh: Warehouse, run_id: str, name: str, started: dt.datetime, status: str,
           result: dict[str, Any] | None = None, bytes_processed: int = 0,
           error: str | None = None, details: dict[str, Any] | None = None) -> None:
    result = result or {}
    extra = {k: v for k, v in result.items() if k not in ("rows_read", "rows_written")}
    row = {
        "run_id": [run_id], "job": [name], "started_at": [started],
        "finished_at": [None if status == "running" else dt.datetime.now(UTC)],
        "status": [status], "rows_read": [int(result.get("rows_read") or 0)],
        "rows_written": [int(result.get("rows_written") or 0)],
        "bytes_processed": [int(bytes_processed)], "error": [error],
        "details": [redact(json.dumps(details or extra, default=str))],
    }
    wh.merge(RUNS, pa.table(row, schema=_RUN_SCHEMA))


_RUN_SCHEMA = pa.schema([
    ("run_id", pa.string()), ("job", pa.string()), ("started_at", pa.timestamp("us", tz="UTC")),
    ("finished_at", pa.timestamp("us", tz="UTC")), ("status", pa.string()),
    ("rows_read", pa.int64()), ("rows_written", pa.int64()), ("bytes_processed", pa.int64()),
    ("error", pa.string()), ("details", pa.string()),
])


def last_runs(wh: Warehouse, limit: int = 20) -> list[dict[str, Any]]:
    """The most recent runs, newest first."""
    return wh.query_file("cbi.ops.sql", "last_runs.sql", {"limit": int(limit)}).to_pylist()


def latest_per_job(wh: Warehouse) -> list[dict[str, Any]]:
    """The newest run of each job: a job whose latest run failed is a problem now."""
    return wh.query_file("cbi.ops.sql", "latest_per_job.sql").to_pylist()
