"""The owner's job API: a second command runs its job through `cbi serve`, only with the token;
SIGTERM in the middle of a batch leaves whole batches only."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cbi.config import Settings
from cbi.ops.owner import OwnerError, OwnerService, find_owner, owner_files, submit
from cbi.ops.runs import run_job
from cbi.warehouse import connect

REPO = Path(__file__).resolve().parents[2]
CBI = str(REPO / ".venv" / "bin" / "cbi")
EXTRA = {"slow_batches": "tests.ops.jobs_for_tests:slow_batches",
         "writes_one": "tests.ops.jobs_for_tests:writes_one"}
ALL_OFF = {j: "off" for j in ("databento", "fred", "news", "features", "predict", "export",
                              "train", "retention")}


@pytest.fixture
def owned(tmp_path):
    settings = Settings(warehouse=f"duckdb:///{tmp_path}/cbi.duckdb", extra_jobs=EXTRA)
    wh = connect(settings=settings)
    wh.init()
    service = OwnerService(settings, run=lambda job, opts: run_job(wh, settings, job, **opts),
                           reads={"status": lambda: {"ok": True}}).start()
    yield settings, wh, service
    service.stop()
    wh.close()


def test_token_file_is_private_and_endpoint_names_the_port(owned):
    settings, _, service = owned
    files = owner_files(settings)
    assert stat.S_IMODE(files.token.stat().st_mode) == 0o600
    assert json.loads(files.endpoint.read_text())["port"] == service.port
    assert find_owner(settings).url.endswith(f":{service.port}")


def test_job_runs_in_owner_and_streams_its_log(owned):
    settings, wh, _ = owned
    lines: list[str] = []
    result = submit(find_owner(settings), "slow_batches", {"batches": 2, "pause": 0}, lines.append)
    assert result["rows_written"] == 100
    assert wh.row_count("market_data.databento_futures_ohlcv_1m") == 100
    assert wh.scalar("SELECT status FROM ops.pipeline_runs WHERE job = 'slow_batches'") == "succeeded"


def test_without_the_token_nothing_runs(owned):
    settings, wh, service = owned
    url = f"http://127.0.0.1:{service.port}/jobs/slow_batches"
    assert httpx.post(url, json={"batches": 1}).status_code == 401
    assert httpx.post(url, json={}, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.get(f"http://127.0.0.1:{service.port}/status").status_code == 401
    assert wh.row_count("market_data.databento_futures_ohlcv_1m") == 0
    assert wh.row_count("ops.pipeline_runs") == 0


def test_a_second_owner_is_refused(owned):
    settings, _, _ = owned
    files = owner_files(settings)
    info = json.loads(files.endpoint.read_text())
    files.endpoint.write_text(json.dumps({**info, "pid": os.getppid()}))  # another live process
    with pytest.raises(OwnerError, match="already owns"):
        OwnerService(settings, run=lambda *a: {}, reads={})


def _serve_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "CBI_CONFIG": str(tmp_path / "none.toml"),
            "CBI_WAREHOUSE": f"duckdb:///{tmp_path}/cbi.duckdb", "CBI_SANDBOX": "true",
            "CBI_EXTRA_JOBS": json.dumps(EXTRA), "CBI_SCHEDULE": json.dumps(ALL_OFF),
            "CBI_LIVE": "false"}


def _start_serve(tmp_path: Path) -> tuple[subprocess.Popen, dict[str, str]]:
    env = _serve_env(tmp_path)
    proc = subprocess.Popen([CBI, "serve", "--no-dashboard"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    endpoint = tmp_path / "cbi.duckdb.owner.json"
    deadline = time.monotonic() + 60
    while not endpoint.exists():
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline, "cbi serve did not come up"
        time.sleep(0.2)
    return proc, env


def _count(tmp_path: Path) -> int:
    import duckdb

    con = duckdb.connect(str(tmp_path / "cbi.duckdb"), read_only=True)
    try:
        return con.execute("SELECT COUNT(*) FROM market_data.databento_futures_ohlcv_1m").fetchone()[0]
    finally:
        con.close()


def test_commands_while_serve_runs_go_through_the_owner_then_sigterm_keeps_whole_batches(tmp_path):
    proc, env = _start_serve(tmp_path)
    try:
        second = subprocess.run([CBI, "job", "writes_one"], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 0, second.stdout + second.stderr
        assert "owns the warehouse" in second.stdout and '"rows_written": 1' in second.stdout

        ingest = subprocess.run([CBI, "ingest", "fred", "--series", "DFF"], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=120)
        assert ingest.returncode == 0, ingest.stdout + ingest.stderr
        assert "owns the warehouse" in ingest.stderr and "DFF" in ingest.stdout

        token_file = tmp_path / "cbi.duckdb.owner.token"
        token = token_file.read_text()
        token_file.write_text("not-the-token")
        refused = subprocess.run([CBI, "job", "writes_one"], cwd=tmp_path, env=env,
                                 capture_output=True, text=True, timeout=60)
        assert refused.returncode != 0 and "401" in refused.stderr
        refused = subprocess.run([CBI, "ingest", "fred"], cwd=tmp_path, env=env,
                                 capture_output=True, text=True, timeout=60)
        assert refused.returncode != 0 and "401" in refused.stderr
        token_file.write_text(token)

        # A long job via the API, SIGTERM while it is between/inside batches.
        owner_port = json.loads((tmp_path / "cbi.duckdb.owner.json").read_text())["port"]
        client = subprocess.Popen([sys.executable, "-c", (
            "import httpx,sys;"
            f"r=httpx.Client(timeout=None).send(httpx.Request('POST','http://127.0.0.1:{owner_port}/jobs/slow_batches',"
            "json={'batches':40,'pause':0.2},headers={'Authorization':'Bearer '+sys.argv[1]}),stream=True);[sys.stdout.write(l+'\\n') for l in r.iter_lines()]"), token],
            stdout=subprocess.PIPE, text=True)
        time.sleep(2.5)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
        client.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "stopped cleanly" in out
    rows = _count(tmp_path)
    assert rows % 50 == 0 and 0 < rows < 40 * 50, rows  # whole batches, stopped early
    assert not (tmp_path / "cbi.duckdb.owner.json").exists()
