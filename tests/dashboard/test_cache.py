"""HTTP caching: Cache-Control, ETag and 304s, and the in-process TTL cache, with the app
running on the owning process's own Warehouse (as inside `cbi serve`)."""

from __future__ import annotations

import asyncio
import json
import datetime as dt

import pytest
from fastapi.testclient import TestClient

from cbi.config import Settings
from cbi.dashboard.app import create_app
from cbi.dashboard.cache import ResponseCache, etag_matches
from tests.dashboard.conftest import NOW, PRED, TODAY, served

DATA_ROUTES = ["/api/forecast/1m", "/api/live-data?root=ZL", "/api/history?root=ZL&days=30",
               "/api/metrics", "/api/status", "/api/headline", "/api/track-record/1m"]


@pytest.mark.parametrize("path", DATA_ROUTES)
def test_data_routes_carry_cache_control_and_etag(client, path):
    first = client.get(path)
    assert first.status_code == 200
    assert first.headers["cache-control"] == "public, s-maxage=300"
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    weak = client.get(path, headers={"If-None-Match": f'"other", W/{etag}'})
    assert weak.status_code == 304
    assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200


def test_cache_seconds_setting_sets_s_maxage(settings):
    with TestClient(create_app(settings.model_copy(update={"cache_seconds": 60}),
                               clock=lambda: NOW)) as c:
        assert c.get("/api/metrics").headers["cache-control"] == "public, s-maxage=60"


def test_repeated_requests_are_answered_from_the_cache_until_it_expires(filled_url):
    from cbi.warehouse import connect

    owner = connect(filled_url)  # the owning process's read-write Warehouse
    app = create_app(Settings(warehouse=filled_url), warehouse=owner, clock=lambda: NOW)
    with TestClient(app) as c:
        first = c.get("/api/forecast/1m")
        owner.merge(PRED.format(h="1m"), served("1m", TODAY, NOW))
        for _ in range(5):
            assert c.get("/api/forecast/1m").content == first.content
        assert app.state.cache.misses == 1
        app.state.cache.clear()  # what the TTL's expiry does
        fresh = c.get("/api/forecast/1m")
    assert fresh.json()["rows"][0]["date"] == TODAY.isoformat()
    assert fresh.headers["etag"] != first.headers["etag"]
    assert owner.scalar("SELECT 1") == 1  # the app's shutdown left the owner's Warehouse open
    owner.close()


def test_ttl_expiry_and_no_stampede():
    now = [1000.0]
    cache = ResponseCache(ttl_seconds=300, clock=lambda: now[0])
    calls = []

    async def produce():
        calls.append(1)
        await asyncio.sleep(0.01)
        return {"n": len(calls)}

    async def many():
        return await asyncio.gather(*(cache.get("k", produce) for _ in range(20)))

    entries = asyncio.run(many())
    assert len(calls) == 1 and len({e.etag for e in entries}) == 1
    now[0] += 299
    asyncio.run(cache.get("k", produce))
    assert len(calls) == 1
    now[0] += 2
    asyncio.run(cache.get("k", produce))
    assert len(calls) == 2


def test_cache_is_bounded():
    cache = ResponseCache(ttl_seconds=300, max_entries=8)

    async def fill():
        for i in range(50):
            await cache.get(("live", i), lambda: asyncio.sleep(0, {"i": i}))

    asyncio.run(fill())
    assert len(cache._entries) <= 8 and len(cache._locks) <= 9


def test_zero_ttl_queries_every_time(settings):
    app = create_app(settings.model_copy(update={"cache_seconds": 0}), clock=lambda: NOW)
    with TestClient(app) as c:
        for _ in range(3):
            r = c.get("/api/forecast/1m")
        assert r.headers["cache-control"] == "no-cache" and app.state.cache.misses == 3


def test_etag_matching():
    assert etag_matches("*", '"a"') and etag_matches('"b", "a"', '"a"') and etag_matches('W/"a"', '"a"')
    assert not etag_matches(None, '"a"') and not etag_matches('"ab"', '"a"')


def test_timestamps_and_nan_encode_as_json():
    from cbi.dashboard.cache import encode

    t = dt.datetime(2025, 1, 2, 3, 4, tzinfo=dt.timezone(dt.timedelta(hours=-6)))
    assert encode({"t": t, "d": dt.date(2025, 1, 2), "x": float("nan")}) == \
        b'{"t":"2025-01-02T09:04:00Z","d":"2025-01-02","x":null}'


def test_fast_encoding_equals_the_plain_walk():
    from cbi.dashboard.cache import _plain, encode

    payload = {"rows": [{"d": dt.date(2025, 1, 2), "t": dt.datetime(2025, 1, 2, 3, 4),
                         "x": 1.5, "s": "a\u00e9", "n": None, "b": True}], "k": (1, 2)}
    plain = json.dumps(_plain(payload), separators=(",", ":"), allow_nan=False).encode()
    assert encode(payload) == plain
    with pytest.raises(TypeError):
        encode({"x": object()})


def test_large_bodies_go_out_gzipped_once_with_their_own_etag(client):
    import gzip

    plain = client.get("/api/track-record/1m", headers={"Accept-Encoding": "identity"})
    zipped = client.get("/api/track-record/1m", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers and zipped.headers["content-encoding"] == "gzip"
    assert zipped.json() == plain.json() and zipped.headers["vary"] == "Accept-Encoding"
    assert zipped.headers["etag"] == plain.headers["etag"][:-1] + '-gz"'
    for etag in (plain.headers["etag"], zipped.headers["etag"]):
        assert client.get("/api/track-record/1m", headers={"If-None-Match": etag}).status_code == 304
    entry = client.app.state.cache._fresh(("track", "1m"))
    assert gzip.decompress(entry.gzipped) == entry.body and len(entry.gzipped) < len(entry.body) / 3
    small = client.get("/health", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers
