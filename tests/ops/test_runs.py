"""The run log: every job leaves one row with its status, counts and error; failures alert."""

from __future__ import annotations

import datetime as dt

import pytest

from cbi import jobs
from cbi.config import Settings
from cbi.ops import alerts, runs
from cbi.ops.cost import month_to_date
from cbi.ops.runs import JobFailed, run_job
from cbi.warehouse.bigquery import JobCost

EXTRA = {"writes_one": "tests.ops.jobs_for_tests:writes_one",
         "failing": "tests.ops.jobs_for_tests:failing"}


def test_failed_run_and_its_alert_on_each_engine(warehouse):
    settings = Settings(extra_jobs=EXTRA)
    with pytest.raises(JobFailed, match="upstream said no"):
        run_job(warehouse, settings, "failing")
    (latest,) = runs.latest_per_job(warehouse)
    assert latest["job"] == "failing" and latest["status"] == "failed"
    assert "RuntimeError: upstream said no" in latest["error"]
    assert [a["subject"] for a in alerts.open_alerts(warehouse)] == ["failing"]
    assert not alerts.raise_alert(warehouse, settings, "job_failed", "failing", "again")
    assert len(alerts.open_alerts(warehouse)) == 1
    assert [r["status"] for r in runs.last_runs(warehouse, 5)] == ["failed"]
    assert month_to_date(warehouse, settings).estimate_usd == 0.0
    fresh = {f.subject: f for f in alerts.freshness(warehouse, settings)}
    assert fresh["ZL"].last_at is None and fresh["ZL"].note == "no bar in the last 14 days"
    assert fresh["fred"].last_at is None and not fresh["fred"].stale


def test_success_is_logged_with_its_counts(duckdb_url):
    from cbi.warehouse import connect

    settings = Settings(extra_jobs=EXTRA)
    with connect(duckdb_url) as wh:
        wh.init()
        ok = run_job(wh, settings, "writes_one")
        run_job(wh, settings, "writes_one")
        latest = runs.latest_per_job(wh)
        assert len(latest) == 1 and latest[0]["status"] == "succeeded"
        assert latest[0]["rows_written"] == 1 and latest[0]["finished_at"] is not None
        assert ok["run_id"] in {r["run_id"] for r in runs.last_runs(wh, 5)}


def test_every_registered_job_resolves_or_names_its_module():
    assert "retention" in jobs.JOBS
    settings = Settings(extra_jobs=EXTRA)
    assert runs.resolve("writes_one", settings).__name__ == "writes_one"
    with pytest.raises(KeyError, match="unknown job 'nope'"):
        runs.resolve("nope", settings)


def test_success_resolves_the_failed_job_alert(duckdb_url):
    from cbi.warehouse import connect

    settings = Settings(extra_jobs={**EXTRA, "flaky": "tests.ops.jobs_for_tests:writes_one"})
    with connect(duckdb_url) as wh:
        wh.init()
        alerts.raise_alert(wh, settings, "job_failed", "flaky", "earlier failure")
        run_job(wh, settings, "flaky")
        assert alerts.open_alerts(wh) == []


def test_bigquery_job_costs_are_flushed_into_query_costs(duckdb_url):
    from cbi.warehouse import connect

    with connect(duckdb_url) as wh:
        wh.init()
        now = dt.datetime.now(dt.timezone.utc)
        wh.job_costs = [JobCost("j1", "SELECT", 1000, 10 * 1024**2, False, now),
                        JobCost("j2", "SELECT", 500, 0, True, now)]
        run_job(wh, Settings(extra_jobs=EXTRA), "writes_one")
        assert wh.job_costs == []
        assert wh.scalar("SELECT bytes_processed FROM ops.pipeline_runs") == 1000
        assert wh.scalar("SELECT SUM(bytes_billed) FROM ops.query_costs WHERE job = 'writes_one'") == 10 * 1024**2


def test_options_a_job_does_not_take_are_dropped():
    def job(wh, settings, start=None):
        return start

    assert runs.supported_options(job, {"start": 1, "other": 2}) == {"start": 1}


def test_a_failed_quality_gate_is_its_own_alert_kind(duckdb_url):
    from cbi.warehouse import connect

    settings = Settings(extra_jobs={"gated": "tests.ops.jobs_for_tests:gate_fails",
                                    "gated_ok": "tests.ops.jobs_for_tests:writes_one"})
    with connect(duckdb_url) as wh:
        wh.init()
        with pytest.raises(JobFailed):
            run_job(wh, settings, "gated")
        assert [(a["kind"], a["subject"]) for a in alerts.open_alerts(wh)] == [("quality_gate", "gated")]


def test_training_jobs_use_the_training_role():
    assert runs.role_for("train") == runs.role_for("predict") == "training"
    assert runs.role_for("fred") == "collector"


# ---- runs end: abandoned runs ------------------------------------------------------------------
def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _running_row(wh, run_id: str, job: str, details: dict) -> None:
    import json

    runs._write(wh, run_id, job, dt.datetime(2026, 11, 28, 15, 0, tzinfo=dt.timezone.utc),
                "running", details=details)
    assert json.loads(wh.scalar("SELECT details FROM ops.pipeline_runs WHERE run_id = @r",
                                {"r": run_id}))["pid"] == details.get("pid")


def test_a_running_row_is_abandoned_only_when_its_process_is_gone():
    import os

    me = runs.process_identity()
    dead = {"host": runs.HOST, "pid": _dead_pid(), "pid_start": "1"}
    row = {"run_id": "r1", "status": "running"}

    def details(d):
        import json

        return {**row, "details": json.dumps(d)}

    assert "is gone" in runs.abandoned_reason(details(dead))
    reused = {"host": runs.HOST, "pid": os.getppid(), "pid_start": "not-its-start-time"}
    assert "another process" in runs.abandoned_reason(details(reused))
    alive = {"host": runs.HOST, "pid": os.getppid(), "pid_start": runs._pid_start(os.getppid())}
    assert runs.abandoned_reason(details(alive)) is None
    elsewhere = {"host": "another-host", "pid": 1}
    assert runs.abandoned_reason(details(elsewhere)) is None  # cannot check another host
    assert "holds the warehouse alone" in runs.abandoned_reason(details(elsewhere), exclusive=True)
    assert "no longer runs it" in runs.abandoned_reason(details(me))  # ours, not active
    runs._ACTIVE.add("r1")
    try:
        assert runs.abandoned_reason(details(me)) is None
    finally:
        runs._ACTIVE.discard("r1")
    assert runs.abandoned_reason({**details(dead), "status": "failed"}) is None


def test_abandoned_runs_are_marked_alerted_and_counted_as_failures(duckdb_url):
    from cbi.ops.status import healthy, status_report
    from cbi.warehouse import connect

    settings = Settings(extra_jobs=EXTRA, roots=["ZL"])
    with connect(duckdb_url) as wh:
        wh.init()
        _running_row(wh, "dead1", "fred", {"host": runs.HOST, "pid": _dead_pid()})
        report = status_report(wh, settings)  # counted before anyone rewrote it
        assert report["failed"] == ["fred"] and not healthy(report)
        assert report["latest"][0]["status"] == "abandoned"
        marked = runs.mark_abandoned(wh, settings)
        assert [m["run_id"] for m in marked] == ["dead1"]
        assert wh.scalar("SELECT status FROM ops.pipeline_runs WHERE run_id = 'dead1'") == "abandoned"
        assert "is gone" in wh.scalar("SELECT error FROM ops.pipeline_runs WHERE run_id = 'dead1'")
        assert wh.scalar("SELECT finished_at IS NOT NULL FROM ops.pipeline_runs") is True
        assert [(a["kind"], a["subject"]) for a in alerts.open_alerts(wh)] == [("job_abandoned", "fred")]
        assert runs.mark_abandoned(wh, settings) == []  # once
        assert status_report(wh, settings)["failed"] == ["fred"]
        run_job(wh, settings, "writes_one")
        assert runs.latest_per_job(wh)[-1]["status"] == "succeeded"


def test_the_owner_marks_abandoned_runs_at_start_up(duckdb_url):
    from cbi.ops.serve import Server
    from cbi.warehouse import connect

    with connect(duckdb_url) as wh:
        wh.init()
        _running_row(wh, "killed", "news", {"host": runs.HOST, "pid": _dead_pid()})
    all_off = {j: "off" for j in jobs.JOBS}
    settings = Settings(warehouse=duckdb_url, live=False, schedule=all_off, sandbox=False)
    server = Server(settings, dashboard=False)
    server._open()
    try:
        assert server.wh.scalar("SELECT status FROM ops.pipeline_runs") == "abandoned"
        assert [a["subject"] for a in alerts.open_alerts(server.wh)] == ["news"]
    finally:
        server.shutdown()
        runs.STOPPING.clear()  # shutdown() tells this process to stop; later tests run jobs
