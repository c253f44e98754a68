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
         "writes_one": "tests.ops.jobs_for_tests:writes_one",
         "chatty": "tests.ops.jobs_for_tests:chatty"}
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
    settings, _, service = owned
    with pytest.raises(OwnerError, match=f"pid {os.getpid()}.*already owns"):
        OwnerService(settings, run=lambda *a: {}, reads={})
    assert find_owner(settings).url.endswith(f":{service.port}")  # the first one is untouched


def test_a_reused_pid_is_not_an_owner_and_its_files_are_removed(tmp_path):
    """The endpoint names a live process (our parent) on a port nobody serves: the probe
    fails, so the file is stale: removed with a one-line note, and commands run here."""
    import socket

    settings = Settings(warehouse=f"duckdb:///{tmp_path}/cbi.duckdb")
    files = owner_files(settings)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # free once closed: nothing listens there
    files.endpoint.write_text(json.dumps({"pid": os.getppid(), "port": port}))
    files.token.write_text("tok")
    notes: list[str] = []
    assert find_owner(settings, on_stale=notes.append) is None
    assert not files.endpoint.exists() and not files.token.exists()
    assert len(notes) == 1 and f"pid {os.getppid()}" in notes[0] and "\n" not in notes[0]


def test_a_wrong_token_is_refused_and_the_owner_left_alone(owned):
    settings, _, service = owned
    files = owner_files(settings)
    files.token.write_text("someone-elses-token")  # the probe is refused: 401
    with pytest.raises(OwnerError, match="HTTP 401"):
        find_owner(settings)
    assert json.loads(files.endpoint.read_text())["port"] == service.port  # not removed


def test_every_job_api_error_is_json_with_its_status(owned):
    settings, wh, service = owned
    base = f"http://127.0.0.1:{service.port}"
    auth = {"Authorization": f"Bearer {service.token}"}
    cases = [
        httpx.post(f"{base}/jobs/writes_one", content=b"{not json", headers=auth),
        httpx.post(f"{base}/jobs/writes_one", content=b"[1, 2]", headers=auth),
        httpx.post(f"{base}/jobs/writes_one", json={}),
        httpx.get(f"{base}/nowhere", headers=auth),
        httpx.post(f"{base}/nowhere", json={}, headers=auth),
        httpx.put(f"{base}/jobs/writes_one", json={}, headers=auth),
        httpx.delete(f"{base}/status", headers=auth),
        httpx.post(f"{base}/commands", json={"argv": "not a list"}, headers=auth),
        httpx.post(f"{base}/commands", json={"argv": ["query", "SELECT 1"]}, headers=auth),
    ]
    expected = [400, 400, 401, 404, 404, 501, 501, 400, 404]
    assert [r.status_code for r in cases] == expected
    for resp, code in zip(cases, expected):
        assert resp.headers["Content-Type"].startswith("application/json"), resp.text
        body = resp.json()
        assert body["status"] == code and body["error"], body
    assert wh.row_count("ops.pipeline_runs") == 0  # nothing ran


def test_an_unknown_job_is_a_404_before_anything_runs(tmp_path):
    from cbi.ops.runs import job_names

    settings = Settings(warehouse=f"duckdb:///{tmp_path}/cbi.duckdb", extra_jobs=EXTRA)
    with connect(settings=settings) as wh:
        wh.init()
        service = OwnerService(settings, run=lambda job, opts: run_job(wh, settings, job, **opts),
                               reads={}, job_names=lambda: job_names(settings)).start()
        try:
            resp = httpx.post(f"http://127.0.0.1:{service.port}/jobs/nope", json={},
                              headers={"Authorization": f"Bearer {service.token}"})
            assert resp.status_code == 404 and "unknown job 'nope'" in resp.json()["error"]
            with pytest.raises(OwnerError, match="HTTP 404 unknown job 'nope'"):
                submit(find_owner(settings), "nope", {})
            assert wh.row_count("ops.pipeline_runs") == 0
        finally:
            service.stop()


def _serve_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]), "CBI_CONFIG": str(tmp_path / "none.toml"),
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
        assert "owns the warehouse" in second.stderr and '"rows_written": 1' in second.stdout

        ingest = subprocess.run([CBI, "ingest", "fred", "--series", "DFF"], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=120)
        assert ingest.returncode == 0, ingest.stdout + ingest.stderr
        assert "DFF" in ingest.stdout and "Traceback" not in ingest.stderr

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
        # SIGTERM once the job has written a batch (not after a fixed sleep: on a busy machine
        # the client may not even have connected by then).
        while "batch 0 written" not in client.stdout.readline():
            assert client.poll() is None, "the job stream ended before its first batch"
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
