"""The feed seam: a feed is one folder and one registry line (`tests/feeds/example_feed`), and
`run_feed` alone merges, then moves the watermark."""

from __future__ import annotations

import datetime as dt

import pytest

from cbi import jobs, secrets
from cbi.config import Settings
from cbi.feeds import registry
from cbi.feeds.base import Source, get_watermark
from tests.feeds.example_feed import source as example


@pytest.fixture
def example_feed():
    registry.register(example.FEED)  # the one line a new feed adds to the registry
    example.SERVICE.clear()
    example.SERVICE["EX1"] = {dt.date(2024, 1, 1) + dt.timedelta(days=i): 100.0 + i for i in range(5)}
    yield example.FEED
    registry.unregister(example.NAME)
    example.SERVICE.clear()


@pytest.fixture
def wh(duckdb_url):
    from cbi.warehouse import connect

    with connect(duckdb_url) as wh:
        wh.init()
        yield wh


def test_the_registry_line_makes_the_job_the_key_and_the_sandbox_key(example_feed, monkeypatch):
    assert jobs.job("example") is example.example_job
    assert "EXAMPLE_API_KEY" in registry.key_names()
    assert secrets.feed_key(Settings(sandbox=True), "EXAMPLE_API_KEY") == "example0fake0key"
    assert secrets.feed_key(Settings(), "EXAMPLE_API_KEY") is None
    monkeypatch.setenv("EXAMPLE_API_KEY", "a-real-one")
    assert secrets.feed_key(Settings(), "EXAMPLE_API_KEY") == "a-real-one"
    assert isinstance(example.ExampleSource(example.ExampleClient("k"), dt.date.today()), Source)


def test_the_registry_line_gives_the_feeds_default_schedule(example_feed, monkeypatch):
    from cbi.ops.scheduler import Trigger, effective_schedule

    monkeypatch.setitem(jobs.JOBS, "example", example.FEED.job)  # as if in FEEDS at import

    schedule = effective_schedule(Settings(), live=False)
    assert schedule["example"] == [Trigger("every", seconds=86400)]
    assert schedule["fred"] == [Trigger("every", seconds=3600)]  # the built-in lines too
    assert schedule["databento"] == [Trigger("every", seconds=300)]
    assert effective_schedule(Settings(), live=True)["databento"] == []  # Live replaces the poll
    overridden = effective_schedule(Settings(schedule={"example": "every 2h"}), live=False)
    assert overridden["example"] == [Trigger("every", seconds=7200)]


def test_the_built_in_feeds_are_registered_once():
    names = [f.name for f in registry.FEEDS]
    assert names == ["databento", "fred", "news"]
    assert {k: v for k, v in jobs.JOBS.items() if k in names} == registry.feed_jobs()
    assert set(registry.key_names()) < set(secrets.KNOWN)
    assert {s.module for s in registry.stand_ins()} == {
        "cbi.sandbox.databento_http", "cbi.sandbox.databento_live", "cbi.sandbox.fred",
        "cbi.sandbox.news"}


def test_run_feed_merges_then_moves_the_watermark_and_resumes_from_it(example_feed, wh):
    first = jobs.job("example")(wh, Settings(sandbox=True))
    assert (first["rows_read"], first["rows_written"]) == (5, 5)
    assert get_watermark(wh, "example", "EX1") == dt.datetime(2024, 1, 10, tzinfo=dt.timezone.utc)
    example.SERVICE["EX1"][dt.date(2024, 1, 11)] = 111.0
    again = jobs.job("example")(wh, Settings(sandbox=True), today=dt.date(2024, 1, 12))
    assert (again["rows_read"], again["rows_written"]) == (1, 1)  # only what the mark left
    assert wh.scalar("SELECT COUNT(*) FROM market_data.fred_economic_indicators "
                     "WHERE series_id = 'EX1'") == 6


def test_a_failed_batch_leaves_the_watermark_where_it_was(example_feed, wh):
    example.SERVICE["EX1"][dt.date(2024, 1, 3)] = "n/a"
    with pytest.raises(ValueError, match="EX1 2024-01-03: value 'n/a' is not a number"):
        example.example_job(wh, Settings(sandbox=True))
    assert get_watermark(wh, "example", "EX1") is None
    assert wh.row_count("market_data.fred_economic_indicators") == 0
