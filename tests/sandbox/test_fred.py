"""The FRED stand-in, through httpx: deterministic vintages, clipping, paging, errors."""

from __future__ import annotations

import datetime as dt

import httpx

from cbi.sandbox import fred as sandbox

TODAY = dt.date(2024, 6, 28)


def get(server, **params):
    base = {"series_id": "DGS10", "api_key": sandbox.SANDBOX_KEY, "file_type": "json"}
    return httpx.get(f"{server.url}/fred/series/observations", params={**base, **params})


def test_deterministic_with_revisions_and_no_future_vintages():
    a = sandbox.vintages("DGS10", 7, sandbox.START, TODAY)
    assert a == sandbox.vintages("DGS10", 7, sandbox.START, TODAY)
    assert a != sandbox.vintages("DGS10", 8, sandbox.START, TODAY)
    later = sandbox.vintages("DGS10", 7, sandbox.START, TODAY + dt.timedelta(days=60))
    assert {v.date for v in a} < {v.date for v in later}  # same history, more of it
    assert all(v.realtime_start <= TODAY for v in a)
    revised = [v for v in a if v.realtime_end != sandbox.OPEN_END]
    assert len(revised) > 20 and any(v.value == "." for v in a)


def test_default_realtime_is_today_and_full_range_gives_every_vintage():
    s = sandbox.start(today=TODAY)
    try:
        today_only = get(s).json()
        every = get(s, realtime_start="1776-07-04", realtime_end="9999-12-31").json()
        page = get(s, realtime_start="1776-07-04", realtime_end="9999-12-31", limit=10, offset=5).json()
        bad = get(s, api_key="nope")
    finally:
        s.stop()
    assert {o["realtime_start"] for o in today_only["observations"]} == {TODAY.isoformat()}
    assert every["count"] > today_only["count"]
    assert page["observations"] == every["observations"][5:15] and page["count"] == every["count"]
    assert bad.status_code == 400 and "api_key is not registered" in bad.json()["error_message"]
