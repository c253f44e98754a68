"""NewsAPI source against the local stand-in: budget, 426/429/401/500, dedupe, the daily view."""

from __future__ import annotations

import datetime as dt
import logging

import pyarrow as pa
import pytest

from cbi.config import Settings
from cbi.feeds import news
from cbi.feeds.news import NewsError, news_job
from cbi.sandbox import news as sandbox

UTC = dt.timezone.utc
NOW = dt.datetime(2024, 6, 28, 15, 0, tzinfo=UTC)
FAST = {"backoff_s": 0.001}


def run(wh, faults=None, settings=None, per_day=6, **options):
    s = sandbox.start(now=NOW, articles_per_day=per_day, **(faults or {}))
    try:
        cfg = Settings(**{"news_base_url": s.url, "sandbox": True, **(settings or {})})
        return news_job(wh, cfg, now=NOW, **{**FAST, **options}), s
    finally:
        s.stop()


def test_articles_stored_deduped_and_scored(wh):
    result, server = run(wh)
    stored = wh.row_count(news.TABLE)
    assert result["rows_read"] > stored > 100  # the stand-in serves some URLs twice
    assert wh.scalar("SELECT COUNT(DISTINCT url) FROM market_data.news_articles") == stored
    row = wh.query("SELECT * FROM market_data.news_articles WHERE title LIKE '%plunge%' LIMIT 1").to_pylist()[0]
    assert row["sentiment_score"] < 0 and row["sentiment_model"] == news.sentiment.MODEL
    assert row["publisher"] == "Sandbox Wire (simulated)" and len(row["content"]) <= 216
    assert row["source"] == "sandbox"  # provenance, written at ingest
    assert all(int(r["pageSize"]) == 100 for r in server.requests)
    assert wh.row_count("ops.api_requests") == result["requests"] == len(server.requests)


def test_rerun_is_idempotent_and_starts_from_watermark(wh):
    run(wh)
    before = wh.query("SELECT url, published_at, title FROM market_data.news_articles ORDER BY url").to_pylist()
    again, server = run(wh)
    assert again["rows_written"] == 0 and len(server.requests) == 0
    assert wh.query("SELECT url, published_at, title FROM market_data.news_articles ORDER BY url").to_pylist() == before
    mark = wh.scalar("SELECT watermark FROM ops.feed_cursors WHERE feed = 'news'")
    assert mark == NOW


def test_daily_budget_is_respected_across_runs(warehouse):
    """On both engines (18.4): the job's writes (articles, requests, watermark) and the budget
    read back across runs; three requests keep it short on the emulator. The other cases
    drive many windows and faults through the same writes and stay on DuckDB (`wh`)."""
    wh = warehouse
    first, _ = run(wh, settings={"news_daily_request_budget": 3})
    assert first["budget_exhausted"] and first["requests"] == 3
    mark = wh.scalar("SELECT watermark FROM ops.feed_cursors WHERE feed = 'news'")
    assert mark == NOW - news.REACH + dt.timedelta(days=3)
    second, server = run(wh, settings={"news_daily_request_budget": 3})
    assert second["budget_exhausted"] and len(server.requests) == 0
    assert wh.scalar("SELECT COUNT(*) FROM ops.api_requests WHERE feed = 'news'") == 3


def test_426_maximum_results_stops_the_window_cleanly(wh):
    result, server = run(wh, per_day=150, window_hours=24 * 30)
    assert result["truncated_windows"] == 1
    assert [int(r["page"]) for r in server.requests] == [1, 2]
    assert wh.row_count(news.TABLE) <= 100 and result["rows_read"] == 100


@pytest.mark.parametrize("fault", ["fail_429", "fail_500", "malformed"])
def test_transient_faults_retried_and_counted(wh, fault):
    result, server = run(wh, faults={fault: 1}, per_day=2, window_hours=24 * 30)
    assert len(server.requests) == 2 and 30 < result["rows_read"] < 100
    statuses = wh.query("SELECT status_code FROM ops.api_requests ORDER BY requested_at").column(0).to_pylist()
    assert len(statuses) == 2 and statuses[-1] == 200


def test_invalid_key_surfaces_code_and_message_never_the_key(wh, monkeypatch, caplog):
    key = "abcdefabcdefabcdefabcdefabcdef12"
    monkeypatch.setenv("NEWSAPI_KEY", key)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(NewsError, match="apiKeyInvalid: Your API key is invalid") as err:
        run(wh, settings={"sandbox": False})
    assert err.value.code == "apiKeyInvalid" and err.value.status == 401
    assert key not in str(err.value) and key not in caplog.text
    assert wh.row_count("ops.feed_cursors") == 0


def test_persistent_500_gives_up_with_message(wh):
    with pytest.raises(NewsError, match="unexpectedError"):
        run(wh, faults={"fail_500": 99}, attempts=2)


def articles_at(times: list[str], scores: list[float]) -> pa.Table:
    """Rows as the ingest writes them (`news.normalize` dates each by the CME calendar)."""
    rows = news.normalize("soybean oil", [
        {"url": f"https://x.invalid/{i}", "publishedAt": t, "title": f"headline {i}"}
        for i, t in enumerate(times)])
    return rows.set_column(rows.column_names.index("sentiment_score"), "sentiment_score",
                           pa.array(scores, pa.float64()))


def test_news_sentiment_view_by_trading_date(warehouse):
    """Both engines: after the 13:20 Chicago close counts for the next date; weekends for Monday."""
    warehouse.merge(news.TABLE, articles_at([
        "2024-03-07T17:00:00+00:00",  # Thu 11:00 CST: Thursday
        "2024-03-07T20:00:00+00:00",  # Thu 14:00 CST: after the close -> Friday
        "2024-03-08T12:00:00+00:00",  # Fri 06:00: Friday
        "2024-03-08T21:00:00+00:00",  # Fri 15:00: after the close -> Saturday -> Monday
        "2024-03-09T15:00:00+00:00",  # Saturday -> Monday
        "2024-03-11T03:00:00+00:00",  # Sun 22:00 CDT (DST began) -> Monday
        "2024-05-27T15:00:00+00:00",  # Memorial Day (CME closed) 10:00 CDT -> Tuesday 05-28
        "2024-11-28T15:00:00+00:00",  # Thanksgiving -> Friday 11-29
    ], [0.5, -0.25, 0.75, -1.0, 0.5, 0.0, 0.1, 0.2]))
    rows = warehouse.query("SELECT * FROM market_data.news_sentiment ORDER BY date").to_pylist()
    assert [r["date"] for r in rows] == [dt.date(2024, 3, 7), dt.date(2024, 3, 8), dt.date(2024, 3, 11),
                                         dt.date(2024, 5, 28), dt.date(2024, 11, 29)]
    assert [r["article_count"] for r in rows] == [1, 2, 3, 1, 1]
    assert rows[1]["sentiment_mean"] == pytest.approx(0.25)
    assert (rows[2]["sentiment_min"], rows[2]["sentiment_max"]) == (-1.0, 0.5)
    assert rows[2]["sentiment_mean"] == pytest.approx(-0.5 / 3)


def test_a_missing_key_never_switches_to_simulated_articles(wh):
    with pytest.raises(NewsError, match="NEWSAPI_KEY is not set"):
        news_job(wh, Settings(), now=NOW, **FAST)
    assert wh.row_count(news.TABLE) == 0
