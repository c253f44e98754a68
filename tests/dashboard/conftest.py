"""A warehouse filled with known forecasts, bars, closes, backtests, runs and cursors, and the
dashboard app over it. Everything is relative to a fixed clock (`NOW`)."""

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

UTC = dt.timezone.utc
NOW = dt.datetime(2025, 6, 10, 15, 0, tzinfo=UTC)
TODAY = NOW.date()
BARS = "market_data.databento_futures_ohlcv_1m"
CONTINUOUS = "market_data.futures_continuous_1d"
PRED = "predictions.zl_predictions_prod_allhistory_{h}"
BACKTEST = "predictions.zl_backtest_prod_allhistory_{h}"


def predictions(horizon: str, origins: list[dt.date], version: str, created: dt.datetime,
                base: float = 45.0) -> pa.Table:
    days = {"1w": 7, "1m": 30}.get(horizon, 90)
    rows = []
    for i, d in enumerate(origins):
        p = base + i * 0.1 + (0.5 if version == "v2" else 0.0)
        rows.append({"date": d, "horizon": horizon, "model_version": version, "model_name": "lgbm",
                     "target_date": d + dt.timedelta(days=days), "origin_close": base,
                     "predicted_value": p, "confidence_interval_lower": p - 2.0,
                     "confidence_interval_upper": p + 2.0, "interval_level": 0.9,
                     "created_at": created})
    return pa.Table.from_pylist(rows)


def bars(root: str, symbols: list[str], minutes: int, end: dt.datetime) -> pa.Table:
    rows = []
    for m in range(minutes):
        ts = end - dt.timedelta(minutes=minutes - 1 - m)
        for j, sym in enumerate(symbols):
            close = 45.0 + m * 0.01 + j
            rows.append({"ts_event": ts, "root": root, "symbol": sym, "instrument_id": 100 + j,
                         "open": close, "high": close + 0.05, "low": close - 0.05, "close": close,
                         "volume": 10 * (j + 1) + m})
    return pa.Table.from_pylist(rows)


def continuous(root: str, days: int, end: dt.date) -> pa.Table:
    rows = []
    for i in range(days):
        d = end - dt.timedelta(days=days - 1 - i)
        close = 40.0 + 5 * math.sin(i / 20)
        rows.append({"date": d, "root": root, "contract_symbol": f"{root}N5", "close": close,
                     "volume": 1000, "return_1d": 0.0, "index_close": close * 1.1, "is_roll": False})
    return pa.Table.from_pylist(rows)


def backtest(horizon: str, version: str, n: int, created: dt.datetime) -> pa.Table:
    rows = []
    for i in range(n):
        d = dt.date(2024, 1, 1) + dt.timedelta(days=i)
        origin = 40.0 + (i % 7)
        actual = origin + (1.0 if i % 2 else -1.0)
        pred = origin + (0.5 if i % 3 else -0.5)
        rows.append({"date": d, "horizon": horizon, "model_version": version, "model_name": "lgbm",
                     "target_date": d + dt.timedelta(days=30), "origin_close": origin,
                     "predicted_value": pred, "confidence_interval_lower": pred - 1.2,
                     "confidence_interval_upper": pred + 1.2, "interval_level": 0.9,
                     "actual_value": actual, "created_at": created})
    return pa.Table.from_pylist(rows)


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
        {"feed": "databento", "cursor_key": "CL", "watermark": NOW - dt.timedelta(hours=5),
         "updated_at": NOW},
        {"feed": "fred", "cursor_key": "DFF", "watermark": NOW - dt.timedelta(days=1),
         "updated_at": NOW},
    ])
    return runs, cursors


#: Origin dates of the 1m forecasts: 25 recent days (inside the 30-day window) and two old.
RECENT = [TODAY - dt.timedelta(days=d) for d in range(25, 0, -1)]
OLD = [TODAY - dt.timedelta(days=d) for d in (45, 31)]


def fill(wh, with_1w: bool = True) -> None:
    """One MERGE per table (each costs seconds on the BigQuery emulator)."""
    early, late = NOW - dt.timedelta(days=40), NOW - dt.timedelta(hours=6)
    wh.merge(PRED.format(h="1m"), pa.concat_tables([
        predictions("1m", OLD + RECENT, "v1", early),
        predictions("1m", RECENT[-5:], "v2", late)]))  # a retrain: the later rows win
    if with_1w:
        wh.merge(PRED.format(h="1w"), predictions("1w", RECENT[-3:], "v2", late, base=50.0))
    wh.merge(BARS, pa.concat_tables([
        bars("ZL", ["ZLN5", "ZLQ5", "ZLN5-ZLQ5"], 10, NOW - dt.timedelta(minutes=1)),
        bars("CL", ["CLN5"], 3, NOW - dt.timedelta(minutes=1))]))
    wh.merge(CONTINUOUS, pa.concat_tables([
        continuous("ZL", 500, TODAY - dt.timedelta(days=1)),
        continuous("ES", 10, TODAY - dt.timedelta(days=1))]))
    wh.merge(BACKTEST.format(h="1m"), pa.concat_tables([
        backtest("1m", "v1", 60, early), backtest("1m", "v2", 60, late)]))
    runs, cursors = ops_rows()
    wh.merge("ops.pipeline_runs", runs)
    wh.merge("ops.feed_cursors", cursors)


@pytest.fixture(scope="session")
def filled_template(tmp_path_factory) -> Path:
    """The filled DuckDB file, built once; each test gets a copy."""
    from cbi.warehouse import connect

    path = tmp_path_factory.mktemp("dashboard") / "filled.duckdb"
    with connect(f"duckdb:///{path}") as wh:
        wh.init()
        fill(wh)
    return path


@pytest.fixture
def filled_url(filled_template, tmp_path) -> str:
    """A DuckDB file filled with the rows above, closed again (the app opens it read-only)."""
    path = tmp_path / "cbi.duckdb"
    shutil.copyfile(filled_template, path)
    return f"duckdb:///{path}"


@pytest.fixture
def settings(filled_url, tmp_path):
    from cbi.config import Settings

    return Settings(warehouse=filled_url, models_dir=tmp_path / "models")  # an empty registry


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


@pytest.fixture
def server(settings):
    """The app under uvicorn on 127.0.0.1 and a free port, in a thread of this process."""
    import uvicorn

    from cbi.dashboard.app import create_app

    port = free_port()
    config = uvicorn.Config(create_app(settings, clock=lambda: NOW), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="on")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(5)
