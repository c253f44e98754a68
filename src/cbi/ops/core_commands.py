"""`cbi config`, `cbi init`, `cbi verify` and `cbi query`: the settings and the warehouse itself.

Registered by `cbi.cli` first, so they lead the command list as the guide shows them.
"""

from __future__ import annotations

from typing import Any, List, Optional

import typer

from cbi.config import get_settings
from cbi.console import check_format, console, fail, open_warehouse, print_records


def register(app: typer.Typer) -> None:
    """Add these commands to the `cbi` app."""
    for fn, name in ((config_cmd, "config"), (init_cmd, "init"), (verify_cmd, "verify"),
                     (query_cmd, "query")):
        app.command(name)(fn)


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


def init_cmd() -> None:
    """Create every dataset, table and view that is missing (idempotent; never alters)."""
    with open_warehouse() as wh:
        report = wh.init()
    for ds in report.datasets_created:
        console.print(f"created dataset {ds}")
    console.print(f"{wh.url}: created {len(report.created)} table(s), found {len(report.found)}")
    for name in report.created:
        console.print(f"  + {name}")


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

    out: dict[str, Any] = {}
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
            try:  # not an error path: a JSON value when it parses, else the text itself
                out[name] = json.loads(value)
            except ValueError:
                out[name] = value
    return out
