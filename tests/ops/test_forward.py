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

HEADLINES = "Soybean oil rallies on biofuel demand\nCrude slumps as stocks build\n"

#: The whole `cbi` app, each command in each of its output formats, with and without an owner:
#: (argv, exit code), in groups that each start from a new warehouse (a test each, so
#: two workers share them). In a group, later commands read what earlier ones wrote. Commands
#: left out are in NOT_IN_MATRIX with the reason; a test derives both lists from the app.
GROUPS: dict[str, list[tuple[list[str], int]]] = {
    "queries and reads": [
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
    ],
    "jobs and local commands": [
        (["job", "writes_one"], 0),
        (["job", "no_such_job"], 2),
        # Commands that read through the owner (status, cost) or need no warehouse.
        (["status", "--format", "json"], 0),
        (["status", "--format", "table"], 0),
        *[(["cost", "--format", f], 0) for f in ("table", "json")],
        *[(["config", "--format", f], 0) for f in ("table", "csv", "json")],
        (["sentiment", "Soybean oil rallies", "--file", "cases/headlines.txt"], 0),
        (["sentiment", "--file", "cases/missing.txt"], 2),
        (["cron"], 0),
        (["iam", "plan"], 2),  # DuckDB has no dataset access: one line
        (["secrets", "get", "NO_SUCH_SECRET"], 1),
        (["secrets", "delete", "NO_SUCH_SECRET"], 0),  # the tests' null keyring "deletes" any name
    ],
    "files and models": [
        (["ingest", "fred", "--file", "cases/DFF.csv", "cases/DGS10.csv"], 0),
        (["ingest", "bars", "cases/zl.csv", "--root", "ZL"], 0),
        (["-q", "ingest", "fred", "--file", "cases/DFF.csv"], 0),
        (["query", COUNT, "-f", "csv"], 0),
        (["ingest", "bars", "cases/missing.csv"], 2),
        # Two years of daily bars, then the whole modelling chain on them.
        (["ingest", "bars", "cases/zl_daily.csv", "--root", "ZL"], 0),
        (["features", "build"], 0),
        (["features", "build"], 0),  # nothing changed: "up to date"
        (["features", "build", "--start", "someday"], 2),
        (["export", "--horizon", "1w"], 0),
        (["export", "--surface", "nowhere"], 2),
        *[(["train", "--model", "tree", "--horizon", "1w", "--format", f], 0)
          for f in ("table", "csv", "json")],
        (["train", "--horizon", "9y"], 2),
        *[(["predict", "--horizon", "1w", "--format", f], 0) for f in ("table", "csv", "json")],
        *[(["models", "list", "--format", f], 0) for f in ("table", "csv", "json")],
        (["models", "list", "--surface", "full", "--format", "csv"], 0),
        (["models", "list", "--surface", "nowhere"], 2),
        *[(["models", "report", "--format", f], 0) for f in ("table", "json")],
    ],
    "feeds": [  # from the sandbox's stand-ins on 127.0.0.1 (the owner's, when it runs)
        (["ingest", "databento", "--roots", "ZL", "--start", "2026-11-02", "--end",
          "2026-11-06"], 0),
        (["ingest", "databento", "--roots", "ZL", "--start", "not-a-date"], 2),
        (["ingest", "news"], 0),
        (["ingest", "fred", "--series", "DFF"], 0),
    ],
}
COMMANDS = [entry for group in GROUPS.values() for entry in group]

#: Commands of the app that the matrix does not run, and why.
NOT_IN_MATRIX = {
    "serve": "the owner itself: this test runs one; test_a_second_serve_is_one_line a second",
    "dashboard": "serves until stopped (tests/dashboard run its app)",
    "demo": "a whole sandbox warehouse (minutes): tests/ops/test_demo.py",
    "run": "a whole cycle on every feed's history (minutes); it routes its jobs through "
           "`dispatch`, which `job` covers here",
    "secrets set": "writes the OS keychain (tests/test_secrets.py, with a test backend)",
}


def _env(folder: Path) -> dict[str, str]:
    return {**os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
            "CBI_CONFIG": str(folder / "none.toml"), "COLUMNS": "100",
            "CBI_WAREHOUSE": f"duckdb:///{folder}/cbi.duckdb", "CBI_SANDBOX": "true",
            "CBI_EXTRA_JOBS": json.dumps(EXTRA), "CBI_SCHEDULE": json.dumps(ALL_OFF),
            "CBI_LIVE": "false", "CBI_EXPORT_DIR": str(folder / "exports"),
            "CBI_MODELS_DIR": str(folder / "models"), "CBI_MIN_TRAIN_ROWS": "200",
            "CBI_RETRAIN_EVERY_DAYS": "252"}


def _daily_bars_csv(days: int = 450) -> str:
    """Daily ZL bars from the models' sample builder: enough history to train 1w (with
    min_train_rows 200), ending on the FRED files' last day (2024-01-04) so the export's
    macro-age gate passes."""
    import pandas as pd

    from tests.builders import synthetic_bars

    first = pd.bdate_range(end="2024-01-04", periods=days)[0]
    bars = synthetic_bars(days, seed=3, start=str(first.date()))
    lines = ["date,symbol,open,high,low,close,volume"]
    for day, close, volume in zip(bars["date"], bars["close"], bars["volume"]):
        c = float(close)
        lines.append(f"{day},ZLH4,{c:.4f},{c * 1.01:.4f},{c * 0.99:.4f},{c:.4f},{int(volume)}")
    return "\n".join(lines) + "\n"


def _cases(folder: Path) -> Path:
    """The caller's folder, with its own `cases/` (the owner's folder has other files)."""
    (folder / "cases").mkdir(parents=True)
    (folder / "cases" / "DFF.csv").write_text(FRED_CSV)
    (folder / "cases" / "DGS10.csv").write_text(FRED_CSV2)
    (folder / "cases" / "zl.csv").write_text(BARS_CSV)
    (folder / "cases" / "zl_daily.csv").write_text(_daily_bars_csv())
    (folder / "cases" / "headlines.txt").write_text(HEADLINES)
    return folder


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    argv = [a.replace("{wh}", env["CBI_WAREHOUSE"]) for a in argv]
    return subprocess.run([CBI, *argv], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


def _same(text: str, folder: Path, wrapped: bool = False) -> str:
    """Output made comparable between two warehouses in two folders. What differs, and why:

    - the warehouse's folder (and so the export and model folders);
    - log times, run ids (each run its own), and ports (each process its own stand-ins);
    - how long a job took ("succeeded in 0.1s"), and the time of day of "now" in a feed's log ("from 2026-10-30 16:00:05.09+00:00"): each
      process's clock starts at the frozen instant, the owner's has run since;
    - ids hashed from write times (`feature_hash`, model versions): the owner's clock has run
      since it started, while each command run alone starts at the same frozen instant;
    - "sandbox started …": a command run alone starts the sandbox's stand-ins; a forwarded
      one uses the owner's, which are up already;
    - "cbi serve (pid N) owns the warehouse: running … there": said (on stderr, not with -q)
      when a job is sent to the owner, so the operator knows where it ran.

    `wrapped`: rich may wrap a table title that names the folder: compare without breaks."""
    text = "".join(line for line in text.splitlines(keepends=True)
                   if "sandbox started (" not in line
                   and not re.match(r"cbi serve \(pid \d+\) owns the warehouse: running", line))
    if wrapped:
        text = re.sub(r"\s+", "", text)
    text = text.replace(str(folder), "<wh>")
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", text)
    text = re.sub(r"\b[0-9a-f]{12,32}\b", "<id>", text)  # run ids, hashes, model versions
    text = re.sub(r"\d\d:\d\d:\d\d\.\d+", "<hms>", text)  # "from <now - 29 days>" in feed logs
    text = re.sub(r"\bin \d+(\.\d+)?s\b", "in <s>s", text)  # "job … succeeded in 0.1s"
    return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}", "<ts>", text)


def _timeless(text: str) -> str:
    """`cbi status` and the model registry show when rows were written and how long ago:
    equal up to the clock."""
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
    if isinstance(report, dict):
        for key in ("latest", "recent"):
            if isinstance(report.get(key), list):
                report[key] = sorted(report[key], key=lambda r: json.dumps(r, sort_keys=True))
    return json.dumps(report, sort_keys=True)


CLOCKED = ("status", "models")  # commands whose output shows times of writing


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


def _alone(folder: Path, caller: Path, commands) -> list[subprocess.CompletedProcess]:
    return [_run(argv, caller, _env(folder)) for argv, _ in commands]


def _owned(folder: Path, caller: Path, commands) -> list[subprocess.CompletedProcess]:
    proc = _start_serve(folder, _env(folder))
    try:
        return [_run(argv, caller, _env(folder)) for argv, _ in commands]
    finally:
        log = _stop(proc)
        assert "stopped cleanly" in log, log


@pytest.mark.timeout(600)  # some 30 commands, each twice (a process each), and an owner
@pytest.mark.parametrize("group", list(GROUPS))
def test_every_forwarded_command_prints_what_it_prints_alone(tmp_path, group):
    from concurrent.futures import ThreadPoolExecutor

    commands = GROUPS[group]
    alone, owned = tmp_path / "alone", tmp_path / "owned"
    caller = _cases(tmp_path / "caller")
    for folder in (alone, owned):
        folder.mkdir()
        (folder / "cases").mkdir()
        (folder / "cases" / "zl.csv").write_text("not,the,caller's,file\n")  # the owner's folder
        assert _run(["init"], folder, _env(folder)).returncode == 0
    # The two warehouses are independent: run both sequences at once (half the wall time).
    with ThreadPoolExecutor(2) as pool:
        by_itself_future = pool.submit(_alone, alone, caller, commands)
        through_owner = pool.submit(_owned, owned, caller, commands).result()
        by_itself = by_itself_future.result()
    wrong = [problem for (argv, code), a, b in zip(commands, by_itself, through_owner)
             for problem in _differences(argv, code, a, b, alone, owned)]
    assert not wrong, "\n\n".join(wrong)
    if group == "files and models":
        _files_and_models_checks(commands, through_owner)
    import duckdb

    con = duckdb.connect(str(owned / "cbi.duckdb"), read_only=True)
    try:
        tables = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema='ops'").fetchall()}
    finally:
        con.close()
    assert "evil" not in tables and "alerts" in tables


def _files_and_models_checks(commands, through_owner) -> None:
    """The caller's files were imported, not the owner's `cases/zl.csv`; the model trained."""
    count = through_owner[commands.index((["query", COUNT, "-f", "csv"], 0))]
    assert count.stdout == "n\n2\n"
    trained = through_owner[commands.index((["train", "--model", "tree", "--horizon", "1w",
                                             "--format", "json"], 0))]
    assert {r["model"] for r in json.loads(trained.stdout)["results"]} == {
        "tree", "random_walk", "drift"}


def _differences(argv: list[str], code: int, a: subprocess.CompletedProcess,
                 b: subprocess.CompletedProcess, alone: Path, owned: Path) -> list[str]:
    """What differs between `cbi ARGV` run alone (a) and through the owner (b); each problem
    named with the command, so one run of the matrix shows them all."""
    out = []
    if a.returncode != code or b.returncode != code:
        out.append(f"{argv}: exit {a.returncode} alone, {b.returncode} forwarded, want {code}:"
                   f"\n{a.stderr}\n{b.stderr}")
    titled = argv[:3] == ["verify", "--format", "table"]
    clock = _timeless if argv[0] in CLOCKED else (lambda text: text)
    if clock(_same(b.stdout, owned, titled)) != clock(_same(a.stdout, alone, titled)):
        out.append(f"{argv}: stdout differs\n--- alone\n{a.stdout}\n--- forwarded\n{b.stdout}")
    if _same(b.stderr, owned) != _same(a.stderr, alone):
        out.append(f"{argv}: stderr differs\n--- alone\n{a.stderr}\n--- forwarded\n{b.stderr}")
    if "Traceback" in a.stderr + b.stderr:
        out.append(f"{argv}: a traceback\n{a.stderr}\n{b.stderr}")
    # A refusal of ours (not click's usage text) is one error, at most two lines (a database's
    # own "Did you mean …?" follows on the second), after any log lines.
    said = [line for line in b.stderr.splitlines()
            if not re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ", line)]
    if code == 2 and not b.stderr.startswith("Usage:") and (
            not said or not said[0].startswith("error: ") or len(said) > 2):
        out.append(f"{argv}: not one error line: {b.stderr!r}")
    return out


def _leaves(cmd, path: tuple[str, ...] = ()):
    if hasattr(cmd, "commands"):
        for name, sub in cmd.commands.items():
            yield from _leaves(sub, (*path, name))
    else:
        yield " ".join(path), cmd


def test_the_matrix_covers_every_command_in_each_of_its_formats():
    """Derived from the app: a new command, or a new format of one, cannot be missed."""
    ran = [forward.split_globals(argv)[1] for argv, _ in COMMANDS]
    for path, cmd in _leaves(ROOT):
        words = path.split()
        runs = [rest for rest in ran if rest[:len(words)] == words]
        if path in NOT_IN_MATRIX:
            assert not runs, f"`cbi {path}` is in the matrix and in NOT_IN_MATRIX"
            continue
        assert runs, f"`cbi {path}` is not in the forwarding matrix (or NOT_IN_MATRIX)"
        option = next((p for p in cmd.params if "--format" in getattr(p, "opts", ())), None)
        if option is None:
            continue
        formats = set(re.findall(r"\b(table|csv|json|ndjson)\b", option.help or ""))
        shown = {rest[i + 1] for rest in runs for i, word in enumerate(rest[:-1])
                 if word in option.opts}
        assert formats <= shown, f"`cbi {path}`: formats {sorted(formats - shown)} not run"
    assert set(NOT_IN_MATRIX) <= {path for path, _ in _leaves(ROOT)}


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
        job = {flag: _run([*flag.split(), "job", "chatty"], tmp_path, env).stderr
               for flag in ("", "-v", "-q")}
    finally:
        _stop(proc)
    # a job run in the owner logs to the caller at the caller's level, as it would alone
    assert all("running chatty there" in job[f] for f in ("", "-v"))
    assert "chatty: a debug line" in job["-v"] and "chatty: an info line" in job["-v"]
    assert "chatty: an info line" in job[""] and "debug line" not in job[""]
    assert "chatty" not in job["-q"].replace("running chatty there", "")
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
        # Kill once the job runs in the owner and has written a batch (its log reaches the
        # client's stderr), not after a fixed sleep: a busy machine may not be there yet.
        seen: list[str] = []
        while not seen or "batch 0 written" not in seen[-1]:
            seen.append(client.stderr.readline())
            assert seen[-1] or client.poll() is None, "".join(seen)
        proc.kill()  # kill -9: no shutdown, the endpoint file stays
        proc.wait(timeout=30)
        out, errs = client.communicate(timeout=60)
        errs = "".join(seen) + errs
    finally:
        if proc.poll() is None:
            proc.kill()
    assert client.returncode == 1, out + errs
    lines = errs.strip().splitlines()
    assert lines[-1].startswith("error: cbi serve (pid ") and "stopped while running job" in lines[-1]
    assert "Traceback" not in errs and any("owns the warehouse" in line for line in lines)
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
