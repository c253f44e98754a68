"""Operations commands: serve, run, demo, job, cron, status, cost, secrets, iam.

Each is thin: it finds the owner (or opens the warehouse) and hands off to `cbi.ops`.
Their help texts are the ones `docs/operating.md` quotes (a test compares them).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, List, Optional

import typer

from cbi.errors import EXIT_SKIPPED

if TYPE_CHECKING:
    from cbi.config import Settings
    from cbi.warehouse.base import Warehouse

secrets_app = typer.Typer(help="Store API keys in the OS keychain (env variables are the fallback).",
                          no_args_is_help=True)
iam_app = typer.Typer(help="BigQuery dataset access per role (collector, training, dashboard, operator).",
                      no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the `cbi` app."""
    for fn, name in ((serve_cmd, "serve"), (run_cmd, "run"), (demo_cmd, "demo"), (job_cmd, "job"),
                     (cron_cmd, "cron"), (status_cmd, "status"), (cost_cmd, "cost")):
        app.command(name)(fn)
    app.add_typer(secrets_app, name="secrets")
    app.add_typer(iam_app, name="iam")


def _echo(line: str) -> None:
    from cbi.console import console

    console.print(line, highlight=False, markup=False)


def _log_line(line: str) -> None:
    """A log line of a job run in the owner: on stderr, as this process's own log would be
    (and, like it at -q's WARNING level, hidden by -q)."""
    from cbi.console import quiet

    if not quiet():
        print(line, file=sys.stderr, flush=True)


def serve_cmd(
    dashboard: bool = typer.Option(True, "--dashboard/--no-dashboard", help="Serve the dashboard too."),
    live: Optional[bool] = typer.Option(None, "--live/--no-live",
                                        help="Stream Databento Live (default: the `live` setting)."),
) -> None:
    """Own the warehouse: run the schedule, the Live stream, the job API and the dashboard."""
    from typer._click.globals import get_current_context

    from cbi.config import get_settings
    from cbi.ops.serve import serve

    commands = get_current_context().find_root().command  # what forwarded commands run
    _debug_for_forwarded_commands()
    serve(get_settings(), dashboard=dashboard, live=live, commands=commands,
          on_ready=lambda url: _echo(f"cbi serve ready{': dashboard at ' + url if url else ''}"))


def _debug_for_forwarded_commands() -> None:
    """The owner's own log keeps its level; records reach DEBUG so that a forwarded `cbi -v …`
    gets its debug lines, like the same command run alone."""
    import logging

    root = logging.getLogger()
    for handler in root.handlers:
        if handler.level == logging.NOTSET:
            handler.setLevel(root.level)
    root.setLevel(logging.DEBUG)


def run_cmd() -> None:
    """Run one full cycle now (feeds, features, export, train, predict, retention), no serving."""
    from cbi.config import get_settings
    from cbi.console import progress
    from cbi.ops.demo import CYCLE, cycle_here_or_in_owner

    jobs = (*CYCLE, "retention")
    with progress("cycle", total=len(jobs)) as bar:
        def echo(line: str) -> None:
            _echo(line)
            if line[:2] in ("+ ", "x ", "- "):
                bar.advance(description=f"cycle: {line[2:].split(':')[0]} done")

        report = cycle_here_or_in_owner(get_settings(), echo, jobs=jobs)
    if not report.ok:
        raise typer.Exit(1)
    if report.skipped:  # every step succeeded, but some horizons were skipped (said above)
        _echo("skipped: " + ", ".join(report.skipped))
        raise typer.Exit(EXIT_SKIPPED)


def demo_cmd(
    serve: bool = typer.Option(True, "--serve/--no-serve",
                               help="After predictions, serve the dashboard (--no-serve stops)."),
    folder: Path = typer.Option(Path("."), "--folder", help="Where the demo keeps its files."),
    days: int = typer.Option(1830, "--days", help="Days of sandbox history to backfill."),
    yes: bool = typer.Option(False, "--yes",
                             help="Write into the configured warehouse (-w, cbi.toml) even if it holds data."),
) -> None:
    """The whole pipeline on the sandbox (SIMULATED data), then the dashboard."""
    # The configured warehouse (-w, CBI_WAREHOUSE, cbi.toml) when one is set, else a DuckDB
    # file in --folder; a warehouse that already holds data is refused without --yes.
    from cbi.config import get_settings
    from cbi.console import progress
    from cbi.ops.demo import CYCLE, configured_warehouse, run_demo

    with progress("demo", total=len(CYCLE)) as bar:
        def echo(line: str) -> None:
            _echo(line)
            if line[:2] in ("+ ", "x ", "- "):
                bar.advance(description=f"demo: {line[2:].split(':')[0]} done")

        report = run_demo(folder, serve=serve, days=days, echo=echo,
                          warehouse=configured_warehouse(get_settings()), yes=yes)
    if not report.ok:
        raise typer.Exit(1)


def _parse_options(pairs: List[str]) -> dict:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            from cbi.console import fail

            fail(f"option {pair!r}: write KEY=VALUE")
        try:  # not an error path: a JSON value when it parses, else the text itself
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def job_cmd(
    name: str = typer.Argument(..., help="A job of cbi.jobs.JOBS (or extra_jobs)."),
    option: List[str] = typer.Option([], "--option", "-o", help="KEY=VALUE passed to the job."),
) -> None:
    """Run one pipeline job, in the running `cbi serve` if there is one, with its run log."""
    from cbi.config import get_settings
    from cbi.console import fail, feed_session, info
    from cbi.ops.owner import dispatch
    from cbi.ops.runs import job_names

    settings = get_settings()
    if name not in job_names(settings):
        fail(f"unknown job {name!r}; jobs: {', '.join(job_names(settings))}")
    with feed_session(name):  # a feed job's stand-ins in sandbox mode; settings re-read inside
        result = dispatch(get_settings(), name, _parse_options(option), _log_line, on_note=info)
    _echo(f"{name}: {json.dumps(result, default=str)}")
    if isinstance(result, dict) and result.get("skipped"):  # e.g. train: horizons lacking history
        for why in result["skipped"].values():
            _echo(f"! {why}")
        raise typer.Exit(EXIT_SKIPPED)


def cron_cmd(
    folder: Path = typer.Option(Path("."), "--folder", help="The folder cron should cd into."),
) -> None:
    """Print crontab lines for the same schedule as `cbi serve` (for cron users)."""
    from cbi.config import get_settings
    from cbi.ops.scheduler import crontab_lines

    cbi = str(Path(sys.argv[0]).resolve()) if sys.argv and sys.argv[0].endswith("cbi") else "cbi"
    for line in crontab_lines(get_settings(), str(folder.resolve()), cbi):
        print(line)


def _report(what: str, compute: Callable[[Warehouse, Settings], dict[str, Any]]) -> Any:
    """A read from the owner when it holds the file, else from the warehouse opened here."""
    from cbi.config import get_settings
    from cbi.console import fail, info, open_warehouse
    from cbi.ops.owner import fetch, find_owner
    from cbi.warehouse import WarehouseError

    settings = get_settings()
    owner = find_owner(settings, on_stale=info)
    if owner is not None:
        return fetch(owner, what)
    with open_warehouse(read_only=what != "status/alert") as wh:
        try:  # kept: a missing ops table here means a new warehouse; say what to run
            if what == "status/alert":
                from cbi.ops.runs import mark_abandoned

                mark_abandoned(wh, settings)
            return json.loads(json.dumps(compute(wh, settings), default=str))
        except WarehouseError as exc:
            fail(f"{exc}\n(a new warehouse? run `cbi init` first)")


def status_cmd(
    alert: bool = typer.Option(False, "--alert", help="Also raise/resolve stale-feed alerts (for cron)."),
    fmt: str = typer.Option("table", "--format", "-f", help="table | json"),
    as_json: bool = typer.Option(False, "--json", hidden=True, help="Same as --format json."),
) -> None:
    """Show feed freshness, the last runs and open alerts; exit 1 if a feed is stale or a job failed."""
    from cbi.console import check_format, print_json
    from cbi.ops.status import healthy, status_report

    fmt = check_format("json" if as_json else fmt, ("table", "json"))
    report = _report("status/alert" if alert else "status",
                     lambda wh, s: status_report(wh, s, raise_alerts=alert))
    if fmt == "json":
        print_json(report)
    else:
        _print_status(report)
    if not healthy(report):
        raise typer.Exit(1)


def _aged(at, age_s) -> str:
    """A time and its age: '2026-11-27 21:00:00+00:00 (5400 s ago)', or 'never'."""
    if at is None:
        return "never"
    return f"{at} ({age_s:.0f} s ago)" if age_s is not None else str(at)


def _print_status(report: dict) -> None:
    from rich.table import Table

    from cbi.console import console

    fresh = Table("feed", "subject", "newest observation", "written", "market min since", "state",
                  title="feed freshness")
    for f in report["freshness"]:
        state = "[red]STALE[/]" if f["stale"] else "[green]ok[/]"
        fresh.add_row(f["feed"], f["subject"], _aged(f.get("observed_at", f["last_at"]), f.get("observed_age_s")),
                      _aged(f.get("written_at"), f.get("written_age_s")),
                      "" if f["open_minutes_since"] is None else str(f["open_minutes_since"]),
                      f"{state} {f['note']}")
    console.print(fresh)
    runs = Table("job", "started", "status", "read", "written", "error", title="last runs")
    for r in report["recent"]:
        colour = {"succeeded": "green", "failed": "red", "abandoned": "red"}.get(r["status"], "yellow")
        runs.add_row(r["job"], str(r["started_at"]), f"[{colour}]{r['status']}[/]",
                     str(r["rows_read"]), str(r["rows_written"]), (r["error"] or "")[:80])
    console.print(runs)
    for a in report["alerts"]:
        console.print(f"[red]open alert[/] {a['kind']} {a['subject']}: {a['message']}")
    if report["stale"] or report["failed"]:
        console.print(f"[red]unhealthy[/]: stale {report['stale']}, failed jobs {report['failed']}")


def cost_cmd(
    fmt: str = typer.Option("table", "--format", "-f", help="table | json"),
    as_json: bool = typer.Option(False, "--json", hidden=True, help="Same as --format json."),
) -> None:
    """Month-to-date BigQuery bytes and a dollar estimate against the free tier."""
    from cbi.console import check_format, console, print_json
    from cbi.ops.cost import human_bytes
    from cbi.ops.status import cost_report

    fmt = check_format("json" if as_json else fmt, ("table", "json"))
    report = _report("cost", cost_report)
    if fmt == "json":
        print_json(report)
        return
    console.print(f"month to date (since {report['month_start']}): {report['jobs']} queries, "
                  f"{human_bytes(report['bytes_processed'])} processed, "
                  f"{human_bytes(report['bytes_billed'])} billed")
    console.print(f"free tier {human_bytes(report['free_tier_bytes'])}: "
                  f"{report['free_tier_used']:.1%} used; estimate ${report['estimate_usd']:.2f} "
                  f"at ${report['price_per_tib']}/TiB beyond it")
    for row in report["by_job"]:
        console.print(f"  {row['job']}: {human_bytes(row['bytes_billed'])} in {row['queries']} queries")


# ---- secrets ---------------------------------------------------------------------------------
@secrets_app.command("set")
def secrets_set(
    name: str = typer.Argument(..., help="DATABENTO_API_KEY, FRED_API_KEY, NEWSAPI_KEY, ALERT_WEBHOOK_URL…"),
    value: Optional[str] = typer.Option(None, "--value", help="The value (default: prompt, hidden)."),
) -> None:
    """Store a secret in the OS keychain (macOS Keychain, Secret Service, Windows)."""
    from cbi.secrets import set_secret

    value = value if value is not None else typer.prompt(name, hide_input=True)
    set_secret(name, value)
    _echo(f"{name} stored in the keychain")


@secrets_app.command("get")
def secrets_get(
    name: str = typer.Argument(..., help="The secret's name."),
    show: bool = typer.Option(False, "--show", help="Print the value itself (default: masked)."),
) -> None:
    """Say whether a secret is set and where (keychain or environment); masked unless --show."""
    from cbi.secrets import _keyring, get_secret

    value = get_secret(name)
    if not value:
        _echo(f"{name} is not set (keychain or environment)")
        raise typer.Exit(1)
    source = "environment" if os.environ.get(name) == value and not _in_keychain(_keyring(), name) \
        else "keychain"
    _echo(f"{name} = {value if show else value[:2] + '***'} (from the {source})")


def _in_keychain(kr, name: str) -> bool:
    try:
        return bool(kr and kr.get_password("cbi", name))
    except Exception:  # noqa: BLE001 - no usable backend
        return False


@secrets_app.command("delete")
def secrets_delete(name: str = typer.Argument(..., help="The secret's name.")) -> None:
    """Remove a secret from the keychain (environment variables are untouched)."""
    from cbi.secrets import delete_secret

    if not delete_secret(name):
        _echo(f"{name} was not in the keychain")
        raise typer.Exit(1)
    _echo(f"{name} deleted from the keychain")


# ---- iam -------------------------------------------------------------------------------------
@iam_app.command("plan")
def iam_plan(apply: bool = typer.Option(False, "--apply", help="Add the missing entries through the BigQuery API.")) -> None:
    """Print the dataset access entries of each role; --apply adds the missing ones."""
    from cbi.config import get_settings
    from cbi.console import fail, open_warehouse
    from cbi.ops import iam

    settings = get_settings()
    if not settings.warehouse.startswith("bigquery://"):
        fail("cbi iam needs a BigQuery warehouse (warehouse = \"bigquery://PROJECT\"); "
             "DuckDB has no dataset access: roles there are read-only connections")
    project = settings.warehouse.split("://", 1)[1].split("?", 1)[0]
    entries = iam.plan(project, settings.iam_members)
    for e in entries:
        _echo(f"{project}.{e.dataset}: {e.role:6} {e.member}  ({e.for_role})")
    for role, grants in iam.PROJECT_ROLES.items():
        _echo(f"project {project}: {', '.join(grants)} for "
              f"{iam.member_for(role, project, settings.iam_members)}  ({role}; project IAM)")
    _echo(f"APIs to enable on {project}: {', '.join(iam.APIS)}")
    if apply:
        with open_warehouse() as wh:
            added = iam.apply(wh.client, project, entries)
        _echo(f"applied: {len(added)} entr{'y' if len(added) == 1 else 'ies'} added, "
              f"{len(entries) - len(added)} already present")
