"""The `cbi` command: read-only queries, the table listing, and help texts that match the guide."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from cbi.cli import app
from cbi.warehouse import catalog, connect

runner = CliRunner()
GUIDE = Path(__file__).resolve().parents[1] / "docs" / "operating.md"
OPS_COMMANDS = ["serve", "run", "demo", "job", "cron", "status", "cost", "secrets set",
                "secrets get", "secrets delete", "iam plan"]


def _init(duckdb_url: str) -> None:
    with connect(duckdb_url) as wh:
        wh.init()


def test_query_refuses_writes_and_leaves_the_table_unchanged(duckdb_url):
    _init(duckdb_url)
    result = runner.invoke(app, ["-w", duckdb_url, "query",
                                 "DELETE FROM ops.pipeline_runs WHERE TRUE"])
    assert result.exit_code == 2 and "refused" in result.output
    insert = ("INSERT INTO ops.feed_cursors (feed, cursor_key) VALUES ('x', 'y')")
    assert runner.invoke(app, ["-w", duckdb_url, "query", insert]).exit_code == 2
    with connect(duckdb_url, read_only=True) as wh:
        assert wh.row_count("ops.feed_cursors") == 0


def test_query_lists_every_table_as_csv(duckdb_url):
    _init(duckdb_url)
    result = runner.invoke(app, ["-w", duckdb_url, "query",
                                 "SELECT table_schema||'.'||table_name FROM information_schema.tables",
                                 "--format", "csv"])
    assert result.exit_code == 0, result.output
    listed = {line.strip().strip('"') for line in result.output.splitlines()}
    missing = {s.fqn for s in catalog.all_tables()} - listed
    assert missing == set()


def test_every_ops_command_is_in_the_operating_guide_with_its_help():
    guide = GUIDE.read_text()
    for command in OPS_COMMANDS:
        result = runner.invoke(app, [*command.split(), "--help"])
        assert result.exit_code == 0, command
        assert f"cbi {command}" in guide, f"`cbi {command}` missing from {GUIDE.name}"
        summary = _summary(result.output)
        assert summary in " ".join(guide.split()), f"help of `cbi {command}` differs: {summary!r}"


def _summary(help_text: str) -> str:
    """The command's one-line help as rich prints it (wrapped), joined back into one line."""
    lines = [line.strip(" │") for line in help_text.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith("Usage:")) + 1
    body = []
    for line in lines[start:]:
        if line.strip().startswith("╭"):
            break
        body.append(line.strip())
    return re.sub(r"\s+", " ", " ".join(body)).strip()


def test_status_exits_non_zero_on_a_failed_job(duckdb_url):
    from cbi.config import Settings
    from cbi.ops.runs import JobFailed, run_job

    settings = Settings(warehouse=duckdb_url, roots=["ZL"],
                        extra_jobs={"failing": "tests.ops.jobs_for_tests:failing"})
    _init(duckdb_url)
    assert runner.invoke(app, ["-w", duckdb_url, "status"]).exit_code == 0
    with connect(duckdb_url) as wh:
        try:
            run_job(wh, settings, "failing")
        except JobFailed:
            pass
    result = runner.invoke(app, ["-w", duckdb_url, "status"])
    assert result.exit_code == 1 and "failing" in result.output


def test_status_exits_non_zero_on_a_stale_feed(duckdb_url, monkeypatch):
    import datetime as dt

    from cbi.ops import alerts

    with connect(duckdb_url) as wh:
        wh.init()
    stale = alerts.Freshness("databento", "ZL", dt.datetime(2024, 3, 8, tzinfo=dt.timezone.utc),
                             900.0, True, "market open")
    monkeypatch.setattr(alerts, "freshness", lambda wh, settings, now=None: [stale])
    result = runner.invoke(app, ["-w", duckdb_url, "status"])
    assert result.exit_code == 1 and "STALE" in result.output
