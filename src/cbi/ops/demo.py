"""`cbi run` (one full pipeline cycle) and `cbi demo` (the same on the sandbox, then serve).

The demo works in an empty folder: it starts the sandbox (SIMULATED data, served through the
real Databento, FRED and NewsAPI clients), backfills about five years, builds features,
exports, trains, predicts, and then serves the dashboard with the live sandbox stream.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from cbi.ops.runs import JobFailed

log = logging.getLogger(__name__)

FEEDS = ("databento", "fred", "news")
#: A failure here stops the jobs after it (they would read nothing new).
CHAIN = ("features", "export", "train", "predict")
CYCLE = (*FEEDS, *CHAIN)
#: Five years: the 12-month horizon's walk-forward needs a first window plus twice its
#: 252-day embargo of labelled rows, so two years cannot forecast it.
DEMO_DAYS = 1830


@dataclass
class CycleReport:
    steps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s["status"] == "succeeded" for s in self.steps)

    @property
    def skipped(self) -> dict[str, str]:
        """Horizons a succeeded step skipped (train: too little history; predict: no model)."""
        return {f"{s['job']} {h}": why for s in self.steps for h, why in (s.get("skipped") or {}).items()}


def run_cycle(run: Callable[[str, dict], dict], options: dict[str, dict] | None = None,
              echo: Callable[[str], None] = print, jobs: tuple[str, ...] = CYCLE) -> CycleReport:
    """Feeds (each on its own: one failing does not stop the others), then the chain."""
    options = options or {}
    report = CycleReport()
    broken = False
    for job in jobs:
        if broken and job in CHAIN:
            report.steps.append({"job": job, "status": "skipped", "seconds": 0.0})
            echo(f"- {job}: skipped (an earlier step failed)")
            continue
        t0 = time.monotonic()
        try:
            result = run(job, options.get(job, {}))
            status = "succeeded"
        except Exception as exc:  # noqa: BLE001 - reported per step; the cycle exits non-zero
            result, status = {"error": str(exc)}, "failed"
            broken = broken or job in CHAIN
        seconds = round(time.monotonic() - t0, 1)
        report.steps.append({"job": job, "status": status, "seconds": seconds, **result})
        echo(_line(job, status, seconds, result))
    return report


def _line(job: str, status: str, seconds: float, result: dict[str, Any]) -> str:
    if status != "succeeded":
        return f"x {job}: {status} after {seconds}s: {result.get('error')}"
    line = (f"+ {job}: {result.get('rows_read', 0)} rows read, "
            f"{result.get('rows_written', 0)} written ({seconds}s)")
    skipped = result.get("skipped") or {}
    return line + "".join(f"\n  ! {why}" for why in skipped.values())


def backfill_options(days: int, today: dt.date | None = None) -> dict[str, dict[str, Any]]:
    """Options for the first cycle on an empty warehouse: about `days` of history."""
    today = today or dt.date.today()
    start = (today - dt.timedelta(days=days)).isoformat()
    return {
        "databento": {"start": start},
        "fred": {},  # FRED plans from its watermark: the whole sandbox history the first time
        # NewsAPI reaches one month back at most; the sandbox's few articles a day fit
        # weekly windows (under the 100-article page), a quarter of the requests and merges.
        "news": {"window_hours": 24 * 7},
        "features": {"full": True},
        # The first training window is the `min_train_rows` setting (`demo_settings`).
        "train": {"model": "tree", "surface": "prod"},
        "predict": {"surface": "prod"},
    }


def demo_settings(folder: Path, **overrides: Any):
    """Settings that keep everything inside `folder` and use the sandbox."""
    from cbi.config import Settings

    folder = folder.resolve()
    # One year of first training window (not the default three): the 12-month horizon then
    # needs 1 + 2 years of labelled rows, so the demo's five years forecast every horizon.
    # A later `cbi run` with the default setting skips (and says so) the horizons that
    # lack history for it, and trains the others.
    values = {"warehouse": f"duckdb:///{folder}/cbi.duckdb", "sandbox": True, "min_train_rows": 252,
              "export_dir": folder / "TrainingData" / "exports",
              "models_dir": folder / "Models" / "local"}
    return Settings(**{**values, **overrides})


#: Tables whose rows mean a warehouse already holds someone's data (the demo would mix its
#: SIMULATED rows into them).
HELD = ("market_data.futures_ohlcv_1d", "market_data.databento_futures_ohlcv_1m",
        "market_data.fred_economic_indicators", "ops.pipeline_runs")


def configured_warehouse(settings) -> str | None:
    """The warehouse the user chose (`-w`, CBI_WAREHOUSE or cbi.toml), None for the default:
    the demo then keeps its own DuckDB file in its folder."""
    return settings.warehouse if "warehouse" in settings.model_fields_set else None


def refuse_clobber(wh, yes: bool) -> None:
    """Stop before the demo writes SIMULATED rows into a warehouse that holds data, unless
    the user said `--yes`."""
    from cbi.errors import UsageError

    held = {}
    for fqn in HELD:
        try:
            n = wh.row_count(fqn) if wh.table_exists(fqn) else 0
        except Exception:  # noqa: BLE001 - a table we cannot count is not a reason to refuse
            n = 0
        if n:
            held[fqn] = n
    if held and not yes:
        listed = ", ".join(f"{wh.dataset_prefix}{fqn} ({n:,} rows)" for fqn, n in held.items())
        raise UsageError(
            f"refused: {wh.url.split('?')[0]} already holds data ({listed}); the demo would mix "
            "SIMULATED sandbox rows into it. Point -w at a separate project or file for the "
            "demo (on BigQuery, or the same project with its own datasets: "
            "&dataset_prefix=demo_ in the URL), or pass --yes to write there anyway; "
            "nothing changed")


def run_demo(folder: Path, *, serve: bool = True, days: int = DEMO_DAYS, seed: int = 7,
             echo: Callable[[str], None] = print, warehouse: str | None = None,
             yes: bool = False, settings_overrides: dict[str, Any] | None = None) -> CycleReport:
    """The whole pipeline on the sandbox in `folder`; then (with `serve`) the dashboard.

    `warehouse`: the configured warehouse (BigQuery or another DuckDB file) instead of the
    folder's own `cbi.duckdb`; one that already holds data is refused without `yes`. On
    BigQuery the datasets are those the URL names (`dataset_prefix=demo_`: `demo_market_data`…).
    `settings_overrides`: other settings of the run (a test's short history: `min_train_rows`,
    `roots`…).
    """
    from cbi import sandbox
    from cbi.ops.runs import run_job
    from cbi.warehouse import connect

    folder.mkdir(parents=True, exist_ok=True)
    echo(f"cbi demo in {folder.resolve()}: {sandbox.SIMULATED}")
    overrides = {**(settings_overrides or {}), **({"warehouse": warehouse} if warehouse else {})}
    settings = demo_settings(folder, sandbox_seed=seed, **overrides)
    with connect(settings=settings) as probe:
        if warehouse:
            refuse_clobber(probe, yes)
        where = probe.url.split("?")[0]
        if probe.engine == "bigquery":
            where += " (datasets " + ", ".join(probe.datasets) + ")"
    echo(f"demo warehouse: {where}")
    if not warehouse:
        _keep_folder_settings(folder, echo)
    with sandbox.sandbox_session(settings, every=True) as settings:
        t0 = time.monotonic()
        with connect(settings=settings) as wh:
            wh.init()
            report = run_cycle(lambda job, opts: run_job(wh, settings, job, **opts),
                               backfill_options(days), echo)
            echo(f"batch part: {time.monotonic() - t0:.0f}s; tables written to {where}")
            if warehouse:  # the URL that reads them again (a prefix is part of it)
                echo(f"serve them later: cbi -w '{warehouse}' serve")
            if serve and report.ok:
                _serve(settings, wh, echo)
        return report


#: What the commands run later in a demo folder need to carry on where the demo left off.
FOLDER_SETTINGS = """\
# Written by `cbi demo`: this folder's warehouse holds SIMULATED sandbox data, so the commands
# run here (cbi run, cbi job, cbi serve) keep using the sandbox, and the demo's one-year first
# training window (`min_train_rows`). Remove this file before pointing the folder at live data.
sandbox = true
min_train_rows = 252
"""


def _keep_folder_settings(folder: Path, echo: Callable[[str], None]) -> None:
    """A `cbi.toml` in the demo folder, unless one is there: `cbi run` after the demo then
    runs the same cycle on the same sandbox (the demo's settings are not hidden options)."""
    path = folder / "cbi.toml"
    if path.exists():
        return
    path.write_text(FOLDER_SETTINGS)
    echo(f"wrote {path}: sandbox = true, min_train_rows = 252 (for `cbi run` here later)")


def _serve(settings, wh, echo: Callable[[str], None]) -> None:
    from cbi.ops.serve import serve

    def ready(url: str | None) -> None:
        echo(f"Dashboard: {url}  (SIMULATED sandbox data; Ctrl-C stops)")

    serve(settings, wh=wh, dashboard=True, live=True, on_ready=ready)


def cycle_here_or_in_owner(settings, echo: Callable[[str], None] = print,
                           options: dict[str, dict] | None = None,
                           jobs: tuple[str, ...] = CYCLE) -> CycleReport:
    """`cbi run`: each job in the owner when one runs, else in this process."""
    from cbi import sandbox
    from cbi.ops.owner import find_owner, submit

    owner = find_owner(settings)
    if owner is not None:
        echo(f"cbi serve (pid {owner.pid}) owns the warehouse: running the cycle there")
        return run_cycle(lambda job, opts: submit(owner, job, opts, echo), options, echo, jobs)
    from cbi.ops.runs import run_job
    from cbi.warehouse import connect

    if sandbox.session.needed(settings):
        echo(f"sandbox feeds: {sandbox.SIMULATED}")
    with sandbox.sandbox_session(settings) as settings, connect(settings=settings) as wh:
        wh.init()
        from cbi.ops.runs import mark_abandoned

        mark_abandoned(wh, settings)  # runs of a killed cycle end before this one starts
        return run_cycle(lambda job, opts: run_job(wh, settings, job, **opts), options, echo,
                         jobs)


__all__ = ["CYCLE", "CycleReport", "JobFailed", "backfill_options", "cycle_here_or_in_owner",
           "demo_settings", "run_cycle", "run_demo"]
