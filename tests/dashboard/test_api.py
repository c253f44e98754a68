"""Every API route over a filled DuckDB file opened read-only, through httpx (TestClient)."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from cbi.config import Settings
from cbi.dashboard import schemas
from cbi.dashboard.app import create_app
from tests.dashboard.conftest import HORIZONS, NOW, OLD, ORIGIN, RECENT, SERVED_BY, TODAY

FIELDS = ["date", "target_date", "model_name", "served_by", "model_version", "origin_close",
          "predicted_value", "confidence_interval_lower", "confidence_interval_upper",
          "interval_level", "created_at"]
MODELS = {"/api/meta": schemas.Meta, "/api/headline": schemas.HeadlineResponse,
          "/api/forecast/1m": schemas.ForecastResponse,
          "/api/forecast/1m?forecaster=all": schemas.ForecastResponse,
          "/api/track-record/1m": schemas.TrackRecordResponse,
          "/api/metrics": schemas.MetricsResponse, "/api/live-data?root=ZL": schemas.LiveDataResponse,
          "/api/live/panel?root=ZL": schemas.LivePanel,
          "/api/history?root=ZL&days=30": schemas.HistoryResponse,
          "/api/status": schemas.StatusResponse, "/health": schemas.Health}


@pytest.mark.parametrize("path", list(MODELS))
def test_every_answer_fits_its_documented_model(client, path):
    r = client.get(path)
    assert r.status_code == 200, r.text
    MODELS[path].model_validate(r.json())


def test_openapi_describes_every_response(client):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    assert {"/api/meta", "/api/headline", "/api/forecast/{horizon}", "/api/track-record/{horizon}",
            "/api/metrics", "/api/live-data", "/api/live/panel", "/api/live", "/api/history",
            "/api/status", "/health"} <= set(paths)
    for path, ops in paths.items():
        ok = ops["get"]["responses"]["200"]["content"]
        if path == "/api/live":
            assert "text/event-stream" in ok
            continue
        schema = ok["application/json"]["schema"]
        assert "$ref" in schema, (path, schema)  # a named model, never `{}`
    names = spec["components"]["schemas"]
    assert {"HeadlineResponse", "ForecastRow", "TrackRecordResponse", "ReportRow",
            "StatusResponse", "ErrorResponse"} <= set(names)
    assert names["ForecastRow"]["properties"].keys() >= {"origin_close", "created_at", "served_by"}


def test_forecast_serves_the_served_rows_of_the_last_30_days(client):
    body = client.get("/api/forecast/1m").json()
    rows = body["rows"]
    assert body["horizon"] == "1m" and body["simulated"] is True and body["forecaster"] == "served"
    assert [r["date"] for r in rows] == [ORIGIN.isoformat(), (ORIGIN - dt.timedelta(days=3)).isoformat()]
    assert all(list(r) == FIELDS for r in rows)
    assert {r["model_name"] for r in rows} == {"served"} and rows[0]["served_by"] == "tree"
    assert rows[0]["origin_close"] == 44.5 and rows[0]["created_at"] == "2025-06-10T09:00:00Z"


def test_forecast_all_serves_every_forecasters_rows(client):
    rows = client.get("/api/forecast/1m?forecaster=all").json()["rows"]
    learners = [r for r in rows if r["model_name"] == "tree"]
    assert len(learners) == 30 and sum(r["model_version"] == "v2" for r in learners) == 5
    assert not {d.isoformat() for d in OLD} & {r["date"] for r in rows}  # 31 and 45 days old
    assert {r["date"] for r in learners} == {d.isoformat() for d in RECENT}
    assert client.get("/api/forecast/1m?forecaster=some").status_code == 422


def test_prices_are_rounded_to_the_tick(client):
    rows = client.get("/api/forecast/1m?forecaster=all").json()["rows"]
    for r in rows:  # stored values carry a 0.0123 tail; ZL's tick is 0.01
        for f in ("predicted_value", "confidence_interval_lower", "confidence_interval_upper"):
            assert round(r[f], 2) == r[f], (f, r[f])
    assert client.get("/api/meta").json()["tick"] == 0.01


def test_forecast_at_most_100_rows(filled_url):
    from cbi.warehouse import connect
    from tests.dashboard.conftest import PRED, predictions

    wh = connect(filled_url)
    days = [TODAY - dt.timedelta(days=d) for d in range(30)]
    for v in ("v3", "v4", "v5", "v6"):
        wh.merge(PRED.format(h="1m"), predictions("1m", days, v, NOW))
    with TestClient(create_app(Settings(warehouse=filled_url), warehouse=wh, clock=lambda: NOW)) as c:
        rows = c.get("/api/forecast/1m?forecaster=all").json()["rows"]
    wh.close()
    assert len(rows) == 100 and rows[0]["date"] == TODAY.isoformat()


def test_headline_one_origin_every_horizon(client):
    body = client.get("/api/headline").json()
    assert body["origin"] == ORIGIN.isoformat() and body["root"] == "ZL" and body["units"] == "¢/lb"
    assert [h["horizon"] for h in body["horizons"]] == HORIZONS
    for h in body["horizons"]:
        assert h["available"] and h["origin"] == ORIGIN.isoformat() and h["origin_close"] == 44.5
        assert h["served_by"] == SERVED_BY[h["horizon"]]
        assert h["change"] == pytest.approx(h["predicted_value"] - h["origin_close"], abs=0.011)
        assert h["change_pct"] == pytest.approx(100 * h["change"] / 44.5, abs=0.01)
        assert h["lower"] < h["predicted_value"] < h["upper"]
        assert h["track_record"]["text"] == "covered 88% of 1,240 past forecasts; worst year (2020) 81%"
    by = {h["horizon"]: h for h in body["horizons"]}
    assert by["12m"]["served_text"] == "random walk: no model has shown skill at this horizon"
    assert by["12m"]["change"] == 0 and by["1w"]["served_text"] == "tree model served-tree-v2"


def test_headline_says_what_is_missing(filled_url):
    from cbi.warehouse import connect
    from tests.dashboard.conftest import PRED, served

    with connect(filled_url) as wh:  # a newer origin for 1w only
        wh.merge(PRED.format(h="1w"), served("1w", TODAY, NOW))
    with TestClient(create_app(Settings(warehouse=filled_url), clock=lambda: NOW)) as c:
        body = c.get("/api/headline").json()
    assert body["origin"] == TODAY.isoformat()
    missing = [h for h in body["horizons"] if not h["available"]]
    assert [h["horizon"] for h in missing] == HORIZONS[1:]
    assert "cbi predict" in missing[0]["note"] and TODAY.isoformat() in missing[0]["note"]


def test_empty_warehouse_says_which_command_fills_each_section(duckdb_url):
    from cbi.warehouse import connect

    with connect(duckdb_url) as wh:
        wh.init()
    with TestClient(create_app(Settings(warehouse=duckdb_url), clock=lambda: NOW)) as c:
        assert "cbi predict" in c.get("/api/headline").json()["empty"]
        assert "cbi predict" in c.get("/api/forecast/3m").json()["empty"]
        assert "cbi train" in c.get("/api/track-record/1m").json()["empty"]
        assert "cbi models report" in c.get("/api/metrics").json()["empty"]
        assert "cbi ingest" in c.get("/api/history?root=ZL").json()["empty"]
        assert "cbi serve" in c.get("/api/live/panel?root=ZL").json()["empty"]
        status = c.get("/api/status").json()
        assert "cbi run" in status["empty"]["freshness"] and "cbi run" in status["empty"]["runs"]
        assert status["simulated"] is False and status["sandbox_data"] == []


def test_track_record_hits_equal_a_sql_count(client, filled_url):
    body = client.get("/api/track-record/1m").json()
    from cbi.warehouse import connect

    with connect(filled_url, read_only=True) as wh:
        hits = wh.scalar("SELECT COUNTIF(actual_value BETWEEN confidence_interval_lower AND "
                         "confidence_interval_upper) FROM predictions.zl_backtest_prod_allhistory_1m "
                         "WHERE model_name = 'served'")
        n = wh.scalar("SELECT COUNT(*) FROM predictions.zl_backtest_prod_allhistory_1m "
                      "WHERE model_name = 'served'")
    assert body["hits"] == hits == sum(r["hit"] for r in body["rows"]) and len(body["rows"]) == n == 60
    assert body["misses"] == n - hits and body["coverage"] == pytest.approx(hits / n)
    assert {r["served_by"] for r in body["rows"]} == {"tree"}


def test_metrics_come_from_the_model_report_with_verdicts(client):
    body = client.get("/api/metrics").json()
    rows = body["rows"]
    assert len(rows) == 25 and [r["forecaster"] for r in rows[:5]] == [
        "served", "tree", "neural", "random_walk", "drift"]
    assert [r["horizon"] for r in rows[::5]] == HORIZONS
    verdicts = {r["forecaster"]: r["verdict"] for r in rows[:5]}
    assert verdicts == {"served": "same", "tree": "better", "neural": "worse",
                        "random_walk": "baseline", "drift": "same"}
    assert rows[0]["n"] == 1240 and rows[0]["worst_year"] == 2020


def test_the_page_never_reads_the_model_registry(client, monkeypatch):
    import cbi.models.registry as registry

    def boom(*a, **k):
        raise AssertionError("the dashboard read the model registry")

    for name in dir(registry):
        if callable(getattr(registry, name)) and not name.startswith("_"):
            monkeypatch.setattr(registry, name, boom)
    client.app.state.cache.clear()
    for path in ("/api/metrics", "/api/headline", "/api/forecast/1m", "/api/status"):
        assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", ["/api/forecast/1y", "/api/forecast/1M", "/api/forecast/5",
                                  "/api/forecast/", "/api/nothing", "/api/track-record/2w"])
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
    assert client.get("/api/live-data?root=ZL").headers["cache-control"] == "public, s-maxage=300"


def test_live_data_since_returns_only_newer_bars(client):
    for since in ("2025-06-10T14:57:00Z", "2025-06-10T14:57:00", "2025-06-10T09:57:00-05:00"):
        bars = client.get("/api/live-data", params={"root": "ZL", "since": since}).json()["bars"]
        assert sorted({b["ts_event"][11:16] for b in bars}) == ["14:58", "14:59"], since
    assert client.get("/api/live-data?root=ZL&since=2025-06-10T14:59:00Z").json()["bars"] == []
    assert client.get("/api/live-data?root=ZL&since=yesterday").status_code == 422


@pytest.mark.parametrize("query", [
    "/api/live-data?root=ZL&since=9999-12-31T23:59:59-05:00",
    "/api/live-data?root=ZL&since=0001-01-01T00:00:00%2B05:00",
    "/api/live-data?root=ZL&since=0001-01-01T00:00:00",
    "/api/live-data?root=ZL&since=2999-01-01T00:00:00Z",
    "/api/live-data?root=ZL&since=99999-01-01T00:00:00Z",
    "/api/live-data?root=ZL&since=1e308",
    "/api/history?root=ZL&since=0001-01-01",
    "/api/history?root=ZL&since=9999-12-31",
    "/api/history?root=ZL&days=99999999999999999999",
    "/api/history?root=ZL&days=36501",
])
def test_out_of_range_parameters_are_422_never_500(client, query):
    r = client.get(query)
    assert r.status_code == 422, (query, r.status_code, r.text)
    assert r.json()["error"] and r.headers["x-content-type-options"] == "nosniff"


def test_live_panel_last_price_and_curve(client):
    r = client.get("/api/live/panel?root=ZL")
    assert r.headers["cache-control"] == "no-store"
    panel = r.json()
    assert panel["last"] == {"symbol": "ZLQ5", "close": 46.09, "ts_event": "2025-06-10T14:59:00Z"}
    assert [c["symbol"] for c in panel["curve"]] == ["ZLN5", "ZLQ5", "ZLU5", "ZLZ5"]  # by expiry
    assert [c["from"] for c in panel["curve"]] == ["1m", "1m", "1d", "1d"]
    assert panel["curve"][2]["close"] == 48.0 and panel["simulated"] is True


@pytest.mark.parametrize("root", ["XX", "zl", "ZL'--", "", "ZL OR 1=1"])
def test_roots_outside_the_allowlist_are_refused(client, root):
    for path in ("/api/live-data", "/api/history", "/api/live/panel", "/api/live"):
        r = client.get(path, params={"root": root})
        assert r.status_code == 400 and "unknown root" in r.json()["error"], (path, root)


def test_history_days_and_since(client):
    rows = client.get("/api/history?root=ZL&days=10").json()["rows"]
    assert len(rows) == 10 and rows[-1]["date"] == ORIGIN.isoformat()
    assert [r["date"] for r in rows] == sorted(r["date"] for r in rows)
    assert {"date", "close", "index_close"} <= set(rows[0]) and "source" not in rows[0]
    newer = client.get("/api/history", params={"root": "ZL", "days": 10, "since": rows[-3]["date"]})
    assert newer.json()["rows"] == rows[-2:]
    assert len(client.get("/api/history?root=ES&days=365").json()["rows"]) == 10
    for bad in ("0", "-1", "ten", "1;DROP TABLE x"):
        assert client.get(f"/api/history?root=ZL&days={bad}").status_code == 422


def test_status_freshness_observed_and_written_with_ages(client):
    body = client.get("/api/status").json()
    fresh = {(f["feed"], f["subject"]): f for f in body["freshness"]}
    zl = fresh[("databento", "ZL")]
    assert zl["observed_at"] == "2025-06-10T14:59:00Z" and zl["observed_age_s"] == 60.0
    assert zl["written_at"] == "2025-06-10T14:59:30Z" and zl["written_age_s"] == 30.0
    assert zl["last_at"] == zl["observed_at"]
    fred = fresh[("fred", "fred")]  # the newest observation's date, not the write time
    assert fred["observed_at"] == "2025-06-08T00:00:00Z" and fred["written_at"] == "2025-06-10T12:00:00Z"
    assert fred["written_age_s"] == 3 * 3600
    news = fresh[("news", "news")]
    assert news["observed_at"] == "2025-06-10T10:00:00Z" and news["written_age_s"] == 4 * 3600
    assert body["data_as_of"] == "2025-06-10T14:59:00Z" and body["checked_at"] == "2025-06-10T15:00:00Z"
    runs = {r["job"]: r for r in body["runs"]}
    assert runs["databento"]["run_id"] == "r1"  # the latest of two
    assert runs["fred"]["status"] == "failed"
    assert "abcdef123" not in runs["fred"]["error"] and "api_key=***" in runs["fred"]["error"]


def test_cbi_status_has_the_same_freshness(filled_url):
    from cbi.ops.status import status_report
    from cbi.warehouse import connect

    with connect(filled_url, read_only=True) as wh:
        report = status_report(wh, Settings(warehouse=filled_url), now=NOW)
    zl = next(f for f in report["freshness"] if f["subject"] == "ZL")
    assert zl["observed_at"] == dt.datetime(2025, 6, 10, 14, 59, tzinfo=dt.timezone.utc)
    assert zl["written_age_s"] == 30.0 and zl["observed_age_s"] == 60.0


def test_banner_follows_the_data_not_the_keys(settings, live_url, monkeypatch):
    """A sandbox-filled warehouse is flagged even when this process holds a Databento key;
    an all-live warehouse is not, even with no key at all."""
    monkeypatch.setenv("DATABENTO_API_KEY", "db-" + "fake" * 6)
    with TestClient(create_app(settings, clock=lambda: NOW)) as c:
        status = c.get("/api/status").json()
        assert status["simulated"] is True
        assert status["sandbox_data"] == ["live bars", "daily bars", "macro", "news"]
        for path in ("/api/headline", "/api/forecast/1m", "/api/history?root=ZL",
                     "/api/live-data?root=ZL", "/api/live/panel?root=ZL", "/api/metrics"):
            assert c.get(path).json()["simulated"] is True, path
    monkeypatch.delenv("DATABENTO_API_KEY")
    with TestClient(create_app(Settings(warehouse=live_url), clock=lambda: NOW)) as c:
        status = c.get("/api/status").json()
        assert status["simulated"] is False and status["sandbox_data"] == []
        for path in ("/api/headline", "/api/forecast/1m", "/api/history?root=ZL",
                     "/api/live-data?root=ZL", "/api/live/panel?root=ZL", "/api/metrics"):
            assert c.get(path).json()["simulated"] is False, path


def test_one_sandbox_row_anywhere_raises_the_banner(live_url):
    import pyarrow as pa

    from cbi.warehouse import connect

    with connect(live_url) as wh:
        wh.merge("market_data.fred_economic_indicators", pa.Table.from_pylist([{
            "series_id": "VIXCLS", "date": TODAY, "realtime_start": TODAY, "value": 15.0,
            "source": "sandbox"}]))
    with TestClient(create_app(Settings(warehouse=live_url), clock=lambda: NOW)) as c:
        assert c.get("/api/status").json()["sandbox_data"] == ["macro"]
        assert c.get("/api/headline").json()["simulated"] is True


def test_health_head_and_docs(client):
    assert client.get("/health").json() == {"status": "ok"}
    for path in ("/health", "/api/metrics", "/api/status", "/", "/docs", "/api/live?root=ZL"):
        r = client.head(path)
        assert r.status_code == 200 and r.content == b"", path
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/static/swagger/swagger-ui-bundle.js" in docs.text
    assert "http" not in docs.text and "<script>" not in docs.text  # no CDN, no inline script
    assert client.get("/static/swagger/swagger-ui-bundle.js").status_code == 200
    assert client.get("/redoc").status_code == 404  # ReDoc would load from a CDN


@pytest.mark.parametrize("path", ["/", "/docs", "/openapi.json", "/health", "/api/metrics",
                                  "/api/nothing", "/api/history?root=XX", "/static/app.js",
                                  "/static/plotly.min.js", "/static/swagger/swagger-ui.css",
                                  "/api/live-data?root=ZL&since=9999-12-31"])
def test_every_response_carries_the_security_headers(client, path):
    for _ in range(2):  # the second answer of a cached route comes from the cache middleware
        r = client.get(path)
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert "default-src 'self'" in r.headers["content-security-policy"], path
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"], path
        assert r.headers["referrer-policy"] == "no-referrer", path
    etag = client.get("/api/metrics").headers["etag"]
    r = client.get("/api/metrics", headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.headers["x-content-type-options"] == "nosniff"


def test_page_and_plotly_are_served_locally(client):
    page = client.get("/")
    assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
    assert "/static/plotly.min.js" in page.text and "http" not in page.text.replace('href="/docs"', "")
    assert "ZL" not in page.text  # the root shown comes from settings, through /api/meta
    js = client.get("/static/plotly.min.js")
    assert js.status_code == 200 and js.headers["content-encoding"] == "gzip" and b"plotly" in js.content[:2000]
    assert client.get("/static/plotly.min.js", headers={"If-None-Match": js.headers["etag"]}).status_code == 304
    assert client.get("/static/app.js").status_code == 200


def test_meta_root_comes_from_settings(filled_url):
    s = Settings(warehouse=filled_url, target_root="CL")
    with TestClient(create_app(s, clock=lambda: NOW)) as c:
        meta = c.get("/api/meta").json()
    assert meta["root"] == "CL" and meta["units"] == "$/bbl" and meta["tick"] == 0.01


def test_the_app_opens_the_warehouse_read_only(client):
    assert client.app.state.warehouse.read_only is True


def test_full_surface_and_bad_surface(filled_url):
    from cbi.warehouse import connect
    from tests.dashboard.conftest import served

    with connect(filled_url) as wh:
        wh.merge("predictions.zl_predictions_full_allhistory_1m", served("1m", TODAY, NOW))
    with TestClient(create_app(Settings(warehouse=filled_url, dashboard_surface="full"),
                               clock=lambda: NOW)) as c:
        rows = c.get("/api/forecast/1m").json()["rows"]
        assert [r["date"] for r in rows] == [TODAY.isoformat()]
        assert c.get("/api/metrics").json()["rows"] == []  # the report holds prod rows only
    with pytest.raises(ValueError, match="dashboard_surface 'x_1m'"):
        create_app(Settings(warehouse=filled_url, dashboard_surface="x_1m"))


def test_cbi_dashboard_command_is_registered():
    from typer.testing import CliRunner

    from cbi.cli import app

    result = CliRunner().invoke(app, ["dashboard", "--help"])
    assert result.exit_code == 0 and "--port" in result.output and "--host" in result.output


@pytest.mark.bigquery
def test_every_route_answers_the_same_on_bigquery_as_on_duckdb(bigquery_warehouse, duckdb_url):
    """18.4: the dashboard's queries on the production engine: the same filled warehouse on
    the emulator and on DuckDB, every route of the API, the same JSON. The detailed cases
    above read a DuckDB file: filling the emulator costs a MERGE round trip per table."""
    from cbi.warehouse import connect
    from tests.dashboard.conftest import fill

    fill(bigquery_warehouse)
    with connect(duckdb_url) as wh:
        wh.init()
        fill(wh)
        duck = _answers(wh, duckdb_url)
    bq = _answers(bigquery_warehouse, bigquery_warehouse.url)
    assert duck.keys() == bq.keys() and all(duck.values())
    assert (duck["/api/status"].pop("warehouse"), bq["/api/status"].pop("warehouse")) == (
        "duckdb", "bigquery")  # the one answer that names the engine
    for path in duck:
        assert bq[path] == duck[path], path


def _answers(wh, url: str) -> dict[str, object]:
    paths = [*MODELS, "/api/forecast/1w", "/api/track-record/1w", "/api/history?root=ES&days=30"]
    with TestClient(create_app(Settings(warehouse=url), warehouse=wh, clock=lambda: NOW)) as c:
        out = {}
        for path in paths:
            r = c.get(path)
            assert r.status_code == 200, (url.split("?")[0], path, r.text)
            out[path] = r.json()
    return out
