"""Every API route over a filled DuckDB file opened read-only, through httpx (TestClient)."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from cbi.config import Settings
from cbi.dashboard.app import create_app, is_simulated
from tests.dashboard.conftest import NOW, OLD, RECENT, TODAY

FIELDS = ["date", "target_date", "predicted_value", "confidence_interval_lower",
          "confidence_interval_upper", "interval_level", "model_version"]


def test_forecast_serves_the_current_models_rows_of_the_last_30_days(client):
    body = client.get("/api/forecast/1m").json()
    rows = body["rows"]
    assert body["horizon"] == "1m" and body["simulated"] is True
    assert [r["date"] for r in rows] == [d.isoformat() for d in reversed(RECENT)]  # newest first
    assert all(list(r) == FIELDS for r in rows)
    retrained = {d.isoformat() for d in RECENT[-5:]}
    assert {r["date"] for r in rows if r["model_version"] == "v2"} == retrained
    assert not {d.isoformat() for d in OLD} & {r["date"] for r in rows}  # 31 and 45 days old


def test_forecast_all_versions_serves_each_versions_rows(client):
    rows = client.get("/api/forecast/1m?versions=all").json()["rows"]
    assert len(rows) == 30 and sum(r["model_version"] == "v2" for r in rows) == 5
    assert client.get("/api/forecast/1m?versions=some").status_code == 422


def test_forecast_at_most_100_rows(filled_url, tmp_path):
    from cbi.warehouse import connect
    from tests.dashboard.conftest import PRED, predictions

    wh = connect(filled_url)
    days = [TODAY - dt.timedelta(days=d) for d in range(30)]
    for v in ("v3", "v4", "v5", "v6"):
        wh.merge(PRED.format(h="1m"), predictions("1m", days, v, NOW))
    with TestClient(create_app(Settings(warehouse=filled_url), warehouse=wh, clock=lambda: NOW)) as c:
        rows = c.get("/api/forecast/1m?versions=all").json()["rows"]
    wh.close()
    assert len(rows) == 100 and rows[0]["date"] == TODAY.isoformat()


def test_empty_horizon_serves_no_rows(client):
    assert client.get("/api/forecast/12m").json()["rows"] == []


@pytest.mark.parametrize("path", ["/api/forecast/1y", "/api/forecast/1M", "/api/forecast/5",
                                  "/api/forecast/", "/api/nothing"])
def test_unknown_routes_and_horizons_are_404_json(client, path):
    r = client.get(path)
    assert r.status_code == 404 and r.headers["content-type"] == "application/json"
    assert r.json()["error"]


def test_live_data_is_the_last_5_minutes_of_outrights(client):
    bars = client.get("/api/live-data?root=ZL").json()["bars"]
    assert list(bars[0]) == ["ts_event", "symbol", "close", "volume"]
    assert {b["symbol"] for b in bars} == {"ZLN5", "ZLQ5"}  # the spread ZLN5-ZLQ5 is left out
    assert sorted({b["ts_event"] for b in bars}) == [
        f"2025-06-10T14:{m}:00Z" for m in (55, 56, 57, 58, 59)]


def test_live_data_since_returns_only_newer_bars(client):
    for since in ("2025-06-10T14:57:00Z", "2025-06-10T14:57:00", "2025-06-10T09:57:00-05:00"):
        bars = client.get("/api/live-data", params={"root": "ZL", "since": since}).json()["bars"]
        assert sorted({b["ts_event"][11:16] for b in bars}) == ["14:58", "14:59"], since
    assert client.get("/api/live-data?root=ZL&since=2025-06-10T14:59:00Z").json()["bars"] == []
    assert client.get("/api/live-data?root=ZL&since=yesterday").status_code == 422


@pytest.mark.parametrize("root", ["XX", "zl", "ZL'--", "", "ZL OR 1=1"])
def test_roots_outside_the_allowlist_are_refused(client, root):
    for path in ("/api/live-data", "/api/history"):
        r = client.get(path, params={"root": root})
        assert r.status_code == 400 and "unknown root" in r.json()["error"], (path, root)


def test_history_days_and_since(client):
    rows = client.get("/api/history?root=ZL&days=10").json()["rows"]
    assert len(rows) == 10 and rows[-1]["date"] == (TODAY - dt.timedelta(days=1)).isoformat()
    assert [r["date"] for r in rows] == sorted(r["date"] for r in rows)
    assert {"date", "close", "index_close"} <= set(rows[0])
    newer = client.get("/api/history", params={"root": "ZL", "days": 10, "since": rows[-3]["date"]})
    assert newer.json()["rows"] == rows[-2:]
    assert len(client.get("/api/history?root=ES&days=365").json()["rows"]) == 10
    for bad in ("0", "-1", "ten", "1;DROP TABLE x"):
        assert client.get(f"/api/history?root=ZL&days={bad}").status_code == 422


def test_metrics_from_backtests_with_naive_baseline(client):
    body = client.get("/api/metrics").json()
    assert body["source"] == "backtest"  # the registry in settings.models_dir is empty
    current = [r for r in body["rows"] if r["is_current"]]
    assert [(r["model"], r["model_version"]) for r in current] == [("lgbm", "v2")]
    row, naive = body["rows"][2], body["rows"][3]
    # The fixture's backtest: |actual - origin| = 1, |pred - origin| = 0.5, signs vary by i.
    errors = [abs((1.0 if i % 2 else -1.0) - (0.5 if i % 3 else -0.5)) for i in range(60)]
    assert row["mae"] == pytest.approx(sum(errors) / 60)
    assert naive["mae"] == pytest.approx(1.0) and naive["model"] == "naive"
    assert row["mase"] == pytest.approx(row["mae"] / naive["mae"])
    hits = [abs((1.0 if i % 2 else -1.0) - (0.5 if i % 3 else -0.5)) <= 1.2 for i in range(60)]
    assert row["coverage"] == pytest.approx(sum(hits) / 60)
    assert row["interval_width"] == pytest.approx(2.4)


def test_metrics_prefer_the_model_registry(client, monkeypatch):
    import cbi.models.registry as registry

    rows = [{"horizon": "1m", "model": "lgbm", "mase": 0.8, "is_current": True}]
    monkeypatch.setattr(registry, "metrics_table", lambda settings, surface="prod": rows)
    client.app.state.cache.clear()
    body = client.get("/api/metrics").json()
    assert body == {"simulated": True, "source": "registry", "rows": rows}


def test_status_reports_feeds_runs_and_mode(client):
    body = client.get("/api/status").json()
    assert body["mode"] == "sandbox" and body["simulated"] is True
    feeds = {(f["feed"], f["cursor_key"]): f for f in body["feeds"]}
    assert feeds[("databento", "ZL")]["age_minutes"] == 2.0 and feeds[("databento", "ZL")]["stale"] is False
    assert feeds[("databento", "CL")]["stale"] is True  # 5 h without a bar
    runs = {r["job"]: r for r in body["runs"]}
    assert runs["databento"]["run_id"] == "r1"  # the latest of two
    assert runs["fred"]["status"] == "failed"
    assert "abcdef123" not in runs["fred"]["error"] and "api_key=***" in runs["fred"]["error"]


def test_is_simulated(monkeypatch):
    assert is_simulated(Settings(sandbox=True)) and not is_simulated(Settings(sandbox=False))
    assert is_simulated(Settings())  # no key
    monkeypatch.setenv("DATABENTO_API_KEY", "db-test0000000000")
    assert not is_simulated(Settings())


def test_live_mode_has_no_banner_flag(settings, monkeypatch):
    monkeypatch.setenv("DATABENTO_API_KEY", "db-test0000000000")
    with TestClient(create_app(settings, clock=lambda: NOW)) as c:
        body = c.get("/api/status").json()
    assert body["mode"] == "live" and body["simulated"] is False


def test_health_and_docs(client):
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/forecast/{horizon}", "/api/live-data", "/api/history", "/api/metrics",
            "/api/status", "/health"} <= set(paths)


def test_page_and_plotly_are_served_locally(client):
    page = client.get("/")
    assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
    assert "/static/plotly.min.js" in page.text and "http" not in page.text.replace('href="/docs"', "")
    js = client.get("/static/plotly.min.js")
    assert js.status_code == 200 and js.headers["content-encoding"] == "gzip" and b"plotly" in js.content[:2000]
    assert client.get("/static/plotly.min.js", headers={"If-None-Match": js.headers["etag"]}).status_code == 304
    assert client.get("/static/app.js").status_code == 200


def test_the_app_opens_the_warehouse_read_only(client):
    assert client.app.state.warehouse.read_only is True


def test_full_surface_and_bad_surface(filled_url):
    from cbi.warehouse import connect
    from tests.dashboard.conftest import predictions

    with connect(filled_url) as wh:
        wh.merge("predictions.zl_predictions_full_allhistory_1m",
                 predictions("1m", RECENT[-2:], "f1", NOW))
    with TestClient(create_app(Settings(warehouse=filled_url, dashboard_surface="full"),
                               clock=lambda: NOW)) as c:
        assert [r["model_version"] for r in c.get("/api/forecast/1m").json()["rows"]] == ["f1", "f1"]
    with pytest.raises(ValueError, match="dashboard_surface 'x_1m'"):
        create_app(Settings(warehouse=filled_url, dashboard_surface="x_1m"))


def test_cbi_dashboard_command_is_registered():
    from typer.testing import CliRunner

    from cbi.cli import app

    result = CliRunner().invoke(app, ["dashboard", "--help"])
    assert result.exit_code == 0 and "--port" in result.output and "--host" in result.output
