"""The live stream: server-sent events over a real socket, one shared poller per root, a new
bar sent within a poll, nothing polled once the last viewer leaves."""

from __future__ import annotations

import datetime as dt
import json
import time

import httpx
import pyarrow as pa

from cbi.config import Settings
from tests.dashboard.conftest import BARS, NOW, serve


def events(lines, count: int) -> list[dict]:
    """The next `count` `panel` events from a stream's line iterator, as (id, data) dicts.
    (Keep one iterator per stream: a dropped `iter_lines` generator closes the response.)"""
    out, current = [], {}
    for line in lines:
        if line.startswith("id:"):
            current["id"] = line[3:].strip()
        elif line.startswith("data:"):
            current["data"] = json.loads(line[5:].strip())
        elif line == "" and "data" in current:
            out.append(current)
            current = {}
            if len(out) == count:
                return out
    return out


def test_stream_sends_the_panel_then_each_new_bar(filled_url):
    from cbi.warehouse import connect

    owner = connect(filled_url)
    app, srv, thread = serve(Settings(warehouse=filled_url, live_poll_seconds=0.2), owner)
    hub = app.app.state.live
    try:
        with httpx.Client(timeout=10) as client, \
                client.stream("GET", f"{app.base}/api/live?root=ZL") as one, \
                client.stream("GET", f"{app.base}/api/live?root=ZL") as two:
            assert one.headers["content-type"].startswith("text/event-stream")
            assert one.headers["x-content-type-options"] == "nosniff"
            assert one.headers["cache-control"] == "no-store"
            lines_one, lines_two = one.iter_lines(), two.iter_lines()
            first = events(lines_one, 1)[0]
            assert events(lines_two, 1)[0]["data"] == first["data"]
            assert first["data"]["last"]["ts_event"] == "2025-06-10T14:59:00Z"
            assert hub.topics["ZL"].subscribers == 2  # one poller serves both
            polls = hub.polls
            time.sleep(0.7)
            assert 2 <= hub.polls - polls <= 6  # every 0.2 s, whatever the number of viewers
            owner.merge(BARS, pa.Table.from_pylist([{
                "ts_event": NOW, "root": "ZL", "symbol": "ZLQ5", "close": 46.31, "volume": 900,
                "source": "sandbox", "ingest_timestamp": NOW}]))
            start = time.monotonic()
            second = events(lines_one, 1)[0]
            assert time.monotonic() - start < 2
            assert second["data"]["last"] == {"symbol": "ZLQ5", "close": 46.31,
                                              "ts_event": "2025-06-10T15:00:00Z"}
            assert int(second["id"]) > int(first["id"])
        deadline = time.monotonic() + 5
        while hub.topics["ZL"].subscribers and time.monotonic() < deadline:
            time.sleep(0.05)
        assert hub.topics["ZL"].subscribers == 0 and hub.topics["ZL"].task is None
    finally:
        srv.should_exit = True
        thread.join(5)
        owner.close()


def test_live_data_keeps_its_cached_contract(client):
    r = client.get("/api/live-data?root=ZL")
    assert r.headers["cache-control"] == "public, s-maxage=300"
    assert client.get("/api/live/panel?root=ZL").headers["cache-control"] == "no-store"
    assert dt.datetime.fromisoformat(r.json()["bars"][-1]["ts_event"].replace("Z", "+00:00")) == \
        NOW - dt.timedelta(minutes=1)
