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
    assert "*/5 * * * * cd /srv/cbi && cbi job databento && cbi job features && cbi job predict" in text
    assert "0 * * * * cd /srv/cbi && cbi job fred && cbi job features && cbi job predict" in text
    assert "0 3 * * * cd /srv/cbi && cbi job export" in text
    assert "0 4 * * 0 cd /srv/cbi && cbi job train" in text
    assert "cbi status --alert" in text
