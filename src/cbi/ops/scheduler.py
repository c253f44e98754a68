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
from typing import Any, Callable

from cbi.ops.calendar import CHICAGO

log = logging.getLogger(__name__)

DEFAULT_SCHEDULE: dict[str, str] = {
    "databento": "every 5m",  # only when live is off; the Live stream replaces it
    "fred": "every 1h",
    "news": "every 30m",  # 48 requests a day per query: inside NewsAPI's 100
    "features": "after databento,fred; cron 30 16 * * 1-5",  # 16:30 CT: after every close
    "predict": "after features",
    "export": "cron 0 3 * * *",
    "train": "cron 0 4 * * 0",  # weekly, Sunday before the evening open
    "retention": "cron 30 2 * * *",
}
STALE_CHECK_SECONDS = 300
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


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
            out.append(Trigger("cron", cron=rest))
        elif word == "after" and rest:
            out.append(Trigger("after", after=tuple(j.strip() for j in rest.split(","))))
        else:
            raise ValueError(f"schedule of job {job!r}: cannot read {part!r}; use 'every 5m', "
                             "'cron M H DOM MON DOW', 'after JOB[,JOB]' or 'off'")
    return out


def effective_schedule(settings, live: bool | None = None) -> dict[str, list[Trigger]]:
    """Defaults, then the settings' overrides; the poll is off while the Live stream runs."""
    specs = {**DEFAULT_SCHEDULE, **settings.schedule}
    if (settings.live if live is None else live) and "databento" not in settings.schedule:
        specs["databento"] = "off"
    return {job: parse(spec, job) for job, spec in specs.items()}


def dependents(schedule: dict[str, list[Trigger]], job: str) -> list[str]:
    return [j for j, triggers in schedule.items()
            if any(t.kind == "after" and job in t.after for t in triggers)]


class PipelineScheduler:
    """APScheduler in a background thread; each run goes through `run_job` (the run log).

    `speed` divides every interval (tests run an hour's schedule in a second).
    """

    def __init__(self, wh, settings, *, live: bool | None = None, speed: float = 1.0,
                 runner: Callable[..., dict[str, Any]] | None = None,
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

        try:
            check_staleness(self.wh, self.settings)
        except Exception:  # noqa: BLE001 - a monitor must not kill the scheduler
            log.exception("staleness check failed")


def _describe(t: Trigger) -> str:
    if t.kind == "every":
        return f"every {t.seconds:g}s"
    return f"cron '{t.cron}'" if t.kind == "cron" else f"after {','.join(t.after)}"


# ---- crontab ---------------------------------------------------------------------------------
def crontab_lines(settings, folder: str, cbi: str = "cbi") -> list[str]:
    """Crontab lines for the same schedule (no Live stream under cron: the poll runs)."""
    schedule = effective_schedule(settings, live=False)
    prefix = f"cd {shlex.quote(folder)} && "
    lines = ["# cbi schedule (generated by `cbi cron`); times are exchange time",
             "CRON_TZ=America/Chicago"]
    for job, triggers in schedule.items():
        chain = " && ".join(f"{cbi} job {j}" for j in [job, *_chain(schedule, job)])
        for t in triggers:
            when = _cron_expr(t)
            if when:
                lines.append(f"{when} {prefix}{chain}  # {job}: {_describe(t)}")
    lines.append(f"*/5 * * * * {prefix}{cbi} status --alert >/dev/null  # stale feeds -> alerts")
    return lines


def _chain(schedule: dict[str, list[Trigger]], job: str, seen: tuple[str, ...] = ()) -> list[str]:
    """Jobs that run after `job`, in order (features after fred, then predict after features)."""
    out: list[str] = []
    for dep in dependents(schedule, job):
        if dep not in seen and dep != job:
            out += [dep, *_chain(schedule, dep, (*seen, job, dep))]
    return out


def _cron_expr(t: Trigger) -> str | None:
    if t.kind == "cron":
        return t.cron
    if t.kind != "every":
        return None
    minutes = max(1, round(t.seconds / 60))
    if minutes < 60:
        return f"*/{minutes} * * * *"
    hours = max(1, round(minutes / 60))
    if hours < 24:
        return f"0 */{hours} * * *" if hours > 1 else "0 * * * *"
    return "0 0 * * *"
