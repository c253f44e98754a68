"""The schedule of `cbi serve` (APScheduler) and its crontab twin (`cbi cron`).

A job's schedule is a string, overridable per job in settings (`schedule`):
`every 5m` | `every 1h` | `cron MIN HOUR DOM MON DOW` (America/Chicago, the exchange's
clock) | `after JOB[,JOB]` (when that job succeeded and wrote rows) | `off`; several joined
by `;`. Features run after new market or macro data and once after the close; predictions
after features.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from cbi.calendar import CHICAGO

if TYPE_CHECKING:
    from cbi.config import Settings
    from cbi.warehouse.base import Warehouse

log = logging.getLogger(__name__)

#: The other jobs' defaults; each feed's comes from its registry line (`default_schedule`).
DEFAULT_SCHEDULE: dict[str, str] = {
    "features": "after databento,fred; cron 30 16 * * 1-5",  # 16:30 CT: after every close
    "predict": "after features",
    "export": "cron 0 3 * * *",
    "train": "cron 0 4 * * 0",  # weekly, Sunday before the evening open
    "retention": "cron 30 2 * * *",
}
STALE_CHECK_SECONDS = 300
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def default_schedule() -> dict[str, str]:
    """Every job's default: each feed's from `cbi.feeds.registry` (its `schedule`), then
    DEFAULT_SCHEDULE's."""
    from cbi.feeds import registry

    return {**registry.schedules(), **DEFAULT_SCHEDULE}


@dataclass(frozen=True)
class Trigger:
    kind: str  # every | cron | after
    seconds: float = 0
    cron: str = ""
    after: tuple[str, ...] = ()


def parse(spec: str, job: str = "?") -> list[Trigger]:
    """Parse a schedule string; a clear error names the job and the bad part."""
    out = []
    for part in (p.strip() for p in spec.split(";")):
        if not part or part == "off":
            continue
        word, _, rest = part.partition(" ")
        rest = rest.strip()
        if word == "every" and (m := re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhd])", rest)):
            out.append(Trigger("every", seconds=float(m[1]) * _UNITS[m[2]]))
        elif word == "cron" and len(rest.split()) == 5:
            out.append(Trigger("cron", cron=_valid_cron(rest, job, part)))
        elif word == "after" and rest:
            out.append(Trigger("after", after=tuple(j.strip() for j in rest.split(","))))
        else:
            raise ValueError(f"schedule of job {job!r}: cannot read {part!r}; use 'every 5m', "
                             "'cron M H DOM MON DOW', 'after JOB[,JOB]' or 'off'")
    return out


def _valid_cron(expr: str, job: str, part: str) -> str:
    """A five-field crontab expression APScheduler's CronTrigger accepts (ranges checked)."""
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(expr, timezone=CHICAGO)
    except ValueError as exc:
        raise ValueError(f"schedule of job {job!r}: {part!r} is not a valid cron expression: "
                         f"{exc}") from None
    return " ".join(expr.split())


def effective_schedule(settings: Settings, live: bool | None = None) -> dict[str, list[Trigger]]:
    """Defaults, then the settings' overrides; the poll is off while the Live stream runs.

    A schedule for a job that does not exist, or `after` one, is refused with the job list.
    """
    from cbi.ops.runs import job_names

    specs = {**default_schedule(), **settings.schedule}
    if (settings.live if live is None else live) and "databento" not in settings.schedule:
        specs["databento"] = "off"
    known = job_names(settings)
    unknown = sorted(j for j in settings.schedule if j not in known)
    if unknown:
        raise ValueError(f"schedule: unknown job(s) {', '.join(map(repr, unknown))}; jobs: "
                         f"{', '.join(known)}")
    schedule = {job: parse(spec, job) for job, spec in specs.items()}
    for job, triggers in schedule.items():
        for t in triggers:
            missing = [j for j in t.after if j not in known]
            if missing and job in settings.schedule:
                raise ValueError(f"schedule of job {job!r}: 'after {','.join(t.after)}' names "
                                 f"unknown job(s) {', '.join(map(repr, missing))}; jobs: "
                                 f"{', '.join(known)}")
    return schedule


def dependents(schedule: dict[str, list[Trigger]], job: str) -> list[str]:
    return [j for j, triggers in schedule.items()
            if any(t.kind == "after" and job in t.after for t in triggers)]


class PipelineScheduler:
    """APScheduler in a background thread; each run goes through `run_job` (the run log).

    `speed` divides every interval (tests run an hour's schedule in a second).
    """

    def __init__(self, wh: Warehouse, settings: Settings, *, live: bool | None = None,
                 speed: float = 1.0, runner: Callable[..., dict[str, Any]] | None = None,
                 stale_check: bool = True) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        from cbi.ops.runs import run_job

        self.wh, self.settings, self.speed = wh, settings, speed
        self.runner = runner or run_job
        self.schedule = effective_schedule(settings, live)
        self.scheduler = BackgroundScheduler(
            timezone=CHICAGO,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 600})
        self.results: list[tuple[str, str]] = []  # (job, status), for `cbi serve` logs and tests
        self._add_triggers(stale_check)

    def _add_triggers(self, stale_check: bool) -> None:
        from apscheduler.triggers.cron import CronTrigger
        from apscheduler.triggers.interval import IntervalTrigger

        now = dt.datetime.now(CHICAGO)
        for job, triggers in self.schedule.items():
            for i, t in enumerate(triggers):
                first = None
                if t.kind == "every":  # feeds catch up at start, then keep their interval
                    trigger, first = IntervalTrigger(seconds=max(t.seconds / self.speed, 0.05)), now
                elif t.kind == "cron":
                    trigger = CronTrigger.from_crontab(t.cron, timezone=CHICAGO)
                else:
                    continue
                extra = {"next_run_time": first} if first else {}
                self.scheduler.add_job(self.run, trigger, args=[job], id=f"{job}#{i}", name=job,
                                       **extra)
        if stale_check:
            self.scheduler.add_job(self._check_staleness, IntervalTrigger(
                seconds=max(STALE_CHECK_SECONDS / self.speed, 0.05)), id="stale-check")

    def start(self) -> None:
        self.scheduler.start()
        log.info("scheduler started: %s", ", ".join(
            f"{j}={'/'.join(_describe(t) for t in ts)}" for j, ts in self.schedule.items() if ts))

    def shutdown(self, wait: bool = True) -> None:
        """Stop scheduling; with `wait`, the job in progress finishes its batch first."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)

    def run(self, job: str) -> None:
        """Run one job now (in the calling thread), then schedule what comes after it."""
        from cbi.ops.runs import STOPPING, JobFailed

        if STOPPING.is_set():
            return
        try:
            result = self.runner(self.wh, self.settings, job)
        except JobFailed:
            self.results.append((job, "failed"))  # logged and alerted by run_job
            return
        except Exception:  # noqa: BLE001 - the scheduler must outlive one bad run
            log.exception("job %s could not run", job)
            self.results.append((job, "error"))
            return
        self.results.append((job, "succeeded"))
        if int(result.get("rows_written") or 0) > 0:
            for dep in dependents(self.schedule, job):
                self.scheduler.add_job(self.run, args=[dep], id=f"{dep}#after",
                                       name=dep, replace_existing=True)

    def _check_staleness(self) -> None:
        from cbi.ops.alerts import check_staleness
        from cbi.ops.runs import mark_abandoned

        try:
            check_staleness(self.wh, self.settings)
            mark_abandoned(self.wh, self.settings)
        except Exception:  # noqa: BLE001 - a monitor must not kill the scheduler
            log.exception("staleness check failed")


def _describe(t: Trigger) -> str:
    if t.kind == "every":
        return f"every {_every(t.seconds)}"
    return f"cron '{t.cron}'" if t.kind == "cron" else f"after {','.join(t.after)}"


# ---- crontab ---------------------------------------------------------------------------------
#: Seconds a cron line waits for the lock before giving up (the previous run still holds it).
CRON_LOCK_WAIT_S = 300


def cron_paths(settings: Settings, folder: str) -> tuple[str, str]:
    """(lock file, log folder) for cron lines: the lock beside the DuckDB file (or in the
    folder for BigQuery), logs in the settings' `cron_log_dir` (relative to the folder)."""
    import os
    from urllib.parse import urlparse

    url = settings.warehouse
    if urlparse(url).scheme == "duckdb":
        path = url.split("://", 1)[1]
        path = path[1:] if path.startswith("/") else path
        db = os.path.normpath(os.path.join(folder, path))
        lock = f"{db}.cron.lock"
    else:
        lock = os.path.join(folder, "cbi.cron.lock")
    logs = os.path.normpath(os.path.join(folder, str(settings.cron_log_dir)))
    return lock, logs


def crontab_lines(settings: Settings, folder: str, cbi: str = "cbi") -> list[str]:
    """Crontab lines for the same schedule (no Live stream under cron: the poll runs).

    Each line runs under `flock` on one lock beside the warehouse (two runs never share the
    DuckDB file; a run waits up to CRON_LOCK_WAIT_S for the previous one) and appends its
    output to LOGDIR/JOB.log. A schedule cron cannot express exactly is refused.
    """
    schedule = effective_schedule(settings, live=False)
    lock, logs = cron_paths(settings, folder)
    lines = ["# cbi schedule (generated by `cbi cron`); times are exchange time",
             "CRON_TZ=America/Chicago"]

    def line(when: str, commands: list[str], log_name: str, comment: str) -> str:
        inner = " && ".join(commands)
        run = inner if len(commands) == 1 else f"sh -c {shlex.quote(inner)}"
        text = (f"cd {shlex.quote(folder)} && mkdir -p {shlex.quote(logs)} && "
                f"flock -w {CRON_LOCK_WAIT_S} {shlex.quote(lock)} {run} "
                f">> {shlex.quote(logs + '/' + log_name + '.log')} 2>&1")
        return f"{when} {_cron_escape(text)}  # {comment}"

    for job, triggers in schedule.items():
        chain = [f"{cbi} job {j}" for j in [job, *_chain(schedule, job)]]
        for t in triggers:
            when = _cron_expr(t, job)
            if when:
                lines.append(line(when, chain, job, f"{job}: {_describe(t)}"))
    lines.append(line("*/5 * * * *", [f"{cbi} status --alert"], "status",
                      "stale feeds and abandoned runs -> alerts"))
    return lines


def _cron_escape(text: str) -> str:
    return text.replace("%", "\\%")  # cron turns a bare % into a newline


def _chain(schedule: dict[str, list[Trigger]], job: str, seen: tuple[str, ...] = ()) -> list[str]:
    """Jobs that run after `job`, in order (features after fred, then predict after features)."""
    out: list[str] = []
    for dep in dependents(schedule, job):
        if dep not in seen and dep != job:
            out += [dep, *_chain(schedule, dep, (*seen, job, dep))]
    return out


def _cron_expr(t: Trigger, job: str = "?") -> str | None:
    """The crontab time fields of a trigger; ValueError when cron cannot run it as written."""
    if t.kind == "cron":
        return t.cron
    if t.kind != "every":
        return None
    where = f"schedule of job {job!r}: 'every {_every(t.seconds)}'"
    if t.seconds % 60:
        raise ValueError(f"{where}: cron starts jobs on whole minutes only; use a multiple of "
                         "1m (or `cbi serve`, which runs any interval)")
    minutes = int(t.seconds // 60)
    if minutes < 60:
        if 60 % minutes:
            raise ValueError(f"{where}: cron can repeat only minute steps that divide an hour "
                             "(1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30m); `*/N` restarts each hour")
        return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"
    if minutes % 60:
        raise ValueError(f"{where}: over an hour, cron repeats whole hours only")
    hours = minutes // 60
    if hours < 24:
        if 24 % hours:
            raise ValueError(f"{where}: cron can repeat only hour steps that divide a day "
                             "(1, 2, 3, 4, 6, 8, 12h); `*/N` restarts each day")
        return "0 * * * *" if hours == 1 else f"0 */{hours} * * *"
    if hours == 24:
        return "0 0 * * *"
    raise ValueError(f"{where}: cron cannot repeat every few days (`*/N` in day-of-month "
                     "restarts each month); write `cron M H * * DOW` instead")


def _every(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
