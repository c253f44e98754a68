"""Injection and traversal attempts get a 4xx and change nothing in the warehouse."""

from __future__ import annotations

import socket

import pytest

from cbi.warehouse import connect

ATTEMPTS = [
    "/api/forecast/1m;%20DROP%20TABLE%20predictions.zl_predictions_prod_allhistory_1m",
    "/api/forecast/1m%27%20OR%20%271%27=%271",
    "/api/forecast/1m%20UNION%20SELECT%20*%20FROM%20ops.pipeline_runs",
    "/api/forecast/..%2F..%2F..%2Fetc%2Fpasswd",
    "/api/forecast/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/api/live-data?root=ZL%27;%20DROP%20TABLE%20market_data.databento_futures_ohlcv_1m;--",
    "/api/live-data?root=ZL&since=2025-01-01%27;DELETE%20FROM%20ops.feed_cursors;--",
    "/api/history?root=ZL&days=30;DROP%20TABLE%20market_data.futures_continuous_1d",
    "/api/history?root=ZL&since=1;DROP%20TABLE%20x",
    "/api/forecast/1m?forecaster=all;DROP%20TABLE%20x",
    "/api/track-record/1m;DROP%20TABLE%20x",
    "/api/live/panel?root=ZL%27;DROP%20TABLE%20x",
    "/api/live?root=ZL%27;DROP%20TABLE%20x",
    "/static/swagger/../../app.py",
    "/static/swagger/%2e%2e%2f%2e%2e%2fapp.py",
    "/static/../../../../etc/passwd",
    "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/static/..%2f..%2f..%2fapp.py",
    "/static/%2e%2e%2fapp.py",
]
TABLES = ["predictions.zl_predictions_prod_allhistory_1m", "market_data.databento_futures_ohlcv_1m",
          "market_data.futures_continuous_1d", "ops.feed_cursors", "ops.pipeline_runs"]


def snapshot(url: str) -> dict[str, list]:
    with connect(url, read_only=True) as wh:
        return {t: wh.query(f"SELECT * FROM {t} ORDER BY 1, 2").to_pylist() for t in TABLES}


def test_attempts_are_refused_and_change_nothing(filled_url, settings):
    from fastapi.testclient import TestClient

    from cbi.dashboard.app import create_app
    from tests.dashboard.conftest import NOW

    before = snapshot(filled_url)
    with TestClient(create_app(settings, clock=lambda: NOW)) as c:
        for path in ATTEMPTS:
            r = c.get(path)
            assert 400 <= r.status_code < 500, (path, r.status_code)
            assert b"root:x:0" not in r.content and b"create_app" not in r.content, path
    assert snapshot(filled_url) == before


@pytest.mark.parametrize("target", ["/static/../../../../etc/passwd", "/static/..%2f..%2fapp.py",
                                    "/api/forecast/../../etc/passwd", "/api/forecast/1m;DROP%20TABLE%20x"])
def test_raw_traversal_targets_over_a_socket(server, target):
    # httpx normalises `..` away; a raw request line reaches uvicorn as written.
    host, port = str(server).removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        reply = b"".join(iter(lambda: s.recv(65536), b""))
    status = int(reply.split(b" ", 2)[1])
    assert 400 <= status < 500 and b"root:x:0" not in reply and b"create_app" not in reply, reply[:200]
