"""The dashboard's SQL gives the same rows on DuckDB and on the BigQuery emulator."""

from __future__ import annotations

import datetime as dt

import pytest

from cbi.config import Settings
from cbi.dashboard import data
from tests.dashboard.conftest import HORIZONS, NOW, ORIGIN, TODAY, fill


def test_dashboard_queries_on_both_engines(warehouse, tmp_path):
    fill(warehouse)
    settings = Settings(models_dir=tmp_path / "models")

    rows = data.forecast(warehouse, settings, "1m", False, NOW)
    assert [(r["date"], r["model_name"]) for r in rows] == [
        (ORIGIN, "served"), (ORIGIN - dt.timedelta(days=3), "served")]
    assert len([r for r in data.forecast(warehouse, settings, "1m", True, NOW)
                if r["model_name"] == "tree"]) == 30
    # The row path forecast uses gives what the Arrow path gives.
    sql = warehouse.render(data.SQL, "forecast.sql", table=data.table_of("predictions", settings, "1m"))
    params = {"since": TODAY - dt.timedelta(days=30), "horizon": "1m"}
    assert warehouse.query_rows(sql, params) == warehouse.query(sql, params).to_pylist()

    head = data.headline(warehouse, settings, NOW)
    assert head["origin"] == ORIGIN and [h["horizon"] for h in head["horizons"]] == HORIZONS
    assert all(h["available"] and h["origin"] == ORIGIN for h in head["horizons"])

    track = data.track_record(warehouse, settings, "1m")
    errors = [abs((1.0 if i % 2 else -1.0) - (0.5 if i % 3 else -0.5)) for i in range(60)]
    assert len(track["rows"]) == 60 and track["hits"] == sum(e <= 1.2 for e in errors)

    report = data.metrics(warehouse, settings)["rows"]
    assert len(report) == 25 and report[0]["forecaster"] == "served" and report[0]["n"] == 1240

    bars, simulated = data.live_bars(warehouse, settings, "ZL", None, NOW)
    assert [(b["ts_event"].minute, b["symbol"]) for b in bars] == [
        (m, s) for m in range(55, 60) for s in ("ZLN5", "ZLQ5")]
    assert simulated is True
    since = NOW - dt.timedelta(minutes=2)
    assert [b["ts_event"].minute for b in data.live_bars(warehouse, settings, "ZL", since, NOW)[0]] == [59, 59]
    panel = data.live_panel(warehouse, settings, "ZL", NOW)
    assert [c["symbol"] for c in panel["curve"]] == ["ZLN5", "ZLQ5", "ZLU5", "ZLZ5"]
    assert data.live_mark(warehouse, "ZL", NOW)[0] == NOW - dt.timedelta(minutes=1)

    hist, _ = data.history(warehouse, settings, "ZL", 10, None)
    assert [r["date"] for r in hist] == [ORIGIN - dt.timedelta(days=d) for d in range(9, -1, -1)]
    assert [r["date"] for r in data.history(warehouse, settings, "ZL", 10, hist[-3]["date"])[0]] == \
        [r["date"] for r in hist[-2:]]

    assert data.provenance(warehouse, settings, NOW) == ["live bars", "daily bars", "macro", "news"]
    status = data.status(warehouse, settings, NOW)
    fresh = {(f["feed"], f["subject"]): f for f in status["freshness"]}
    assert fresh[("databento", "ZL")]["observed_age_s"] == 60.0
    assert fresh[("fred", "fred")]["observed_at"] == dt.datetime(2025, 6, 8, tzinfo=dt.timezone.utc)
    assert [(r["job"], r["run_id"]) for r in status["runs"]] == [("databento", "r1"), ("fred", "r2")]


class _Rows:
    """A stand-in Warehouse that answers forecast.sql with fixed rows."""

    def __init__(self, rows):
        self.rows = rows

    render = staticmethod(lambda package, name, **identifiers: "SELECT 1")

    def query_rows(self, sql, params):
        return [dict(r) for r in self.rows]


def test_forecast_keeps_the_served_row_written_last_per_date(tmp_path):
    """Latest created_at wins, a NULL created_at ranks oldest, ties go to the higher version;
    newest date first, then model_version; at most 100 rows; learners only with `everything`."""
    d1, d2 = TODAY - dt.timedelta(days=1), TODAY - dt.timedelta(days=2)

    def row(d, version, created_us, name="served"):
        return {"date": d, "target_date": d, "model_name": name, "served_by": "tree",
                "model_version": version, "origin_close": 1.0, "predicted_value": 1.0,
                "confidence_interval_lower": 0.0, "confidence_interval_upper": 2.0,
                "interval_level": 0.9, "created_at": None, "created_us": created_us}

    rows = [row(d2, "a", 5), row(d2, "b", None), row(d1, "a", 7), row(d1, "c", 7),
            row(d1, "b", 3), row(d1, "z", 99, name="tree")]
    settings = Settings(models_dir=tmp_path / "models")
    current = data.forecast(_Rows(rows), settings, "1m", False, NOW)
    assert [(r["date"], r["model_version"]) for r in current] == [(d1, "c"), (d2, "a")]
    assert all("created_us" not in r for r in current)
    every = data.forecast(_Rows(rows), settings, "1m", True, NOW)
    assert [(r["date"], r["model_version"]) for r in every] == [
        (d1, "a"), (d1, "b"), (d1, "c"), (d1, "z"), (d2, "a"), (d2, "b")]
    many = [row(TODAY - dt.timedelta(days=i % 30), f"v{i}", i) for i in range(150)]
    assert len(data.forecast(_Rows(many), settings, "1m", True, NOW)) == 100


@pytest.mark.parametrize("value, tick, expected", [
    (45.2349, 0.01, 45.23), (45.235001, 0.01, 45.24), (4512.13, 0.25, 4512.25),
    (2.345678, 0.0001, 2.3457), (None, 0.01, None), (float("nan"), 0.01, None)])
def test_prices_round_to_the_tick(value, tick, expected):
    assert data.to_tick(value, tick) == expected


def test_contracts_sort_by_expiry():
    today = dt.date(2025, 11, 20)
    symbols = ["ZLF6", "ZLZ5", "ZLH6", "ZLN26", "ZLK6"]
    assert sorted(symbols, key=lambda s: data.contract_order(s, today)) == [
        "ZLZ5", "ZLF6", "ZLH6", "ZLK6", "ZLN26"]


@pytest.mark.parametrize("row, verdict", [
    ({"forecaster": "random_walk", "mase": 1.0, "dm_pvalue": None}, "baseline"),
    ({"forecaster": "tree", "mase": 0.9, "dm_pvalue": 0.01}, "better"),
    ({"forecaster": "tree", "mase": 0.9, "dm_pvalue": 0.2}, "same"),
    ({"forecaster": "neural", "mase": 1.2, "dm_pvalue": 0.99}, "worse"),
    ({"forecaster": "neural", "mase": 1.2, "dm_pvalue": 0.01}, "same"),  # one-sided p
    ({"forecaster": "drift", "mase": 1.01, "dm_pvalue": 0.6}, "same"),
    ({"forecaster": "served", "mase": None, "dm_pvalue": None}, "same")])
def test_verdict_against_the_random_walk(row, verdict):
    assert data.verdict(row) == verdict
