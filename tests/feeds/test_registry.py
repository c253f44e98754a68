"""The feed seam: a feed is one folder and one registry line (`tests/feeds/example_feed`), and
`run_feed` alone merges, then moves the watermark."""

from __future__ import annotations

import ast
import datetime as dt
import inspect

import pytest
from typer.testing import CliRunner

from cbi import config, jobs, secrets
from cbi.config import Settings, get_settings, reset_settings_cache
from cbi.feeds import registry
from cbi.feeds.base import Source, get_watermark
from tests.feeds.example_feed import source as example


@pytest.fixture
def example_feed():
    registry.register(example.FEED)  # the one line a new feed adds to the registry
    reset_settings_cache()  # settings read before it was registered are forgotten
    example.SERVICE.clear()
    example.SERVICE["EX1"] = {dt.date(2024, 1, 1) + dt.timedelta(days=i): 100.0 + i for i in range(5)}
    yield example.FEED
    registry.unregister(example.NAME)
    reset_settings_cache()
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


def test_the_registry_line_makes_the_feeds_settings(example_feed, monkeypatch, tmp_path):
    assert get_settings().example_base_url == "https://example.invalid"
    assert Settings.model_fields["example_base_url"].description  # `cbi config` shows it
    monkeypatch.setenv("CBI_EXAMPLE_BASE_URL", "http://127.0.0.1:9/")
    config.check_environment()  # a registered feed's CBI_* name is a setting
    reset_settings_cache()
    assert get_settings().example_base_url == "http://127.0.0.1:9/"
    monkeypatch.delenv("CBI_EXAMPLE_BASE_URL")
    (tmp_path / "cbi.toml").write_text('example_base_url = "http://127.0.0.1:8/"\n'
                                       'example_series = ["EX2"]\n')
    reset_settings_cache()
    assert (get_settings().example_base_url, get_settings().example_series) == (
        "http://127.0.0.1:8/", ["EX2"])


def test_an_unregistered_feeds_settings_are_unknown(example_feed, monkeypatch):
    registry.unregister(example.NAME)
    assert not hasattr(Settings(), "example_base_url")  # a new Settings follows the registry
    monkeypatch.setenv("CBI_EXAMPLE_BASE_URL", "http://127.0.0.1:9/")
    from cbi.errors import SettingsError

    with pytest.raises(SettingsError, match="CBI_EXAMPLE_BASE_URL: unknown setting"):
        config.check_environment()


def test_the_built_in_feeds_settings_keep_their_names_and_mypys_view_agrees():
    for f in registry.FEEDS:
        assert f.settings is not None
        for name, field in f.settings.model_fields.items():
            assert Settings.model_fields[name] is field  # CBI_FRED_BASE_URL, cbi.toml, attribute
    assert Settings().fred_base_url == "https://api.stlouisfed.org"
    # mypy reads the feeds' fields from `_FeedSettings`' bases: they must be the registry's
    tree = ast.parse(inspect.getsource(config))
    bases = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)
                 and n.name == "_FeedSettings").bases
    assert [ast.unparse(b) for b in bases] == [f.settings.__name__ for f in registry.FEEDS
                                              if f.settings]


def test_the_registry_line_gives_the_feed_its_command(example_feed, duckdb_url, monkeypatch):
    from cbi.cli import build_app

    monkeypatch.setenv("CBI_SANDBOX", "true")
    app = build_app()  # the app as `cbi` assembles it, now with the example feed
    assert "example" in CliRunner().invoke(app, ["ingest", "--help"]).output
    CliRunner().invoke(app, ["-w", duckdb_url, "init"])
    result = CliRunner().invoke(app, ["-w", duckdb_url, "ingest", "example", "--series", "EX1"])
    assert result.exit_code == 0, result.output
    assert "example: 5 read, 5 written from https://example.invalid" in result.output
