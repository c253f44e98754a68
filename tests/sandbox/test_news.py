"""The NewsAPI stand-in, through httpx: deterministic articles, plan limits, error bodies."""

from __future__ import annotations

import datetime as dt

import httpx

from cbi.sandbox import news as sandbox

NOW = dt.datetime(2024, 6, 28, 15, tzinfo=dt.timezone.utc)


def test_plan_limits_and_errors():
    s = sandbox.start(now=NOW, articles_per_day=10, fail_429=1)
    try:
        url, key = f"{s.url}/v2/everything", {"X-Api-Key": sandbox.SANDBOX_KEY}
        limited = httpx.get(url, params={"q": "soybean oil"}, headers=key)
        first = httpx.get(url, params={"q": "soybean oil", "pageSize": 100}, headers=key).json()
        again = httpx.get(url, params={"q": "soybean oil", "pageSize": 100}, headers=key).json()
        over = httpx.get(url, params={"q": "soybean oil", "pageSize": 100, "page": 2}, headers=key)
        no_key = httpx.get(url, params={"q": "soybean oil"})
        no_q = httpx.get(url, headers=key)
    finally:
        s.stop()
    assert limited.status_code == 429 and limited.json()["code"] == "rateLimited"
    assert first == again and first["totalResults"] > 100 and len(first["articles"]) == 100
    times = [a["publishedAt"] for a in first["articles"]]
    assert times == sorted(times, reverse=True) and max(times) <= "2024-06-28T15:00:00Z"
    assert over.status_code == 426 and over.json()["code"] == "maximumResultsReached"
    assert no_key.status_code == 401 and no_key.json()["code"] == "apiKeyInvalid"
    assert no_q.status_code == 400 and no_q.json()["status"] == "error"
