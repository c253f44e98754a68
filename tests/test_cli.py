"""The `cbi` command: read-only queries, the table listing, and help texts that match the guide."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cbi.cli import app
from cbi.warehouse import catalog, connect

runner = CliRunner()
GUIDE = Path(__file__).resolve().parents[1] / "docs" / "operating.md"
CBI = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "cbi"
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


# ---- one error path ----------------------------------------------------------------------------
def _settings_error(tmp_path, monkeypatch, toml: str | None = None, env: dict | None = None,
                    argv=("query", "SELECT 1")):
    from cbi.config import reset_settings_cache

    if toml is not None:
        (tmp_path / "cbi.toml").write_text(toml)
    for k, v in (env or {}).items():
        monkeypatch.setenv(k, v)
    reset_settings_cache()
    return runner.invoke(app, list(argv))


def test_a_typo_key_names_the_file_line_and_the_right_key(tmp_path, monkeypatch):
    result = _settings_error(tmp_path, monkeypatch, "roots = [\"ZL\"]\nstale_after_minute = 5\n")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (f"error: {tmp_path}/cbi.toml line 2: unknown setting "
                             "'stale_after_minute'; did you mean 'stale_after_minutes'?\n")


@pytest.mark.parametrize("toml, env, expected", [
    ("roots = [\"ZL\"\nlive = true\n", {}, "cbi.toml: not valid TOML: "),
    ("horizons = [\"2w\"]\n", {}, "cbi.toml line 1: horizons = ['2w']: unknown horizon(s) "
                                  "['2w']; choose from ['1w', '1m', '3m', '6m', '12m']"),
    (None, {"CBI_ROOTS": "ZL"}, "environment CBI_ROOTS='ZL': not JSON; lists and dicts in the "
                                "environment are JSON, e.g. CBI_ROOTS='[\"ZL\", \"ES\", \"CL\"]'"),
    (None, {"CBI_STALE_AFTER_MINUTES": "soon"}, "environment CBI_STALE_AFTER_MINUTES: "
                                                "stale_after_minutes = 'soon': Input should be a "
                                                "valid integer"),
])
def test_settings_errors_are_one_or_two_lines_exit_2_no_traceback(tmp_path, monkeypatch, toml,
                                                                   env, expected):
    result = _settings_error(tmp_path, monkeypatch, toml, env)
    assert result.exit_code == 2, result.output
    assert expected in result.stderr and result.stderr.startswith("error: ")
    assert result.stderr.strip().count("\n") <= 1 and "Traceback" not in result.stderr
    loud = runner.invoke(app, ["-v", "query", "SELECT 1"])
    assert loud.exit_code == 2 and "Traceback (most recent call last)" in loud.stderr
    assert expected in loud.stderr


def test_a_settings_error_in_the_subprocess_is_one_line(tmp_path):
    import os
    import subprocess

    (tmp_path / "cbi.toml").write_text("horizons = [\"2w\"]\n")
    env = {**os.environ, "CBI_CONFIG": str(tmp_path / "cbi.toml")}
    done = subprocess.run([str(CBI), "query", "SELECT 1"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "unknown horizon" in done.stderr


def test_errors_have_their_documented_exit_codes():
    from cbi import errors
    from cbi.ops.owner import OwnerError, OwnerGone
    from cbi.ops.runs import JobFailed
    from cbi.warehouse import ReadOnlyError, WarehouseError

    assert errors.exit_code(WarehouseError("x")) == 2 and errors.exit_code(ReadOnlyError("x")) == 2
    assert errors.exit_code(OwnerError("x")) == 2 and errors.exit_code(OwnerGone("x")) == 1
    assert errors.exit_code(JobFailed("j", "r", "boom")) == 1
    assert errors.exit_code(ValueError("bad")) == 2 and errors.exit_code(KeyboardInterrupt()) == 130
    assert errors.exit_code(ZeroDivisionError("bug")) == 1
    assert "run with -v" in errors.one_line(ZeroDivisionError("bug"))

    class QualityGateError(RuntimeError):
        pass

    assert errors.alert_kind(QualityGateError("gate")) == "quality_gate"
    guide = GUIDE.read_text()
    for code in ("| 0 |", "| 1 |", "| 2 |", "| 130 |"):
        assert code in guide, f"exit code {code} missing from the operating guide"


# ---- read-only -----------------------------------------------------------------------------------
@pytest.mark.parametrize("sql, message", [
    ("SELECT * INTO ops.evil FROM ops.alerts", "refused: SELECT … INTO writes"),
    ("SELECT 1; DELETE FROM ops.alerts WHERE TRUE", "one statement at a time (2 given)"),
    ("WITH x AS (SELECT 1) SELECT * FROM x; SELECT 2", "one statement at a time"),
    ("CREATE TABLE ops.evil AS SELECT 1 AS x", "refused: CREATE is not a read-only query"),
    ("COPY ops.alerts TO 'alerts.csv'", "refused: COPY"),
    ("ATTACH 'other.duckdb' AS other", "syntax error"),
    ("PRAGMA database_list", "refused: PRAGMA"),
    ("SET threads = 1", "refused: SET"),
    ("SELECT * FROM query('DROP TABLE ops.alerts')", "function query() is not allowed"),
    ("LOAD httpfs", "refused: LOAD"),
    ("SELEC 1", "syntax error: Invalid expression"),
])
def test_query_accepts_one_pure_read_only(duckdb_url, sql, message, tmp_path):
    _init(duckdb_url)
    result = runner.invoke(app, ["-w", duckdb_url, "query", sql])
    assert result.exit_code == 2 and message in result.stderr, result.output
    assert "nothing ran" in result.stderr and result.stdout == ""
    with connect(duckdb_url, read_only=True) as wh:
        assert not wh.scalar("SELECT COUNT(*) FROM information_schema.tables "
                             "WHERE table_name = 'evil'")
    assert not (tmp_path / "alerts.csv").exists()


def test_a_syntax_error_is_not_a_permission_refusal(duckdb_url):
    _init(duckdb_url)
    result = runner.invoke(app, ["-w", duckdb_url, "query", "SELEC 1"])
    assert result.exit_code == 2 and "syntax error" in result.stderr
    assert "refused" not in result.stderr and "read-only" not in result.stderr


# ---- one output convention -------------------------------------------------------------------------
def test_query_formats_csv_minimal_quoting_json_ndjson(duckdb_url):
    import csv
    import io
    import json

    _init(duckdb_url)
    sql = "SELECT 'plain' AS a, 'x,y' AS b, 'say \"hi\"' AS c, CAST(NULL AS STRING) AS d, 3 AS n"
    out = runner.invoke(app, ["-w", duckdb_url, "query", sql, "--format", "csv"])
    assert out.exit_code == 0, out.output
    assert out.stdout == 'a,b,c,d,n\nplain,"x,y","say ""hi""",,3\n'
    assert list(csv.reader(io.StringIO(out.stdout)))[1] == ["plain", "x,y", 'say "hi"', "", "3"]
    js = runner.invoke(app, ["-w", duckdb_url, "query", sql, "-f", "json"])
    assert json.loads(js.stdout) == [{"a": "plain", "b": "x,y", "c": 'say "hi"', "d": None, "n": 3}]
    nd = runner.invoke(app, ["-w", duckdb_url, "query", "SELECT * FROM UNNEST([1, 2, 3]) AS x",
                             "-f", "ndjson"])
    assert [json.loads(line) for line in nd.stdout.splitlines()] == [{"x": 1}, {"x": 2}, {"x": 3}]
    bad = runner.invoke(app, ["-w", duckdb_url, "query", "SELECT 1", "-f", "xml"])
    assert bad.exit_code == 2 and "choose table, csv, json or ndjson" in bad.stderr


def test_query_caps_tables_with_a_footer_and_never_csv(duckdb_url):
    _init(duckdb_url)
    sql = "SELECT x FROM UNNEST(GENERATE_ARRAY(1, 1000)) AS x"
    table = runner.invoke(app, ["-w", duckdb_url, "query", sql])
    assert table.exit_code == 0, table.output
    assert "200 of 1000 rows" in table.stdout and "│ 201 " not in table.stdout
    capped = runner.invoke(app, ["-w", duckdb_url, "query", sql, "--max-rows", "5"])
    assert "5 of 1000 rows" in capped.stdout
    csv_out = runner.invoke(app, ["-w", duckdb_url, "query", sql, "-f", "csv"])
    assert len(csv_out.stdout.splitlines()) == 1001 and "of 1000 rows" not in csv_out.output


def test_query_parameters(duckdb_url):
    _init(duckdb_url)
    result = runner.invoke(app, ["-w", duckdb_url, "query",
                                 "SELECT @n + 1 AS m, @d AS d, @s AS s", "-f", "csv",
                                 "--param", "n=41", "--param", "d=2024-01-02", "-p", "s=ZL"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "m,d,s\n42,2024-01-02,ZL\n"
    bad = runner.invoke(app, ["-w", duckdb_url, "query", "SELECT 1", "--param", "no-equals"])
    assert bad.exit_code == 2 and "name=value" in bad.stderr


def test_output_is_not_wrapped_when_not_a_terminal(duckdb_url):
    _init(duckdb_url)
    long = "x" * 300
    result = runner.invoke(app, ["-w", duckdb_url, "query", f"SELECT '{long}' AS wide"])
    assert result.exit_code == 0
    assert any(long in line for line in result.stdout.splitlines())
    cfg = runner.invoke(app, ["config"])
    assert all("─" not in line or len(line) > 80 for line in cfg.stdout.splitlines()[:3])
    assert max(len(line) for line in cfg.stdout.splitlines()) > 120  # one row a line


@pytest.mark.parametrize("argv", [["config"], ["status"], ["cost"], ["verify"], ["models", "list"],
                                  ["query", "SELECT 1 AS one"]])
def test_record_commands_take_format_json(duckdb_url, argv):
    import json

    _init(duckdb_url)
    result = runner.invoke(app, ["-w", duckdb_url, *argv, "--format", "json"])
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)
    bad = runner.invoke(app, ["-w", duckdb_url, *argv, "--format", "yaml"])
    assert bad.exit_code == 2 and "unknown format 'yaml'" in bad.stderr


def test_version_and_quiet():
    from importlib.metadata import version

    out = runner.invoke(app, ["--version"])
    assert out.exit_code == 0 and out.stdout == f"cbi {version('cbi')}\n"
    assert "--quiet" in runner.invoke(app, ["--help"]).output


def test_quiet_hides_notes_but_not_results(duckdb_url):
    _init(duckdb_url)
    sql = "SELECT x FROM UNNEST(GENERATE_ARRAY(1, 10)) AS x"
    loud = runner.invoke(app, ["-w", duckdb_url, "query", sql, "-f", "csv", "--max-rows", "2"])
    quiet = runner.invoke(app, ["-q", "-w", duckdb_url, "query", sql, "-f", "csv", "--max-rows", "2"])
    assert loud.stdout == quiet.stdout == "x\n1\n2\n"
    assert "2 of 10 rows" in loud.stderr and quiet.stderr == ""


def test_progress_is_drawn_on_a_terminal_only(monkeypatch):
    import io

    from cbi import console

    console.set_flags(verbose=False, quiet=False)
    with console.progress("work", total=3) as bar:  # not a terminal: no output at all
        bar.advance()
    buf = io.StringIO()
    monkeypatch.setattr(console.stderr, "_file", buf)
    monkeypatch.setattr(console.stderr, "_force_terminal", True)
    with console.progress("work", total=3) as bar:
        for _ in range(3):
            bar.advance()
    assert "3/3" in buf.getvalue() and "work" in buf.getvalue()
    console.set_flags(quiet=True)
    buf.truncate(0)
    with console.progress("work", total=3) as bar:  # -q: none
        bar.advance()
    console.set_flags(quiet=False)
    assert buf.getvalue().strip("\x00") == ""


def test_make_bench_lists_every_benchmark():
    import ast
    import subprocess
    import sys

    bench = Path(__file__).resolve().parents[1] / "bench"
    done = subprocess.run([sys.executable, "-m", "bench"], cwd=bench.parent, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    for path in bench.glob("*.py"):
        tree = ast.parse(path.read_text())
        if not path.name.startswith("_") and any(
                isinstance(n, ast.FunctionDef) and n.name == "main" for n in tree.body):
            assert path.stem in done.stdout, path.stem
    assert "make bench BENCH=all" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "bench", "nope"], cwd=bench.parent,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "no benchmark 'nope'" in bad.stderr


def test_status_of_a_warehouse_without_bars_depends_on_the_frozen_hour_not_the_real_one(duckdb_url):
    """Monday 2026-11-30 09:00 UTC (03:00 CT): ZL's overnight session is open, so a feed that
    has delivered nothing is stale; the same warehouse on a Saturday is healthy."""
    import time_machine

    _init(duckdb_url)
    with time_machine.travel("2026-11-30T09:00:00+00:00", tick=False):
        open_market = runner.invoke(app, ["-w", duckdb_url, "status"])
    with time_machine.travel("2026-11-28T16:00:00+00:00", tick=False):
        closed = runner.invoke(app, ["-w", duckdb_url, "status"])
    assert open_market.exit_code == 1 and "STALE" in open_market.output
    assert closed.exit_code == 0, closed.output


def _progress_on_a_terminal(monkeypatch):
    """stderr's console as a terminal writing into a buffer: what progress draws there."""
    import io

    from cbi import console

    buf = io.StringIO()
    monkeypatch.setattr(console.stderr, "_file", buf)
    monkeypatch.setattr(console.stderr, "_force_terminal", True)
    return buf


def test_long_commands_draw_counted_progress_on_stderr_never_stdout_and_none_with_q(
        tmp_path, monkeypatch):
    """File ingest (per file), features (per step), export (gates, then per file) and train
    (per horizon × model, and per fold) each draw counts on stderr; stdout keeps only the
    results; -q draws nothing."""
    from tests.ops.test_forward import FRED_CSV, FRED_CSV2, _daily_bars_csv

    monkeypatch.setenv("CBI_EXPORT_DIR", str(tmp_path / "exports"))
    monkeypatch.setenv("CBI_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("CBI_MIN_TRAIN_ROWS", "200")
    monkeypatch.setenv("CBI_RETRAIN_EVERY_DAYS", "252")
    (tmp_path / "DFF.csv").write_text(FRED_CSV)
    (tmp_path / "DGS10.csv").write_text(FRED_CSV2)
    (tmp_path / "zl.csv").write_text(_daily_bars_csv())
    url = f"duckdb:///{tmp_path}/cbi.duckdb"
    assert runner.invoke(app, ["-w", url, "init"]).exit_code == 0
    monkeypatch.chdir(tmp_path)
    bars = runner.invoke(app, ["-w", url, "ingest", "bars", "zl.csv", "--root", "ZL"])
    assert bars.exit_code == 0, bars.output
    buf = _progress_on_a_terminal(monkeypatch)
    steps = [
        (["ingest", "fred", "--file", "DFF.csv", "DGS10.csv"], "importing 2 FRED file(s)", "4/4"),
        (["features", "build"], "features build: training tables built", "4/4"),
        (["export", "--horizon", "1w"], "export: prod 1w written", "2/2"),
        (["train", "--model", "tree", "--horizon", "1w", "-f", "csv"], "tree 1w done", "1/1"),
    ]
    for argv, label, counts in steps:
        buf.seek(0)
        buf.truncate()
        result = runner.invoke(app, ["-w", url, *argv])
        assert result.exit_code == 0, (argv, result.output)
        drawn = buf.getvalue()
        assert label in drawn and counts in drawn, (argv, drawn)
        assert label not in result.stdout and counts not in result.stdout, argv
    assert "walk-forward tree 1w" in drawn  # the folds of each model, under the total
    buf.seek(0)
    buf.truncate()
    quiet = runner.invoke(app, ["-q", "-w", url, "ingest", "fred", "--file", "DFF.csv"])
    assert quiet.exit_code == 0 and buf.getvalue() == "" and quiet.stderr == ""
    assert "DFF" in quiet.stdout


def test_a_backfill_counts_roots_and_days():
    """`cbi ingest databento`'s progress from the backfill's chunk messages: roots done of
    all, and a root's days done of its range (--end given)."""
    from cbi.feeds.databento_commands import _chunks

    class Bar:
        def __init__(self, description="databento", total=None):
            self.description, self.total, self.done, self.subs = description, total, 0, []

        def update(self, completed, total=None, description=None):
            self.done, self.total = completed, total if total is not None else self.total

        def sub(self, description, total=None):
            self.subs.append(Bar(description, total))
            return self.subs[-1]

    bar = Bar(total=2)
    on = _chunks(bar, ["ZL", "ES"], "2026-11-11")
    on("ZL ohlcv-1h 2026-11-01 00:00 -> 2026-11-06 00:00")
    assert bar.done == 0 and (bar.subs[0].done, bar.subs[0].total) == (5, 10)
    on("ZL ohlcv-1m 2026-11-06 00:00 -> 2026-11-11 00:00")
    assert (bar.subs[0].done, bar.subs[0].total) == (10, 10)
    on("ES ohlcv-1h 2026-11-01 00:00 -> 2026-11-03 00:00")
    assert bar.done == 1 and (bar.subs[1].done, bar.subs[1].total) == (2, 10)
    on("Databento backfill of ZL, ES: estimated cost $0.01")  # a note: counts unchanged
    assert bar.done == 1


def test_train_and_predict_print_records_in_each_format(tmp_path, monkeypatch):
    import csv
    import io
    import json

    from tests.builders import synthetic_bars, write_exports

    monkeypatch.setenv("CBI_WAREHOUSE", f"duckdb:///{tmp_path}/cli.duckdb")
    monkeypatch.setenv("CBI_EXPORT_DIR", str(tmp_path / "exports"))
    monkeypatch.setenv("CBI_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("CBI_RETRAIN_EVERY_DAYS", "252")
    write_exports(synthetic_bars(1300, seed=2), tmp_path / "exports", ["1w"])
    assert runner.invoke(app, ["init"]).exit_code == 0
    trained = runner.invoke(app, ["train", "--model", "tree", "--horizon", "1w", "--format", "json"])
    assert trained.exit_code == 0, trained.output
    report = json.loads(trained.stdout)
    assert [r["model"] for r in report["results"]] == ["tree", "random_walk", "drift"]
    assert report["served"]["1w"]["served_by"] in ("tree", "random_walk", "drift")
    rows = list(csv.DictReader(io.StringIO(runner.invoke(
        app, ["train", "--model", "tree", "--horizon", "1w", "-f", "csv"]).stdout)))
    assert {r["model"] for r in rows} == {"tree", "random_walk", "drift"} and rows[0]["mase"]
    predicted = runner.invoke(app, ["predict", "--horizon", "1w", "-f", "json"])
    assert predicted.exit_code == 0 and json.loads(predicted.stdout)["rows_written"] == 10
    assert runner.invoke(app, ["predict", "--horizon", "1w", "-f", "csv"]).stdout.startswith(
        "horizon,model_version\n1w,")
    assert runner.invoke(app, ["train", "-f", "yaml"]).exit_code == 2
    full = runner.invoke(app, ["models", "list", "--surface", "full", "-f", "json"])
    assert full.exit_code == 0 and json.loads(full.stdout) == []  # prod models only so far
    prod = json.loads(runner.invoke(app, ["models", "list", "-f", "json"]).stdout)
    assert prod and {m["surface"] for m in prod} == {"prod"}
