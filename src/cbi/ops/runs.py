"""The run log: every job of `cbi.jobs.JOBS` runs through `run_job`, which records it in
`ops.pipeline_runs`, persists the BigQuery bytes it cost, and raises or resolves alerts.

A run row is written `running` before the job starts and rewritten `succeeded`/`failed`
after (same run_id, so a MERGE), so a run killed half-way shows as `running` forever: that is
how `cbi status` tells a crashed run from a finished one.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import logging
import threading
import time
import uuid
from importlib import import_module
from typing import Any, Callable

import pyarrow as pa

from cbi import jobs
from cbi.secrets import redact

log = logging.getLogger(__name__)
RUNS = "ops.pipeline_runs"
UTC = dt.timezone.utc

#: Set when the process is asked to stop (SIGTERM); long jobs may check it between batches.
STOPPING = threading.Event()
_job_locks: dict[str, threading.Lock] = {}
#: BigQuery credentials each job runs with (DuckDB has one file and ignores roles).
JOB_ROLES: dict[str, str] = {"train": "training", "predict": "training"}
_locks_guard = threading.Lock()


class JobFailed(RuntimeError):
    def __init__(self, name: str, run_id: str, error: str) -> None:
        super().__init__(f"job {name} failed (run {run_id}): {error}")
        self.name, self.run_id, self.error = name, run_id, error


def job_names(settings) -> list[str]:
    return [*jobs.JOBS, *getattr(settings, "extra_jobs", {})]


def resolve(name: str, settings) -> Callable[..., dict[str, Any]]:
    """The job function: `cbi.jobs.JOBS` first, then the settings' `extra_jobs`."""
    extra = getattr(settings, "extra_jobs", {}) or {}
    if name in jobs.JOBS:
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


def run_job(wh, settings, name: str, **options: Any) -> dict[str, Any]:
    """Run one job with its run-log row, cost records and alerts; re-raises as JobFailed.

    Two runs of the same job never overlap in this process (the second waits).
    """
    fn = resolve(name, settings)
    with _lock(name):
        run_id = uuid.uuid4().hex
        started = dt.datetime.now(UTC)
        _write(wh, run_id, name, started, "running", details={"options": options})
        log.info("job %s started (run %s)", name, run_id)
        t0 = time.monotonic()
        try:
            result = fn(wh, settings, **supported_options(fn, options)) or {}
        except Exception as exc:  # noqa: BLE001 - recorded, alerted, re-raised
            error = redact(f"{type(exc).__name__}: {exc}")
            _finish(wh, settings, run_id, name, started, "failed", {}, error, _alert_kind(exc))
            raise JobFailed(name, run_id, error) from exc
        _finish(wh, settings, run_id, name, started, "succeeded", result, None)
        log.info("job %s succeeded in %.1fs: %s rows read, %s written", name,
                 time.monotonic() - t0, result.get("rows_read", 0), result.get("rows_written", 0))
        return {"run_id": run_id, **result}


def _alert_kind(exc: BaseException) -> str:
    # export refuses to write when a data-quality gate fails: that is its own alert kind.
    return "quality_gate" if type(exc).__name__ == "QualityGateError" else "job_failed"


def _finish(wh, settings, run_id: str, name: str, started: dt.datetime, status: str,
            result: dict[str, Any], error: str | None, kind: str = "job_failed") -> None:
    from cbi.ops import alerts, cost

    bytes_processed = cost.flush_costs(wh, job=name)
    _write(wh, run_id, name, started, status, result, bytes_processed, error)
    if status == "failed":
        log.error("job %s failed (run %s): %s", name, run_id, error)
        alerts.raise_alert(wh, settings, kind, name, f"job {name} failed: {error}")
    else:
        for kind in ("job_failed", "quality_gate"):
            alerts.resolve_alert(wh, kind, name)


def _write(wh, run_id: str, name: str, started: dt.datetime, status: str,
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


def last_runs(wh, limit: int = 20) -> list[dict[str, Any]]:
    """The most recent runs, newest first."""
    return wh.query_file("cbi.ops.sql", "last_runs.sql", {"limit": int(limit)}).to_pylist()


def latest_per_job(wh) -> list[dict[str, Any]]:
    """The newest run of each job: a job whose latest run failed is a problem now."""
    return wh.query_file("cbi.ops.sql", "latest_per_job.sql").to_pylist()
