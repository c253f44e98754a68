"""The `cbi` command: thin commands that hand off to the pipeline.

Each area registers its own commands from its own module (`COMMAND_MODULES`), so adding a
command touches that area only. Errors reach one handler (`CbiGroup.invoke`): one line on
stderr, the error's exit code (`cbi.errors`), the traceback only with `-v`. Output helpers
live in `cbi.console`; the names below are re-exported for modules not yet moved to it.
"""

from __future__ import annotations

import logging
import os
import sys
from importlib import import_module
from typing import List, Optional

import typer
from typer import _click
from typer.core import TyperGroup

from cbi.config import get_settings
from cbi.console import (  # noqa: F401 - re-exported: cbi.cli's old helper names
    check_format,
    console,
    err,
    fail,
    open_warehouse,
    print_records,
    report_error,
    set_flags,
    stderr,
)
from cbi.secrets import install_log_redaction


class CbiGroup(TyperGroup):
    """The root group: `--file A B` reads as `--file A --file B`, and the one error handler."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        from cbi.ops.forward import expand_multi

        return super().parse_args(ctx, expand_multi(self, list(args)))

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, _click.ClickException, BrokenPipeError):
            raise  # typer's own handling (a closed pipe, `| head`, ends quietly)
        except KeyboardInterrupt:
            raise typer.Exit(report_error(KeyboardInterrupt("interrupted"))) from None
        except Exception as exc:  # noqa: BLE001 - the one handler: one line, its exit code
            raise typer.Exit(report_error(exc)) from None


app = typer.Typer(
    cls=CbiGroup,
    help="CBI: commodity futures forecasts from live feeds (Databento, FRED, NewsAPI).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

#: Modules that add commands with `register(app)`; one line per area.
COMMAND_MODULES = (
    "cbi.feeds.commands",
    "cbi.transform.commands",
    "cbi.models.commands",
    "cbi.dashboard.commands",
    "cbi.ops.commands",
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            v = version("cbi")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            v = "unknown"
        typer.echo(f"cbi {v}")
        raise typer.Exit(0)


@app.callback()
def _main(
    warehouse: Optional[str] = typer.Option(
        None, "--warehouse", "-w", help="Warehouse URL (overrides cbi.toml and CBI_WAREHOUSE)."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug detail; tracebacks on errors."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only results and errors: no progress, no notes."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    from cbi.console import LOG_FORMAT, forwarded

    set_flags(verbose=verbose, quiet=quiet)
    if forwarded():  # in the owner: its process-wide logging and settings stay as they are
        return
    level = logging.DEBUG if verbose else (logging.WARNING if quiet else logging.INFO)
    logging.basicConfig(level=level, format=LOG_FORMAT)
    logging.getLogger().setLevel(level)
    for noisy in ("httpx", "httpcore", "urllib3", "google", "sqlglot"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    install_log_redaction()
    if warehouse:
        os.environ["CBI_WAREHOUSE"] = warehouse
        from cbi.config import reset_settings_cache

        reset_settings_cache()


@app.command("config")
def config_cmd(
    fmt: str = typer.Option("table", "--format", "-f", help="table | csv | json"),
    as_json: bool = typer.Option(False, "--json", hidden=True, help="Same as --format json."),
) -> None:
    """Print the effective settings (cbi.toml < CBI_* env < flags), secrets masked."""
    fmt = check_format("json" if as_json else fmt)
    settings = get_settings()
    values = settings.masked()
    if fmt == "json":
        from cbi.console import print_json

        print_json(values)
        return
    rows = [{"setting": name, "value": values[name] if fmt == "csv" else _json(values[name]),
             "meaning": field.description or ""}
            for name, field in type(settings).model_fields.items()]
    if fmt == "csv":
        for row in rows:
            row["value"] = _json(row["value"]) if not isinstance(row["value"], str) else row["value"]
    print_records(rows, fmt, title="effective settings", max_rows=len(rows))


def _json(value) -> str:
    import json

    return json.dumps(value, default=str)


@app.command("init")
def init_cmd() -> None:
    """Create every dataset, table and view that is missing (idempotent; never alters)."""
    with open_warehouse() as wh:
        report = wh.init()
    for ds in report.datasets_created:
        console.print(f"created dataset {ds}")
    console.print(f"{wh.url}: created {len(report.created)} table(s), found {len(report.found)}")
    for name in report.created:
        console.print(f"  + {name}")


@app.command("verify")
def verify_cmd(
    data: bool = typer.Option(False, "--data", help="Also run the data-quality gates."),
    bigquery: bool = typer.Option(
        False, "--bigquery",
        help="Also check a real BigQuery project is ready: APIs, each role's credentials and "
             "dataset access, maximum_bytes_billed, partition expiration (each with its fix)."),
    fmt: str = typer.Option("table", "--format", "-f", help="table | csv | json"),
) -> None:
    """Check every expected table, its columns, types and partitioning; exit 1 on drift."""
    fmt = check_format(fmt)
    with open_warehouse(read_only=True) as wh:
        checks = wh.verify()
        if bigquery:
            from cbi.ops.readiness import readiness
            from cbi.warehouse.base import Check

            checks += [Check(r.subject, r.check, r.ok, r.detail + (f"; fix: {r.fix}" if r.fix and not r.ok else ""))
                       for r in readiness(wh, get_settings())]
        quality_ok = True
        if data:
            from cbi.quality import print_report, run_gates

            report = run_gates(wh, get_settings())
            if fmt == "table":
                print_report(report, console)
            quality_ok = report.ok
    rows = [{"table": c.table, "check": c.check, "ok": c.ok, "detail": c.detail} for c in checks]
    bad = [c for c in checks if not c.ok]
    if fmt == "table":
        from rich.table import Table

        table = Table("table", "check", "ok", "detail", title=f"verify {wh.url}")
        for c in checks:
            table.add_row(c.table, c.check, "[green]ok[/]" if c.ok else "[red]FAIL[/]", c.detail)
        console.print(table)
        console.print(f"{len(checks) - len(bad)} of {len(checks)} checks passed")
    else:
        print_records(rows, fmt)
    if bad or not quality_ok:
        raise typer.Exit(1)


@app.command("query")
def query_cmd(
    sql: str = typer.Argument(..., help="One read-only SQL statement (BigQuery dialect)."),
    fmt: str = typer.Option("table", "--format", "-f", help="table | csv | json | ndjson"),
    max_rows: Optional[int] = typer.Option(
        None, "--max-rows", "-n",
        help="Rows to print (default 200 for a table, all for csv/json/ndjson)."),
    param: List[str] = typer.Option([], "--param", "-p",
                                    help="name=value for an @name parameter (repeatable)."),
) -> None:
    """Run a read-only query; writes are refused and nothing changes."""
    from cbi.warehouse.base import check_query

    fmt = check_format(fmt, ("table", "csv", "json", "ndjson"))
    params = parse_params(param)
    check_query(sql)
    with open_warehouse(read_only=True, role="operator") as wh:
        result = wh.query(sql, params or None)
    print_records(result, fmt, max_rows=max_rows)


def parse_params(pairs: List[str]) -> dict:
    """`name=value` pairs: JSON values (numbers, true, null, "text"), ISO dates and times,
    else the text itself."""
    import datetime as dt
    import json
    import re

    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            fail(f"--param {pair!r}: write name=value (name: letters, digits, _)")
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            out[name] = dt.date.fromisoformat(value)
        elif re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?",
                          value):
            out[name] = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        else:
            try:
                out[name] = json.loads(value)
            except ValueError:
                out[name] = value
    return out


def print_arrow(result, fmt: str) -> None:
    """Old name of `cbi.console.print_records` for an Arrow table."""
    print_records(result, fmt)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        import_module(name).register(app)


_register_all()


def main() -> None:
    from cbi.ops.forward import forward

    root = typer.main.get_command(app)
    try:
        code = forward(sys.argv[1:], root)  # a running `cbi serve` owns the DuckDB file: run it there
    except BrokenPipeError:  # `cbi query … | head`: the reader left; nothing to report
        _quiet_pipe()
        raise SystemExit(1) from None
    except Exception as exc:  # noqa: BLE001 - settings, owner: the same one-line errors
        raise SystemExit(report_error(exc)) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    if code is not None:
        raise SystemExit(code)
    root.main(args=sys.argv[1:], prog_name="cbi")


def _quiet_pipe() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    main()
