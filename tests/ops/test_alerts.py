"""Alerts: de-duplicated while open, resolved when the problem goes, webhook once;
staleness follows the CME calendar (no alert on a Saturday)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pyarrow as pa
import pytest

from cbi.config import Settings
from cbi.ops import alerts
from cbi.calendar import CHICAGO
from tests.ops.jobs_for_tests import bars

BARS = "market_data.databento_futures_ohlcv_1m"


@pytest.fixture
def duck(wh):
    return wh


@pytest.fixture
def webhook():
    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *a):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()


def test_same_open_alert_is_not_repeated(duck, webhook):
    warehouse = duck
    url, received = webhook
    settings = Settings(alert_webhook_url=url)
    assert alerts.raise_alert(warehouse, settings, "job_failed", "fred", "boom 1")
    assert not alerts.raise_alert(warehouse, settings, "job_failed", "fred", "boom 2")
    open_ = alerts.open_alerts(warehouse)
    assert len(open_) == 1 and open_[0]["message"] == "boom 2"
    assert len(received) == 1 and "fred" in received[0]["text"]
    assert alerts.resolve_alert(warehouse, "job_failed", "fred")
    assert alerts.open_alerts(warehouse) == []
    assert alerts.raise_alert(warehouse, settings, "job_failed", "fred", "boom 3")  # new incident
    assert warehouse.row_count("ops.alerts") == 2 and len(received) == 2


def _bar_at(wh, when: dt.datetime) -> None:
    batch = bars(0, 1)
    ts = pa.array([when.astimezone(dt.timezone.utc)], pa.timestamp("us", tz="UTC"))
    wh.merge(BARS, batch.set_column(0, "ts_event", ts))


def test_no_stale_alert_on_a_saturday(duck):
    settings = Settings(roots=["ZL"], stale_after_minutes=30)
    _bar_at(duck, dt.datetime(2024, 3, 8, 13, 19, tzinfo=CHICAGO))  # Friday's last minute
    saturday = dt.datetime(2024, 3, 9, 12, 0, tzinfo=CHICAGO)
    report = alerts.check_staleness(duck, settings, saturday)
    assert not report[0].stale and report[0].note == "market closed"
    assert alerts.open_alerts(duck) == []


def test_stale_while_open_then_resolved_when_bars_return(duck):
    settings = Settings(roots=["ZL"], stale_after_minutes=30)
    _bar_at(duck, dt.datetime(2024, 3, 8, 13, 19, tzinfo=CHICAGO))
    monday = dt.datetime(2024, 3, 11, 10, 0, tzinfo=CHICAGO)
    assert alerts.check_staleness(duck, settings, monday)[0].stale
    alerts.check_staleness(duck, settings, monday + dt.timedelta(minutes=5))
    assert len(alerts.open_alerts(duck)) == 1  # not repeated
    _bar_at(duck, monday + dt.timedelta(minutes=9))
    assert not alerts.check_staleness(duck, settings, monday + dt.timedelta(minutes=10))[0].stale
    assert alerts.open_alerts(duck) == []


def test_sunday_evening_open_is_not_stale_within_the_limit(duck):
    settings = Settings(roots=["ZL"], stale_after_minutes=30)
    _bar_at(duck, dt.datetime(2024, 3, 8, 13, 19, tzinfo=CHICAGO))
    just_opened = dt.datetime(2024, 3, 10, 19, 20, tzinfo=CHICAGO)
    assert not alerts.check_staleness(duck, settings, just_opened)[0].stale


def test_secret_in_an_alert_never_reaches_the_log_or_webhook(duck, webhook, caplog, monkeypatch):
    from cbi.secrets import get_secret, install_log_redaction

    url, received = webhook
    monkeypatch.setenv("FRED_API_KEY", "abcd1234secretvalue")
    get_secret("FRED_API_KEY")
    caplog.set_level(logging.INFO)
    install_log_redaction()
    caplog.handler.addFilter(__import__("cbi.secrets").secrets.RedactingFilter())
    alerts.raise_alert(duck, Settings(alert_webhook_url=url), "job_failed", "fred",
                       "GET /fred/series?api_key=abcd1234secretvalue failed")
    assert "abcd1234secretvalue" not in caplog.text and "api_key=***" in caplog.text
    assert "abcd1234secretvalue" not in json.dumps(received)
    assert "abcd1234secretvalue" not in json.dumps(alerts.open_alerts(duck), default=str)
