"""A warehouse filled with known forecasts (served and learner rows), served walk-forward
rows, a model report, bars, closes, macro and news rows, runs and cursors, and the dashboard
app over it. Everything is relative to a fixed clock (`NOW`). Rows carry their `source`:
`sandbox` by default, the live services' names with `fill(..., source="live")`."""

from __future__ import annotations

import datetime as dt
import math
import shutil
import socket
import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest

from tests.builders import minute_bars

UTC = dt.timezone.utc
NOW = dt.datetime(2025, 6, 10, 15, 0, tzinfo=UTC)
TODAY = NOW.date()
BARS = "market_data.databento_futures_ohlcv_1m"
DAILY = "market_data.futures_ohlcv_1d"
CONTINUOUS = "market_data.futures_continuous_1d"
FRED = "market_data.fred_economic_indicators"
NEWS = "market_data.news_articles"
PRED = "predictions.zl_predictions_prod_allhistory_{h}"
BACKTEST = "predictions.zl_backtest_prod_allhistory_{h}"
REPORT = "predictions.model_report"
DAYS = {"1w": 7, "1m": 30, "3m": 91, "6m": 182, "12m": 365}
HORIZONS = list(DAYS)
#: The newest origin of the served forecasts (yesterday's close), and an older one.
ORIGIN = TODAY - dt.timedelta(days=1)
SERVED_BY = {"1w": "tree", "1m": "tree", "3m": "random_walk", "6m": "random_walk", "12m": "random_walk"}


def cat(tables: list[pa.Table]) -> pa.Table:
    return pa.concat_tables(tables, promote_options="default")


def predictions(horizon: str, origins: list[dt.date], version: str, created: dt.datetime,
                base: float = 45.0, model_name: str = "tree",
                served_by: str | None = None) -> pa.Table:
    days = DAYS[horizon]
    rows = []
    for i, d in enumerate(origins):
        p = base + i * 0.1 + (0.5 if version == "v2" else 0.0) + 0.0123
        rows.append({"date": d, "horizon": horizon, "model_version": version, "model_name": model_name,
                     "served_by": served_by, "target_date": d + dt.timedelta(days=days),
                     "origin_close": base, "predicted_value": p,
                     "confidence_interval_lower": p - 2.0, "confidence_interval_upper": p + 2.0,
                     "interval_level": 0.9, "created_at": created})
    return pa.Table.from_pylist(rows)


def served(horizon: str, origin: dt.date, created: dt.datetime, close: float = 44.5) -> pa.Table:
    """The served forecast of one origin: the random walk's (the close) where it is served."""
    step = HORIZONS.index(horizon) + 1
    by = SERVED_BY[horizon]
    p = close if by == "random_walk" else close + 0.37 * step
    half = 0.8 * math.sqrt(DAYS[horizon] / 7)
    return pa.Table.from_pylist([{
        "date": origin, "horizon": horizon, "model_version": f"served-{by}-v2", "model_name": "served",
        "served_by": by, "target_date": origin + dt.timedelta(days=DAYS[horizon]),
        "origin_close": close, "predicted_value": p, "confidence_interval_lower": p - half,
        "confidence_interval_upper": p + half, "interval_level": 0.9, "created_at": created}])


def bars(root: str, symbols: list[str], minutes: int, end: dt.datetime, source: str) -> pa.Table:
    """`minutes` bars up to `end` for each symbol (the j-th a dollar above), ingested 30 s later."""
    start = end - dt.timedelta(minutes=minutes - 1)
    ingested = pa.array([start + dt.timedelta(minutes=m, seconds=30) for m in range(minutes)],
                        pa.timestamp("us", tz="UTC"))
    return pa.concat_tables([
        minute_bars([45.0 + m * 0.01 + j for m in range(minutes)], [sym] * minutes, start=start,
                    root=root, instrument_id=100 + j, spread=0.05,
                    volume=[10 * (j + 1) + m for m in range(minutes)],
                    source=[source] * minutes, ingest_timestamp=ingested)
        for j, sym in enumerate(symbols)])


def daily(root: str, symbols: list[str], end: dt.date, source: str) -> pa.Table:
    return pa.Table.from_pylist([
        {"date": end - dt.timedelta(days=k), "root": root, "symbol": s, "instrument_id": 200 + j,
         "open": 46.0 + j, "high": 46.5 + j, "low": 45.5 + j, "close": 46.0 + j + 0.1 * k,
         "volume": 100, "source": source, "ingest_timestamp": NOW}
        for j, s in enumerate(symbols) for k in range(3)])


def continuous(root: str, days: int, end: dt.date, source: str) -> pa.Table:
    rows = []
    for i in range(days):
        d = end - dt.timedelta(days=days - 1 - i)
        close = 40.0 + 5 * math.sin(i / 20)
        rows.append({"date": d, "root": root, "contract_symbol": f"{root}N5", "close": close,
                     "volume": 1000, "return_1d": 0.0, "index_close": close * 1.1, "is_roll": False,
                     "source": source})
    return pa.Table.from_pylist(rows)


def backtest(horizon: str, version: str, n: int, created: dt.datetime, model_name: str) -> pa.Table:
    """Walk-forward rows: |actual - origin| = 1; |pred - origin| = 0.5; interval +-1.2."""
    rows = []
    for i in range(n):
        d = dt.date(2024, 1, 1) + dt.timedelta(days=i)
        origin = 40.0 + (i % 7)
        actual = origin + (1.0 if i % 2 else -1.0)
        pred = origin + (0.5 if i % 3 else -0.5)
        rows.append({"date": d, "horizon": horizon, "model_version": version, "model_name": model_name,
                     "served_by": "tree" if model_name == "served" else None,
                     "target_date": d + dt.timedelta(days=DAYS[horizon]), "origin_close": origin,
                     "predicted_value": pred, "confidence_interval_lower": pred - 1.2,
                     "confidence_interval_upper": pred + 1.2, "interval_level": 0.9,
                     "actual_value": actual, "created_at": created})
    return pa.Table.from_pylist(rows)


def report_rows() -> pa.Table:
    rows = []
    for h in HORIZONS:
        for f, mase, p in (("served", 0.97 if h == "1w" else 1.0, 0.2), ("tree", 0.91, 0.01),
                           ("neural", 1.08, 0.98), ("random_walk", 1.0, None), ("drift", 1.01, 0.6)):
            rows.append({"surface": "prod", "horizon": h, "forecaster": f,
                         "model_version": None if f in ("random_walk", "drift") else "v2",
                         "rows": 1240, "periods": 1240 // (DAYS[h] // 7 * 5), "mase": mase,
                         "dm_stat": 1.0, "dm_pvalue": p, "interval_level": 0.9, "coverage": 0.88,
                         "coverage_worst_year": 0.81, "worst_year": 2020, "mean_width": 3.2,
                         "winkler_rel_rw": 0.98, "pinball": 0.4, "directional_accuracy": 0.52,
                         "nonzero_share": 0.6, "served_by": SERVED_BY[h] if f == "served" else None,
                         "created_at": NOW - dt.timedelta(hours=6)})
    return pa.Table.from_pylist(rows)


def macro_and_news(source: str) -> tuple[pa.Table, pa.Table]:
    fred = pa.Table.from_pylist([
        {"series_id": "DFF", "date": TODAY - dt.timedelta(days=k), "realtime_start": TODAY - dt.timedelta(days=k - 1),
         "realtime_end": None, "value": 4.33, "source": "fred" if source == "live" else source,
         "ingest_timestamp": NOW - dt.timedelta(hours=3)} for k in range(2, 5)])
    news = pa.Table.from_pylist([
        {"url": f"https://example.com/{k}", "published_at": NOW - dt.timedelta(hours=5 + k),
         "publisher": "Wire", "author": None, "title": f"Soybean oil {k}", "description": None,
         "content": None, "query": "soybean oil", "sentiment_score": 0.1, "sentiment_model": "m",
         "source": "newsapi" if source == "live" else source,
         "ingest_timestamp": NOW - dt.timedelta(hours=4)} for k in range(3)])
    return fred, news


def ops_rows() -> tuple[pa.Table, pa.Table]:
    runs = pa.Table.from_pylist([
        {"run_id": f"r{i}", "job": job, "started_at": NOW - dt.timedelta(hours=h),
         "finished_at": NOW - dt.timedelta(hours=h) + dt.timedelta(minutes=1), "status": status,
         "rows_read": 10, "rows_written": 5, "error": err}
        for i, (job, h, status, err) in enumerate([
            ("databento", 3, "succeeded", None), ("databento", 1, "succeeded", None),
            ("fred", 2, "failed", "HTTP 500 from https://api.stlouisfed.org?api_key=abcdef123"),
        ])
    ])
    cursors = pa.Table.from_pylist([
        {"feed": "databento", "cursor_key": "ZL", "watermark": NOW - dt.timedelta(minutes=2),
         "updated_at": NOW},
    ])
    return runs, cursors


#: Origin dates of the 1m learner forecasts: 25 recent days (inside the 30-day window) and two old.
RECENT = [TODAY - dt.timedelta(days=d) for d in range(25, 0, -1)]
OLD = [TODAY - dt.timedelta(days=d) for d in (45, 31)]


def fill(wh, source: str = "sandbox", with_report: bool = True) -> None:
    """One MERGE per table (each costs seconds on the BigQuery emulator). `source`: `sandbox`
    or `live` (the live services' names)."""
    bars_source = "databento" if source == "live" else source
    early, late = NOW - dt.timedelta(days=40), NOW - dt.timedelta(hours=6)
    older = ORIGIN - dt.timedelta(days=3)
    wh.merge(PRED.format(h="1m"), cat([
        predictions("1m", OLD + RECENT, "v1", early),
        predictions("1m", RECENT[-5:], "v2", late),  # a retrain: the later rows win
        served("1m", older, early, close=44.0),
        served("1m", ORIGIN, late)]))
    for h in HORIZONS:
        if h != "1m":
            wh.merge(PRED.format(h=h), cat([served(h, older, early, close=44.0),
                                                         served(h, ORIGIN, late)]))
    wh.merge(BARS, cat([
        bars("ZL", ["ZLN5", "ZLQ5", "ZLN5-ZLQ5"], 10, NOW - dt.timedelta(minutes=1), bars_source),
        bars("CL", ["CLN5"], 3, NOW - dt.timedelta(minutes=1), bars_source)]))
    wh.merge(DAILY, daily("ZL", ["ZLN5", "ZLQ5", "ZLU5", "ZLZ5"], ORIGIN, bars_source))
    wh.merge(CONTINUOUS, cat([
        continuous("ZL", 500, ORIGIN, bars_source),
        continuous("ES", 10, ORIGIN, bars_source)]))
    wh.merge(BACKTEST.format(h="1m"), cat([
        backtest("1m", "v1", 60, early, "tree"), backtest("1m", "served-v2", 60, late, "served")]))
    if with_report:
        wh.merge(REPORT, report_rows())
    fred, news = macro_and_news(source)
    wh.merge(FRED, fred)
    wh.merge(NEWS, news)
    runs, cursors = ops_rows()
    wh.merge("ops.pipeline_runs", runs)
    wh.merge("ops.feed_cursors", cursors)


def build(path: Path, source: str) -> Path:
    from cbi.warehouse import connect

    with connect(f"duckdb:///{path}") as wh:
        wh.init()
        fill(wh, source)
    return path


@pytest.fixture(scope="session")
def filled_template(tmp_path_factory) -> Path:
    """The filled DuckDB file (sandbox-sourced rows), built once; each test gets a copy."""
    return build(tmp_path_factory.mktemp("dashboard") / "filled.duckdb", "sandbox")


@pytest.fixture(scope="session")
def live_template(tmp_path_factory) -> Path:
    """The same rows, every one from the live services."""
    return build(tmp_path_factory.mktemp("dashboard-live") / "live.duckdb", "live")


@pytest.fixture
def filled_url(filled_template, tmp_path) -> str:
    """A DuckDB file filled with the rows above, closed again (the app opens it read-only)."""
    path = tmp_path / "cbi.duckdb"
    shutil.copyfile(filled_template, path)
    return f"duckdb:///{path}"


@pytest.fixture
def live_url(live_template, tmp_path) -> str:
    path = tmp_path / "live.duckdb"
    shutil.copyfile(live_template, path)
    return f"duckdb:///{path}"


@pytest.fixture
def settings(filled_url, tmp_path):
    from cbi.config import Settings

    return Settings(warehouse=filled_url, models_dir=tmp_path / "models")


@pytest.fixture
def client(settings):
    from fastapi.testclient import TestClient

    from cbi.dashboard.app import create_app

    with TestClient(create_app(settings, clock=lambda: NOW)) as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """A running app: its base URL and the Warehouse it reads (the owner's, when passed)."""

    def __init__(self, base: str, app) -> None:
        self.base, self.app = base, app

    def __str__(self) -> str:
        return self.base

    def __add__(self, path: str) -> str:
        return self.base + path


def serve(settings, warehouse=None, clock=lambda: NOW):
    """The app under uvicorn on 127.0.0.1 and a free port, in a thread of this process."""
    import uvicorn

    from cbi.dashboard.app import create_app

    app = create_app(settings, warehouse=warehouse, clock=clock)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                            timeout_graceful_shutdown=2)
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    return Served(f"http://127.0.0.1:{port}", app), srv, thread


@pytest.fixture
def server(settings):
    served_app, srv, thread = serve(settings)
    yield served_app
    srv.should_exit = True
    thread.join(5)
