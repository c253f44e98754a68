"""The `cbi` command: thin commands that hand off to the pipeline.

Each area registers its own commands from its own module (`COMMAND_MODULES`), so adding a
command touches that area only.
"""

from __future__ import annotations

import json
import logging
import sys
from importlib import import_module
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from cbi.config import get_settings
from cbi.secrets import install_log_redaction, redact

app = typer.Typer(
    help="CBI: commodity futures forecasts from live feeds (Databento, FRED, NewsAPI).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err = Console(stderr=True)

#: Modules that add commands with `register(app)`; one line per area.
COMMAND_MODULES = (
    "cbi.feeds.commands",
    "cbi.transform.commands",
    "cbi.models.commands",
    "cbi.dashboard.commands",
    "cbi.ops.commands",
)


@app.callback()
def _main(
    warehouse: Optional[str] = typer.Option(
        None, "--warehouse", "-w", help="Warehouse URL (overrides cbi.toml and CBI_WAREHOUSE)."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug detail."),
) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore", "urllib3", "google", "sqlglot"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    install_log_redaction()
    if warehouse:
        import os

        os.environ["CBI_WAREHOUSE"] = warehouse
        from cbi.config import reset_settings_cache

        reset_settings_cache()


def open_warehouse(read_only: bool = False, role: str = "collector"):
    """The configured warehouse, or exit 2 with the reason."""
    from cbi.ops.forward import lent_warehouse
    from cbi.warehouse import WarehouseError, connect

    if (lent := lent_warehouse()) is not None:  # running inside `cbi serve` for another process
        return lent
    try:
        return connect(read_only=read_only, role=role)
    except WarehouseError as exc:
        fail(str(exc))


def fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {redact(message)}", highlight=False)
    raise typer.Exit(code)


@app.command("config")
def config_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Print the effective settings (cbi.toml < CBI_* env < flags), secrets masked."""
    settings = get_settings()
    values = settings.masked()
    if as_json:
        console.print_json(json.dumps(values))
        return
    table = Table("setting", "value", "meaning", title="effective settings")
    for name, field in type(settings).model_fields.items():
        table.add_row(name, json.dumps(values[name]), field.description or "")
    console.print(table)


@app.command("init")
def init_cmd() -> None:
    """Create every dataset, table and view that is missing (idempotent; never alters)."""
    from cbi.warehouse import WarehouseError

    with open_warehouse() as wh:
        try:
            report = wh.init()
        except WarehouseError as exc:
            fail(str(exc))
    for ds in report.datasets_created:
        console.print(f"created dataset {ds}")
    console.print(f"{wh.url}: created {len(report.created)} table(s), found {len(report.found)}")
    for name in report.created:
        console.print(f"  + {name}")


@app.command("verify")
def verify_cmd(
    data: bool = typer.Option(False, "--data", help="Also run the data-quality gates."),
) -> None:
    """Check every expected table, its columns, types and partitioning; exit 1 on drift."""
    with open_warehouse(read_only=True) as wh:
        checks = wh.verify()
        quality_ok = True
        if data:
            from cbi.quality import run_gates, print_report

            report = run_gates(wh, get_settings())
            print_report(report, console)
            quality_ok = report.ok
    table = Table("table", "check", "ok", "detail", title=f"verify {wh.url}")
    for c in checks:
        table.add_row(c.table, c.check, "[green]ok[/]" if c.ok else "[red]FAIL[/]", c.detail)
    console.print(table)
    bad = [c for c in checks if not c.ok]
    console.print(f"{len(checks) - len(bad)} of {len(checks)} checks passed")
    if bad or not quality_ok:
        raise typer.Exit(1)


@app.command("query")
def query_cmd(
    sql: str = typer.Argument(..., help="One read-only SQL statement (BigQuery dialect)."),
    fmt: str = typer.Option("table", "--format", "-f", help="table | csv | json"),
) -> None:
    """Run a read-only query; writes are refused and nothing changes."""
    from cbi.warehouse import ReadOnlyError, WarehouseError
    from cbi.warehouse.base import is_read_only_sql

    if fmt not in ("table", "csv", "json"):
        fail(f"unknown format {fmt!r}; choose table, csv or json")
    if not is_read_only_sql(sql):
        fail("refused: cbi query runs read-only statements only (SELECT/WITH); nothing changed")
    with open_warehouse(read_only=True, role="dashboard") as wh:
        try:
            result = wh.query(sql)
        except (ReadOnlyError, WarehouseError) as exc:
            fail(str(exc))
    print_arrow(result, fmt)


def print_arrow(result, fmt: str) -> None:
    if fmt == "csv":
        import pyarrow.csv as pacsv

        pacsv.write_csv(result, sys.stdout.buffer)
    elif fmt == "json":
        sys.stdout.write(json.dumps(result.to_pylist(), default=str) + "\n")
    else:
        table = Table(*result.column_names)
        for row in result.to_pylist():
            table.add_row(*("" if v is None else str(v) for v in row.values()))
        console.print(table)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        import_module(name).register(app)


_register_all()


def main() -> None:
    from cbi.ops.forward import forward

    code = forward(sys.argv[1:])  # a running `cbi serve` owns the DuckDB file: run it there
    if code is not None:
        raise SystemExit(code)
    app()


if __name__ == "__main__":
    main()
