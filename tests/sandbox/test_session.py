"""The sandbox at the edges: `sandbox_session` alone decides and starts the stand-ins; the
feeds only read settings and keys, and refuse to send a fake key to a live endpoint."""

from __future__ import annotations

import os

import pytest

from cbi.config import Settings, get_settings
from cbi.sandbox.session import needed, sandbox_session


def test_off_unless_asked_for_and_nothing_starts():
    for flag in (None, False):
        settings = Settings(sandbox=flag)
        assert needed(settings) == ()
        with sandbox_session(settings) as inside:
            assert inside is settings


def test_starts_only_what_no_setting_points_at_and_puts_it_all_back():
    settings = Settings(sandbox=True, fred_base_url="http://127.0.0.1:9/fred")
    assert [s.setting for s in needed(settings)] == [
        "databento_gateway", "databento_live_gateway", "news_base_url"]
    with sandbox_session(settings) as inside:
        assert inside.fred_base_url == "http://127.0.0.1:9/fred"  # configured: kept
        assert inside.news_base_url.startswith("http://127.0.0.1:")
        assert inside.databento_live_gateway.startswith("127.0.0.1:")
        # the process's settings (a command run inside `cbi serve`) see the same stand-ins
        assert os.environ["CBI_NEWS_BASE_URL"] == inside.news_base_url
        assert get_settings().databento_gateway == inside.databento_gateway
    assert "CBI_NEWS_BASE_URL" not in os.environ and get_settings().databento_gateway is None


def test_a_feed_in_sandbox_mode_refuses_the_live_endpoint(duckdb_url):
    from cbi.feeds.fred import FredError, fred_job
    from cbi.warehouse import connect

    with connect(duckdb_url) as wh:
        wh.init()
        with pytest.raises(FredError, match="sandbox = true but fred_base_url is the live "
                                            "service's https://api.stlouisfed.org"):
            fred_job(wh, Settings(sandbox=True, fred_series=["DFF"]))
        assert wh.row_count("ops.feed_cursors") == 0


def test_the_cli_starts_the_sandbox_for_a_feed_command(duckdb_url, monkeypatch):
    from typer.testing import CliRunner

    from cbi.cli import app

    for name, value in {"CBI_WAREHOUSE": duckdb_url, "CBI_SANDBOX": "true",
                        "CBI_NEWS_QUERIES": '["soybean oil"]'}.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    result = runner.invoke(app, ["ingest", "news"])
    assert result.exit_code == 0, result.output
    assert "SANDBOX: simulated articles" in result.output
    assert "CBI_NEWS_BASE_URL" not in os.environ  # stopped with the command


def test_a_command_starts_only_the_stand_ins_of_the_feed_it_reaches(monkeypatch):
    from cbi.sandbox.session import for_feed

    monkeypatch.setenv("CBI_SANDBOX", "true")
    assert [s.setting for s in needed(get_settings(), feeds=("fred",))] == ["fred_base_url"]
    with for_feed("fred"):
        assert os.environ["CBI_FRED_BASE_URL"].startswith("http://127.0.0.1:")
        assert "CBI_NEWS_BASE_URL" not in os.environ  # another feed's stand-in: not started
        assert get_settings().databento_gateway is None
    assert "CBI_FRED_BASE_URL" not in os.environ
    # a pipeline job or a file import reaches no feed: nothing starts
    with for_feed("features"):
        assert not any(name.startswith("CBI_") and name.endswith(("_URL", "_GATEWAY"))
                       for name in os.environ)
