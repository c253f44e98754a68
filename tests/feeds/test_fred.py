"""FRED source against the local stand-in, through httpx: vintages, paging, faults, secrecy."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from cbi.config import Settings
from cbi.feeds import fred
from cbi.feeds.fred import FredError, as_of, fred_job
from cbi.sandbox import fred as sandbox
from cbi.warehouse import connect

TODAY = dt.date(2024, 6, 28)
FAST = {"backoff_s": 0.001}


@pytest.fixture
def server():
    s = sandbox.start(seed=7, start=dt.date(2023, 1, 2), today=TODAY)
    yield s
    s.stop()


def settings(server, **kw) -> Settings:
    return Settings(**{"fred_base_url": server.url, "sandbox": True, "fred_series": ["DFF", "VIXCLS"], **kw})


def table_rows(wh):
    return wh.query("SELECT series_id, date, realtime_start, realtime_end, value, source "
                    "FROM market_data.fred_economic_indicators ORDER BY 1, 2, 3").to_pylist()


def test_every_vintage_is_stored_and_dot_is_null(wh, server):
    result = fred_job(wh, settings(server), **FAST)
    served = [v for sid in ("DFF", "VIXCLS") for v in sandbox.vintages(sid, 7, server.start, TODAY)]
    assert result["rows_read"] == result["rows_written"] == len(served) == wh.row_count(fred.TABLE)
    revised = wh.scalar("SELECT COUNT(*) FROM (SELECT series_id, date FROM market_data.fred_economic_indicators "
                        "GROUP BY 1, 2 HAVING COUNT(*) > 1)")
    assert revised > 10
    dots = sum(v.value == "." for v in served)
    assert dots > 0 and wh.scalar("SELECT COUNTIF(value IS NULL) FROM market_data.fred_economic_indicators") == dots
    assert wh.scalar("SELECT COUNTIF(value = 0) FROM market_data.fred_economic_indicators WHERE series_id = 'VIXCLS'") == 0
    assert {r["source"] for r in table_rows(wh)} == {"sandbox"}


def test_revision_never_visible_before_its_realtime_start(wh, server):
    fred_job(wh, settings(server), **FAST)
    revision = wh.query(
        "SELECT date, realtime_start, value FROM market_data.fred_economic_indicators "
        "WHERE series_id = 'VIXCLS' AND realtime_start > DATE_ADD(date, INTERVAL 3 DAY) "
        "ORDER BY date LIMIT 1").to_pylist()[0]
    day_before = revision["realtime_start"] - dt.timedelta(days=1)
    before = {r["date"]: r for r in as_of(wh, "VIXCLS", day_before).to_pylist()}
    after = {r["date"]: r for r in as_of(wh, "VIXCLS", revision["realtime_start"]).to_pylist()}
    assert before[revision["date"]]["realtime_start"] < revision["realtime_start"]
    assert after[revision["date"]]["value"] == revision["value"]
    assert after[revision["date"]]["realtime_start"] == revision["realtime_start"]
    # nothing published after the as-of date shows, and one value per date
    assert max(r["realtime_start"] for r in before.values()) <= day_before
    assert max(before) < day_before


def test_reingest_is_idempotent_and_incremental(wh, server):
    s = settings(server)
    fred_job(wh, s, **FAST)
    first = table_rows(wh)
    n_requests = len(server.requests)
    second = fred_job(wh, s, **FAST)
    assert table_rows(wh) == first
    assert second["series"]["DFF"]["inserted"] == 0
    starts = [r.get("observation_start") for r in server.requests[n_requests:]]
    expected = (TODAY - dt.timedelta(days=1) - dt.timedelta(days=s.fred_revision_lookback_days))
    assert starts and all(st is not None and st <= expected.isoformat() for st in starts)
    marks = wh.query("SELECT cursor_key, watermark FROM ops.feed_cursors WHERE feed = 'fred'").to_pylist()
    assert {m["cursor_key"] for m in marks} == {"DFF", "VIXCLS"}


def test_pages_with_limit_and_offset(wh, server):
    result = fred_job(wh, settings(server, fred_series=["DGS10"]), page_limit=97, **FAST)
    offsets = [int(r["offset"]) for r in server.requests]
    assert offsets == list(range(0, result["rows_read"], 97))
    assert len(offsets) > 3 and wh.row_count(fred.TABLE) == result["rows_read"]


@pytest.mark.parametrize("fault", ["fail_429", "fail_500", "malformed"])
def test_transient_faults_are_retried(wh, fault):
    s = sandbox.start(today=TODAY, start=dt.date(2024, 1, 2), **{fault: 2})
    try:
        result = fred_job(wh, Settings(fred_base_url=s.url, sandbox=True, fred_series=["DFF"]), **FAST)
    finally:
        s.stop()
    assert len(s.requests) == 3 and result["rows_read"] > 100


def test_429_waits_for_retry_after(wh):
    s = sandbox.start(today=TODAY, start=dt.date(2024, 5, 1), fail_429=1, retry_after_s=0.3)
    try:
        import time

        t = time.perf_counter()
        fred_job(wh, Settings(fred_base_url=s.url, sandbox=True, fred_series=["DFF"]), **FAST)
        assert time.perf_counter() - t >= 0.3
    finally:
        s.stop()


def test_persistent_500_fails_with_message_and_moves_no_watermark(wh):
    s = sandbox.start(today=TODAY, fail_500=99)
    try:
        with pytest.raises(FredError, match="Internal Server Error"):
            fred_job(wh, Settings(fred_base_url=s.url, sandbox=True, fred_series=["DFF"]),
                     attempts=3, **FAST)
    finally:
        s.stop()
    assert wh.row_count("ops.feed_cursors") == 0 and wh.row_count(fred.TABLE) == 0


def test_fred_error_message_surfaces_and_key_never_logged(wh, server, monkeypatch, caplog):
    wrong_key = "fedcba9876543210fedcba9876543210"
    monkeypatch.setenv("FRED_API_KEY", wrong_key)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(FredError) as err:
        fred_job(wh, Settings(fred_base_url=server.url, sandbox=False, fred_series=["DFF"]), **FAST)
    assert "api_key is not registered" in str(err.value)
    assert wrong_key not in str(err.value)
    assert server.requests and server.requests[0]["api_key"] == wrong_key  # it did travel in the URL
    assert wrong_key not in caplog.text


def test_live_key_with_retries_never_reaches_logs(wh, monkeypatch, caplog):
    s = sandbox.start(today=TODAY, start=dt.date(2024, 3, 1), fail_429=1, fail_500=1)
    monkeypatch.setenv("FRED_API_KEY", sandbox.SANDBOX_KEY)
    caplog.set_level(logging.DEBUG)
    try:
        result = fred_job(wh, Settings(fred_base_url=s.url, sandbox=False, fred_series=["DFF"]), **FAST)
    finally:
        s.stop()
    assert result["source"] == "fred" and result["rows_read"] > 50
    assert {r["source"] for r in table_rows(wh)} == {"fred"}  # provenance: the live service
    assert "HTTP Request" in caplog.text or "retrying" in caplog.text  # something was logged
    assert sandbox.SANDBOX_KEY not in caplog.text


def test_no_key_and_sandbox_off_is_refused(wh):
    with pytest.raises(FredError, match="FRED_API_KEY is not set"):
        fred_job(wh, Settings(sandbox=False), **FAST)


@pytest.mark.parametrize("value", ["abc", "1,5"])
def test_bad_value_names_series_row_and_field(value):
    obs = [{"date": "2024-01-02", "realtime_start": "2024-01-03", "realtime_end": "9999-12-31", "value": "1.0"},
           {"date": "2024-01-03", "realtime_start": "2024-01-04", "realtime_end": "9999-12-31", "value": value}]
    with pytest.raises(ValueError, match=r"DFF observation 1, field value: .* is not a number"):
        fred.normalize("DFF", obs, "fred")


@pytest.mark.bigquery
def test_as_of_gives_same_rows_on_bigquery(bigquery_warehouse, server):
    """Conformance: the as-of SQL on the emulator equals DuckDB's."""
    duck = connect("duckdb:///:memory:")
    duck.init()
    results = []
    for w in (bigquery_warehouse, duck):
        fred_job(w, settings(server, fred_series=["VIXCLS"]), **FAST)
        results.append(as_of(w, "VIXCLS", dt.date(2024, 3, 15)).to_pylist())
    duck.close()
    assert results[0] == results[1] and len(results[0]) > 250


@pytest.mark.parametrize("sandbox_setting", [None, False])
def test_a_missing_key_never_switches_to_simulated_data(wh, sandbox_setting):
    """Unset is not a request for the sandbox: the missing key is an error naming it."""
    with pytest.raises(FredError, match="FRED_API_KEY is not set"):
        fred_job(wh, Settings(sandbox=sandbox_setting), **FAST)
    assert wh.row_count(fred.TABLE) == 0
