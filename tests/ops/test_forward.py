"""Forwarding is transparent and faithful: a command sent to `cbi serve` gives the caller the
same stdout, stderr and exit status (global flags included) as when it runs alone; its path
arguments are the caller's; a read-only command cannot write through the owner; an owner that
dies mid-command is one line, and the next command takes the warehouse over."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import typer

from cbi.cli import app
from cbi.config import Settings
from cbi.ops import forward
from tests.ops.test_owner import ALL_OFF, CBI, EXTRA, REPO

ROOT = typer.main.get_command(app)
COUNT = "SELECT COUNT(*) AS n FROM market_data.futures_ohlcv_1d"
LIST = ("SELECT table_schema AS s, table_name AS t FROM information_schema.tables "
        "WHERE table_schema = 'ops' ORDER BY 2")
FRED_CSV = "DATE,DFF\n2024-01-02,5.33\n2024-01-03,.\n2024-01-04,5.32\n"
FRED_CSV2 = "observation_date,DGS10\n2024-01-02,3.95\n2024-01-03,3.91\n"
BARS_CSV = ("date,symbol,open,high,low,close,volume\n"
            "2024-01-02,ZLH4,48.1,48.9,47.8,48.5,1200\n2024-01-03,ZLH4,48.5,49.0,48.0,48.2,900\n")

#: Every command that forwards, in each output format, and the refusals: (argv, exit code).
COMMANDS: list[tuple[list[str], int]] = [
    *[(["query", LIST, "--format", f], 0) for f in ("table", "csv", "json", "ndjson")],
    (["query", LIST, "--format", "table", "--max-rows", "2"], 0),
    (["query", "SELECT @n + 1 AS m, @d AS d", "-f", "csv", "--param", "n=41",
      "--param", "d=2024-01-02"], 0),
    (["-q", "query", LIST, "-f", "csv"], 0),
    (["-w", "{wh}", "query", LIST, "-f", "json"], 0),
    (["query", "SELEC 1"], 2),
    (["query", "SELECT * INTO ops.evil FROM ops.alerts"], 2),
    (["query", "SELECT 1; DROP TABLE ops.alerts"], 2),
    (["query", "SELECT 1", "--format", "xml"], 2),
    (["query"], 2),
    (["query", "SELECT * FROM market_data.no_such_table"], 2),
    *[(["verify", "--format", f], 0) for f in ("table", "csv", "json")],
    (["init"], 0),
    (["ingest", "fred", "--file", "cases/DFF.csv", "cases/DGS10.csv"], 0),
    (["ingest", "bars", "cases/zl.csv", "--root", "ZL"], 0),
    (["-q", "ingest", "fred", "--file", "cases/DFF.csv"], 0),
    (["query", COUNT, "-f", "csv"], 0),
    (["ingest", "bars", "cases/missing.csv"], 2),
    # Commands that read through the owner (status, cost) or need no warehouse: same output.
    (["status", "--format", "json"], 0),
    (["status"], 0),
    *[(["cost", "--format", f], 0) for f in ("table", "json")],
    *[(["config", "--format", f], 0) for f in ("table", "csv", "json")],
    *[(["models", "list", "--format", f], 0) for f in ("table", "csv", "json")],
]


def _env(folder: Path) -> dict[str, str]:
    return {**os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
            "CBI_CONFIG": str(folder / "none.toml"), "COLUMNS": "100",
            "CBI_WAREHOUSE": f"duckdb:///{folder}/cbi.duckdb", "CBI_SANDBOX": "true",
            "CBI_EXTRA_JOBS": json.dumps(EXTRA), "CBI_SCHEDULE": json.dumps(ALL_OFF),
            "CBI_LIVE": "false"}


def _cases(folder: Path) -> Path:
    """The caller's folder, with its own `cases/` (the owner's folder has other files)."""
    (folder / "cases").mkdir(parents=True)
    (folder / "cases" / "DFF.csv").write_text(FRED_CSV)
    (folder / "cases" / "DGS10.csv").write_text(FRED_CSV2)
    (folder / "cases" / "zl.csv").write_text(BARS_CSV)
    return folder


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    argv = [a.replace("{wh}", env["CBI_WAREHOUSE"]) for a in argv]
    return subprocess.run([CBI, *argv], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


def _same(text: str, folder: Path, wrapped: bool = False) -> str:
    """Output with the warehouse folder (and log times) made comparable; `wrapped`: rich
    may wrap a table title that names the folder, so compare without line breaks."""
    if wrapped:
        text = re.sub(r"\s+", "", text)
    text = text.replace(str(folder), "<wh>")
    text = re.sub(r"\(run [0-9a-f]{32}\)", "(run <id>)", text)  # each run its own id
    text = re.sub(r"\"run_id\": \"[0-9a-f]{32}\"", "\"run_id\": \"<id>\"", text)  # hand runs are logged
    return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}", "<ts>", text)


def _timeless(text: str) -> str:
    """`cbi status` shows when rows were written and how long ago: equal up to the clock."""
    text = re.sub(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?(\+00:00)?", "<t>", text)
    text = re.sub(r"\(-?\d+ s ago\)", "(<age>)", text)
    text = re.sub(r"(_age_s\": )-?[\d.]+", r'\1"<age>"', text)
    # Each command run here is logged (`cbi ingest …` leaves its run row). Run alone, each is
    # its own process on its own frozen clock (all start at the same instant), so runs of the
    # same second come in either order: compare the runs, not their order.
    try:
        report = json.loads(text)
    except ValueError:
        # a table: column widths follow the longest time shown; compare cells, not padding
        return "\n".join(sorted(re.sub(r"[ ━─]+", " ", line) for line in text.splitlines()))
    for key in ("latest", "recent"):
        if isinstance(report.get(key), list):
            report[key] = sorted(report[key], key=lambda r: json.dumps(r, sort_keys=True))
    return json.dumps(report, sort_keys=True)


def _start_serve(folder: Path, env: dict[str, str]) -> subprocess.Popen:
    proc = subprocess.Popen([CBI, "serve", "--no-dashboard"], cwd=folder, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    endpoint = folder / "cbi.duckdb.owner.json"
    deadline = time.monotonic() + 60
    while not endpoint.exists():
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline, "cbi serve did not come up"
        time.sleep(0.2)
    return proc


def _stop(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out


def test_every_forwarded_command_prints_what_it_prints_alone(tmp_path):
    alone, owned = tmp_path / "alone", tmp_path / "owned"
    caller = _cases(tmp_path / "caller")
    for folder in (alone, owned):
        folder.mkdir()
        (folder / "cases").mkdir()
        (folder / "cases" / "zl.csv").write_text("not,the,caller's,file\n")  # the owner's folder
        assert _run(["init"], folder, _env(folder)).returncode == 0
    by_itself = [_run(argv, caller, _env(alone)) for argv, _ in COMMANDS]
    proc = _start_serve(owned, _env(owned))
    try:
        through_owner = [_run(argv, caller, _env(owned)) for argv, _ in COMMANDS]
    finally:
        log = _stop(proc)
    assert "stopped cleanly" in log, log
    for (argv, code), a, b in zip(COMMANDS, by_itself, through_owner):
        assert a.returncode == code, (argv, a.stdout, a.stderr)
        assert b.returncode == code, (argv, b.stdout, b.stderr)
        titled = argv[:3] == ["verify", "--format", "table"]
        clock = _timeless if argv[0] == "status" else (lambda text: text)
        assert clock(_same(b.stdout, owned, titled)) == clock(_same(a.stdout, alone, titled)), argv
        assert _same(b.stderr, owned) == _same(a.stderr, alone), argv
        assert "Traceback" not in a.stderr + b.stderr, argv
        if code == 2 and argv[0] == "query" and len(argv) > 1 and "--format" not in argv:
            assert b.stderr.strip().count("\n") <= 1 and b.stderr.startswith("error: "), b.stderr
    # The caller's files were imported, not the owner's `cases/zl.csv`; and nothing wrote.
    count = through_owner[COMMANDS.index(([*["query", COUNT, "-f", "csv"]], 0))]
    assert count.stdout == "n\n2\n"
    import duckdb

    con = duckdb.connect(str(owned / "cbi.duckdb"), read_only=True)
    try:
        tables = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema='ops'").fetchall()}
    finally:
        con.close()
    assert "evil" not in tables and "alerts" in tables


def test_a_verbose_flag_before_the_command_is_forwarded(tmp_path):
    owned = tmp_path / "owned"
    owned.mkdir()
    env = _env(owned)
    assert _run(["init"], owned, env).returncode == 0
    proc = _start_serve(owned, env)
    try:
        quiet = _run(["query", "SELECT 1 AS one", "-f", "csv"], tmp_path, env)
        loud = _run(["-v", "query", "SELECT 1 AS one", "-f", "csv"], tmp_path, env)
        bad = _run(["-v", "query", "SELEC 1"], tmp_path, env)
    finally:
        _stop(proc)
    assert quiet.stdout == loud.stdout == "one\n1\n"
    assert quiet.stderr == "" and "owns the warehouse" in loud.stderr
    assert bad.returncode == 2 and "Traceback" in bad.stderr and "error: syntax error" in bad.stderr


def test_an_owner_killed_mid_command_is_one_line_then_the_next_command_takes_over(tmp_path):
    owned = tmp_path / "owned"
    owned.mkdir()
    env = _env(owned)
    assert _run(["init"], owned, env).returncode == 0
    proc = _start_serve(owned, env)
    try:
        client = subprocess.Popen(
            [CBI, "job", "slow_batches", "-o", "batches=200", "-o", "pause=0.2"], cwd=owned,
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(4)
        assert client.poll() is None, client.communicate()
        proc.kill()  # kill -9: no shutdown, the endpoint file stays
        proc.wait(timeout=30)
        out, errs = client.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert client.returncode == 1, out + errs
    lines = errs.strip().splitlines()
    assert lines[-1].startswith("error: cbi serve (pid ") and "stopped while running job" in lines[-1]
    assert "Traceback" not in errs and "owns the warehouse" in lines[0]
    assert (owned / "cbi.duckdb.owner.json").exists()  # what a kill -9 leaves behind

    runs = "SELECT job, status FROM ops.pipeline_runs"
    after = _run(["query", runs, "-f", "json"], owned, env)
    assert after.returncode == 0, after.stderr
    assert "is gone" in after.stderr and after.stderr.count("\n") == 1
    assert not (owned / "cbi.duckdb.owner.json").exists()  # taken over cleanly
    assert json.loads(after.stdout) == [{"job": "slow_batches", "status": "running"}]
    status = _run(["status", "--format", "json"], owned, env)
    assert status.returncode == 1 and json.loads(status.stdout)["failed"] == ["slow_batches"]
    # The next job run here marks it abandoned for good, with an alert.
    assert _run(["job", "writes_one"], owned, env).returncode == 0
    rows = json.loads(_run(["query", runs + " WHERE job = 'slow_batches'", "-f", "json"],
                           owned, env).stdout)
    assert rows == [{"job": "slow_batches", "status": "abandoned"}]
    alerts = json.loads(_run(["query", "SELECT kind, subject, message FROM ops.alerts", "-f",
                              "json"], owned, env).stdout)
    assert [(a["kind"], a["subject"]) for a in alerts] == [("job_abandoned", "slow_batches")]
    assert "is gone" in alerts[0]["message"]


# ---- the argv walk -------------------------------------------------------------------------
def test_paths_become_absolute_and_only_paths(tmp_path):
    sent = forward.absolutize(ROOT, ["-v", "ingest", "bars", "a/x.csv", "../y.csv", "--root",
                                     "ZL"], str(tmp_path))
    assert sent == ["-v", "ingest", "bars", str(tmp_path / "a/x.csv"),
                    str((tmp_path / "../y.csv").resolve()), "--root", "ZL"]
    assert forward.absolutize(ROOT, ["ingest", "fred", "--file=f.csv", "-s", "DFF"],
                              str(tmp_path)) == ["ingest", "fred", f"--file={tmp_path}/f.csv",
                                                 "-s", "DFF"]
    assert forward.absolutize(ROOT, ["query", "x.csv", "-f", "csv"], "/w") == [
        "query", "x.csv", "-f", "csv"]  # SQL text is not a path


def test_multi_value_options_take_several_values_after_one_flag(tmp_path):
    from typer.testing import CliRunner

    assert forward.expand_multi(ROOT, ["ingest", "fred", "--file", "a", "b", "--full"]) == [
        "ingest", "fred", "--file", "a", "--file", "b", "--full"]
    assert forward.expand_multi(ROOT, ["query", "SELECT 1", "--format"]) == [
        "query", "SELECT 1", "--format"]  # a missing value stays missing: click refuses it
    assert CliRunner().invoke(app, ["query", "SELECT 1", "--format"]).exit_code == 2
    (tmp_path / "DFF.csv").write_text(FRED_CSV)
    (tmp_path / "DGS10.csv").write_text(FRED_CSV2)
    url = f"duckdb:///{tmp_path}/cbi.duckdb"
    runner = CliRunner()
    assert runner.invoke(app, ["-w", url, "init"]).exit_code == 0
    result = runner.invoke(app, ["-w", url, "ingest", "fred", "--file", str(tmp_path / "DFF.csv"),
                                 str(tmp_path / "DGS10.csv")])
    assert result.exit_code == 0, result.output
    assert "DFF" in result.stdout and "DGS10" in result.stdout


def test_a_second_serve_is_one_line(tmp_path):
    owned = tmp_path / "owned"
    owned.mkdir()
    env = _env(owned)
    proc = _start_serve(owned, env)
    try:
        second = subprocess.run([CBI, "serve", "--no-dashboard"], cwd=owned, env=env,
                                capture_output=True, text=True, timeout=60)
    finally:
        _stop(proc)
    assert second.returncode == 2
    assert second.stderr.count("\n") == 1 and "already owns this warehouse" in second.stderr


@pytest.mark.parametrize("key", ["{not json", '{"type": "service_account"}'])
def test_a_malformed_service_account_key_is_one_line(tmp_path, monkeypatch, key):
    import base64

    from typer.testing import CliRunner

    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS_BASE64", base64.b64encode(key.encode()).decode())
    result = CliRunner().invoke(app, ["-w", "bigquery://cbi-v14", "query", "SELECT 1"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "GOOGLE_APPLICATION_CREDENTIALS_BASE64" in result.stderr
    path = tmp_path / "key.json"
    path.write_text(key)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS_BASE64")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS_COLLECTOR", str(path))
    result = CliRunner().invoke(app, ["-w", "bigquery://cbi-v14", "init"])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.stderr
    assert str(path) in result.stderr and "Traceback" not in result.stderr


def test_the_lent_read_only_warehouse_cannot_write(tmp_path):
    from cbi.warehouse import ReadOnlyError, connect

    with connect(f"duckdb:///{tmp_path}/cbi.duckdb") as wh:
        wh.init()
        view = forward.LentWarehouse(wh).read_only_view()
        assert view.scalar("SELECT COUNT(*) FROM ops.alerts") == 0
        for sql in ("SELECT * INTO ops.evil FROM ops.alerts", "DELETE FROM ops.alerts WHERE TRUE",
                    "CREATE TABLE ops.evil AS SELECT 1 AS x", "COPY ops.alerts TO 'x.csv'",
                    "SELECT * FROM query('SELECT 1')"):
            with pytest.raises(ReadOnlyError):
                view.query(sql)
        with pytest.raises(ReadOnlyError):
            view.merge("ops.alerts", None)
        with pytest.raises(ReadOnlyError):
            view.execute("SELECT 1")
        # A statement the guard missed still changes nothing: it runs in a rolled-back
        # transaction on the owner's connection.
        wh._run_rolled_back("CREATE TABLE ops.slipped AS SELECT 1 AS x", None)
        assert not wh.scalar("SELECT COUNT(*) FROM information_schema.tables "
                             "WHERE table_name = 'slipped'")


def test_forwarding_skips_local_commands_and_help():
    settings_free = [["config"], ["secrets", "get"], ["cron"], ["sentiment"], ["models", "list"],
                     ["status"], ["job"], ["serve"]]
    for command in settings_free:
        assert forward.forward([*command, "--x"], ROOT) is None
    assert forward.forward(["query", "--help"], ROOT) is None
    assert forward.forward(["--version"], ROOT) is None
    assert isinstance(Settings(), Settings)
