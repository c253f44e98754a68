"""The schedule: parsing, live vs poll, chains (features after new data, predictions after
features) on a fast clock, and the crontab twin."""

from __future__ import annotations

import time

import pytest

from cbi.config import Settings
from cbi.ops import scheduler
from cbi.ops.runs import run_job
from cbi.warehouse import connect

EXTRA = {"tick": "tests.ops.jobs_for_tests:writes_one"}


def test_parse_and_errors():
    assert scheduler.parse("every 5m") == [scheduler.Trigger("every", seconds=300)]
    assert scheduler.parse("after a,b; cron 0 3 * * *")[0].after == ("a", "b")
    assert scheduler.parse("off") == []
    with pytest.raises(ValueError, match="job 'fred'.*'every 5 parsecs'"):
        scheduler.parse("every 5 parsecs", "fred")


def test_live_replaces_the_poll_and_overrides_apply():
    live = scheduler.effective_schedule(Settings(live=True))
    assert live["databento"] == [] and live["fred"][0].seconds == 3600
    poll = scheduler.effective_schedule(Settings(live=False, schedule={"news": "off"}))
    assert poll["databento"][0].seconds == 300 and poll["news"] == []
    assert scheduler.dependents(poll, "features") == ["predict"]


def test_fast_clock_runs_fred_then_features_then_predict(duckdb_url, monkeypatch):
    from cbi import jobs

    for name in ("fred", "features", "predict"):
        monkeypatch.setitem(jobs.JOBS, name, "tests.ops.jobs_for_tests:writes_one")
    settings = Settings(warehouse=duckdb_url, live=True, schedule={
        "fred": "every 1h", "news": "off", "export": "off", "train": "off", "retention": "off",
        "features": "after databento,fred"})
    with connect(duckdb_url) as wh:
        wh.init()
        sched = scheduler.PipelineScheduler(wh, settings, speed=3600, stale_check=False)
        sched.start()
        try:
            deadline = time.monotonic() + 20
            while ("predict", "succeeded") not in sched.results and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            sched.shutdown()
        done = [job for job, status in sched.results if status == "succeeded"]
        assert done[:3] == ["fred", "features", "predict"], sched.results
        runs = wh.query("SELECT job FROM ops.pipeline_runs WHERE status = 'succeeded'")
        assert {"fred", "features", "predict"} <= set(runs.column("job").to_pylist())


def test_a_job_that_wrote_nothing_triggers_nothing(duckdb_url):
    settings = Settings(extra_jobs={"quiet": "tests.ops.jobs_for_tests:writes_none",
                                    "tick": "tests.ops.jobs_for_tests:writes_one"},
                        schedule={"tick": "after quiet"})
    with connect(duckdb_url) as wh:
        wh.init()
        sched = scheduler.PipelineScheduler(wh, settings, stale_check=False,
                                            runner=run_job)
        sched.run("quiet")
        assert sched.results == [("quiet", "succeeded")]
        assert sched.scheduler.get_job("tick#after") is None


def test_crontab_lines_follow_the_schedule():
    lines = scheduler.crontab_lines(Settings(), "/srv/cbi", "cbi")
    text = "\n".join(lines)
    assert "CRON_TZ=America/Chicago" in text
    lock = "flock -w 300 /srv/cbi/cbi.duckdb.cron.lock"
    assert (f"*/5 * * * * cd /srv/cbi && mkdir -p /srv/cbi/logs && {lock} sh -c "
            "'cbi job databento && cbi job features && cbi job predict' "
            ">> /srv/cbi/logs/databento.log 2>&1") in text
    assert (f"0 * * * * cd /srv/cbi && mkdir -p /srv/cbi/logs && {lock} sh -c "
            "'cbi job fred && cbi job features && cbi job predict' >> /srv/cbi/logs/fred.log 2>&1"
            ) in text
    assert f"0 3 * * * cd /srv/cbi && mkdir -p /srv/cbi/logs && {lock} cbi job export >> " in text
    assert f"0 4 * * 0 cd /srv/cbi && mkdir -p /srv/cbi/logs && {lock} cbi job train >> " in text
    assert f"{lock} cbi status --alert >> /srv/cbi/logs/status.log 2>&1" in text
    # every job line is locked and logged
    assert all("flock -w 300" in ln and ln.count(">> /srv/cbi/logs/") == 1
               for ln in lines[2:])


def test_cron_lock_and_logs_follow_the_settings(tmp_path):
    settings = Settings(warehouse="duckdb:////data/wh/cbi.duckdb", cron_log_dir="/var/log/cbi")
    text = "\n".join(scheduler.crontab_lines(settings, "/srv/cbi", "cbi"))
    assert "flock -w 300 /data/wh/cbi.duckdb.cron.lock" in text
    assert ">> /var/log/cbi/news.log 2>&1" in text
    bq = Settings(warehouse="bigquery://p?location=us-central1")
    assert "flock -w 300 /srv/cbi/cbi.cron.lock" in "\n".join(
        scheduler.crontab_lines(bq, "/srv/cbi", "cbi"))


@pytest.mark.parametrize("spec, message", [
    ("every 2d", "cannot repeat every few days"),
    ("every 45s", "whole minutes only"),
    ("every 45m", "divide an hour"),
    ("every 90m", "whole hours only"),
    ("every 5h", "divide a day"),
])
def test_cron_refuses_what_it_cannot_express(spec, message):
    with pytest.raises(ValueError, match=message):
        scheduler.crontab_lines(Settings(schedule={"fred": spec}), "/srv", "cbi")
    scheduler.effective_schedule(Settings(schedule={"fred": spec}))  # cbi serve runs them


@pytest.mark.parametrize("schedule, message", [
    ({"fred": "cron 99 3 * * *"}, r"'cron 99 3 \* \* \*' is not a valid cron expression"),
    ({"fred": "cron 0 25 * * *"}, "not a valid cron expression"),
    ({"fred": "cron 0 3 * * mon-fry"}, "not a valid cron expression"),
    ({"fredd": "every 1h"}, r"unknown job\(s\) 'fredd'; jobs: databento, fred"),
    ({"features": "after fredd"}, "names unknown job"),
])
def test_bad_schedules_are_refused_by_serve_and_cron(schedule, message):
    with pytest.raises(ValueError, match=message):
        scheduler.effective_schedule(Settings(schedule=schedule))


def test_cbi_cron_prints_locked_lines_and_refuses_bad_ones_in_one_line(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from cbi.cli import app

    runner = CliRunner()
    ok = runner.invoke(app, ["cron", "--folder", str(tmp_path)])
    assert ok.exit_code == 0, ok.output
    assert f"flock -w 300 {tmp_path}/cbi.duckdb.cron.lock" in ok.stdout
    monkeypatch.setenv("CBI_SCHEDULE", '{"fred": "every 2d"}')
    from cbi.config import reset_settings_cache

    reset_settings_cache()
    bad = runner.invoke(app, ["cron"])
    assert bad.exit_code == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "every 2d" in bad.stderr
