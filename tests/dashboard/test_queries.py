"""The dashboard's SQL gives the same rows on DuckDB and on the BigQuery emulator."""

from __future__ import annotations

import datetime as dt

import pytest

from cbi.config import Settings
from cbi.dashboard import data
from tests.dashboard.conftest import NOW, RECENT, TODAY, fill


def test_dashboard_queries_on_both_engines(warehouse, tmp_path):
    fill(warehouse, with_1w=False)
    settings = Settings(models_dir=tmp_path / "models")

    rows = data.forecast(warehouse, settings, "1m", False, NOW)
    assert [(r["date"], r["model_version"]) for r in rows] == [
        (d, "v2" if d in RECENT[-5:] else "v1") for d in reversed(RECENT)]
    assert rows[0]["predicted_value"] == pytest.approx(45.0 + 4 * 0.1 + 0.5)
    assert len(data.forecast(warehouse, settings, "1m", True, NOW)) == 30
    # The row path forecast uses gives what the Arrow path gives.
    sql = warehouse.render(data.SQL, "forecast.sql", table=data.table_of("predictions", settings, "1m"))
    params = {"since": TODAY - dt.timedelta(days=30), "horizon": "1m"}
    assert warehouse.query_rows(sql, params) == warehouse.query(sql, params).to_pylist()

    bars = data.live_bars(warehouse, "ZL", None, NOW)
    assert [(b["ts_event"].minute, b["symbol"]) for b in bars] == [
        (m, s) for m in range(55, 60) for s in ("ZLN5", "ZLQ5")]
    since = NOW - dt.timedelta(minutes=2)
    assert [b["ts_event"].minute for b in data.live_bars(warehouse, "ZL", since, NOW)] == [59, 59]

    hist = data.history(warehouse, "ZL", 10, None)
    assert [r["date"] for r in hist] == [TODAY - dt.timedelta(days=d) for d in range(10, 0, -1)]
    assert [r["date"] for r in data.history(warehouse, "ZL", 10, hist[-3]["date"])] == \
        [r["date"] for r in hist[-2:]]

    metrics = data.backtest_metrics(warehouse, settings)
    assert [(m["model"], m["model_version"], m["is_current"]) for m in metrics] == [
        ("lgbm", "v1", False), ("naive", "v1", False), ("lgbm", "v2", True), ("naive", "v2", False)]
    assert metrics[0]["mase"] == pytest.approx(metrics[0]["mae"] / metrics[1]["mae"])
    # The fixture's backtest: errors |actual - pred| are 0.5 or 1.5; the interval is +-1.2.
    errors = [abs((1.0 if i % 2 else -1.0) - (0.5 if i % 3 else -0.5)) for i in range(60)]
    assert metrics[0]["coverage"] == pytest.approx(sum(e <= 1.2 for e in errors) / 60)
    assert metrics[0]["pinball"] > 0

    status = data.status(warehouse, settings, NOW)
    assert [(f["feed"], f["cursor_key"], f["stale"]) for f in status["feeds"]] == [
        ("databento", "CL", True), ("databento", "ZL", False), ("fred", "DFF", None)]
    assert [(r["job"], r["run_id"]) for r in status["runs"]] == [("databento", "r1"), ("fred", "r2")]


class _Rows:
    """A stand-in Warehouse that answers forecast.sql with fixed rows."""

    def __init__(self, rows):
        self.rows = rows

    render = staticmethod(lambda package, name, **identifiers: "SELECT 1")

    def query_rows(self, sql, params):
        return [dict(r) for r in self.rows]


def test_forecast_keeps_the_version_written_last_per_date(tmp_path):
    """Latest created_at wins, a NULL created_at ranks oldest, ties go to the higher version;
    newest date first, then model_version; at most 100 rows."""
    d1, d2 = TODAY - dt.timedelta(days=1), TODAY - dt.timedelta(days=2)

    def row(d, version, created_us):
        return {"date": d, "target_date": d, "predicted_value": 1.0,
                "confidence_interval_lower": 0.0, "confidence_interval_upper": 2.0,
                "interval_level": 0.9, "model_version": version, "created_us": created_us}

    rows = [row(d2, "a", 5), row(d2, "b", None), row(d1, "a", 7), row(d1, "c", 7),
            row(d1, "b", 3)]
    settings = Settings(models_dir=tmp_path / "models")
    current = data.forecast(_Rows(rows), settings, "1m", False, NOW)
    assert [(r["date"], r["model_version"]) for r in current] == [(d1, "c"), (d2, "a")]
    assert all("created_us" not in r for r in current)
    every = data.forecast(_Rows(rows), settings, "1m", True, NOW)
    assert [(r["date"], r["model_version"]) for r in every] == [
        (d1, "a"), (d1, "b"), (d1, "c"), (d2, "a"), (d2, "b")]
    many = [row(TODAY - dt.timedelta(days=i % 30), f"v{i}", i) for i in range(150)]
    assert len(data.forecast(_Rows(many), settings, "1m", True, NOW)) == 100
