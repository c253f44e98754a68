"""Dashboard API under load on loopback: each data route cached and uncached, the uncached
live panel, and the trivial /health of the same app, 32 connections, with Debian's `wrk`
(apt-get install wrk).

    .venv/bin/python -m bench.dashboard [--seconds 5] [--runs 3] [--routes a,b]

Two uvicorn processes (one worker each) read one DuckDB file read-only: one with the TTL cache
(cache_seconds=300), one with it off (cache_seconds=0, every request queries DuckDB).
Targets (issue 7): cached >= 0.8 x /health req/s; uncached >= 500 req/s; p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pyarrow as pa


def make_app():
    """uvicorn --factory entry: the dashboard over the settings in the environment."""
    from cbi.config import get_settings
    from cbi.dashboard.app import create_app

    return create_app(get_settings())


HORIZONS = {"1w": 7, "1m": 30, "3m": 91, "6m": 182, "12m": 365}
ROUTES = ["/api/headline", "/api/forecast/1m", "/api/track-record/1m", "/api/metrics",
          "/api/history?root=ZL&days=365", "/api/live-data?root=ZL", "/api/status"]
UNCACHED_ONLY = ["/api/live/panel?root=ZL"]  # no-store by design: what the stream sends


def build_warehouse(path: Path) -> str:
    """A year of daily forecasts per horizon (served + tree rows, two versions), 16 years of
    served walk-forward rows per horizon, the model report, two years of daily closes and
    four days of 1-minute bars of four contracts, in a fresh DuckDB file."""
    from cbi.warehouse import connect

    url = f"duckdb:///{path}"
    now = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)
    today = now.date()
    with connect(url) as wh:
        wh.init()
        for h, days in HORIZONS.items():
            rows = [{"date": today - dt.timedelta(days=d), "horizon": h, "model_version": f"{name}-{v}",
                     "model_name": name, "served_by": "tree" if name == "served" else None,
                     "target_date": today + dt.timedelta(days=days - d), "origin_close": 45.0,
                     "predicted_value": 45.0 + d / 100, "confidence_interval_lower": 43.0,
                     "confidence_interval_upper": 47.0 + d / 100, "interval_level": 0.9,
                     "created_at": now} for d in range(365) for v in ("v1", "v2")
                    for name in ("served", "tree")]
            wh.merge(f"predictions.zl_predictions_prod_allhistory_{h}", pa.Table.from_pylist(rows))
            back = [{"date": dt.date(2005, 1, 3) + dt.timedelta(days=d), "horizon": h,
                     "model_version": "served-v2", "model_name": "served", "served_by": "tree",
                     "target_date": dt.date(2005, 1, 3) + dt.timedelta(days=d + days),
                     "origin_close": 40.0, "predicted_value": 40.0 + (d % 7) / 10,
                     "confidence_interval_lower": 38.0, "confidence_interval_upper": 42.0,
                     "interval_level": 0.9, "actual_value": 37.5 + (d % 11) / 2, "created_at": now}
                    for d in range(0, 16 * 365, 365 // 252 + 0) if d % 7 < 5]
            wh.merge(f"predictions.zl_backtest_prod_allhistory_{h}", pa.Table.from_pylist(back))
        wh.merge("predictions.model_report", pa.Table.from_pylist([
            {"surface": "prod", "horizon": h, "forecaster": f, "model_version": "v2", "rows": 4000,
             "periods": 400, "mase": 1.0, "dm_pvalue": 0.3, "coverage": 0.9, "coverage_worst_year": 0.82,
             "worst_year": 2008, "winkler_rel_rw": 0.99, "created_at": now}
            for h in HORIZONS for f in ("served", "tree", "neural", "random_walk", "drift")]))
        wh.merge("market_data.futures_continuous_1d", pa.Table.from_pylist([
            {"date": today - dt.timedelta(days=d), "root": "ZL", "contract_symbol": "ZLZ5",
             "close": 45.0 + d / 100, "index_close": 45.0, "source": "databento"} for d in range(730)]))
        wh.merge("market_data.databento_futures_ohlcv_1m", pa.Table.from_pylist([
            {"ts_event": now - dt.timedelta(minutes=m), "root": "ZL", "symbol": s, "close": 45.0 + m / 1000,
             "volume": 10 + j, "source": "databento", "ingest_timestamp": now - dt.timedelta(minutes=m)}
            for m in range(4 * 1380) for j, s in enumerate(("ZLF6", "ZLH6", "ZLK6", "ZLN6"))]))
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, cache_seconds: int, folder: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "CBI_WAREHOUSE": url, "CBI_CACHE_SECONDS": str(cache_seconds),
           "CBI_CONFIG": str(folder / "none.toml")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.dashboard:make_app", "--factory", "--host",
         "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"], env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(base + "/health").status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"server on {base} did not start")


def wrk(url: str, seconds: int) -> tuple[float, float]:
    """(requests/s, p99 ms) from one bounded wrk run: 1 thread, 32 connections."""
    out = subprocess.run(["wrk", "-t1", "-c32", f"-d{seconds}s", "--timeout", "10s", "--latency",
                          "-H", "Accept-Encoding: gzip", url],
                         capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"{url}: non-2xx answers\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()
    return rps, float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="duration of each wrk run")
    parser.add_argument("--runs", type=int, default=3, help="runs per case (medians reported)")
    parser.add_argument("--routes", default=",".join(ROUTES + UNCACHED_ONLY),
                        help="comma-separated routes to load (default: all)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install -y wrk")
    folder = Path(tempfile.mkdtemp(prefix="cbi-bench-dashboard-"))
    url = build_warehouse(folder / "cbi.duckdb")
    cached, cached_base = start_server(url, 300, folder)
    uncached, uncached_base = start_server(url, 0, folder)
    cases = {"/health": cached_base + "/health"}
    for route in args.routes.split(","):
        if route not in UNCACHED_ONLY:
            cases[f"{route} cached"] = cached_base + route
        cases[f"{route} uncached"] = uncached_base + route
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
    for target in cases.values():  # warm up: fill the cache, load sqlglot/DuckDB paths
        httpx.get(target).raise_for_status()
    try:
        for _ in range(args.runs):  # interleaved, so drift in the shared machine hits all cases
            for name, target in cases.items():
                results[name].append(wrk(target, args.seconds))
    finally:
        for proc in (cached, uncached):
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(folder, ignore_errors=True)
    report(results, args)


def report(results: dict[str, list[tuple[float, float]]], args: argparse.Namespace) -> None:
    med = {n: (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
           for n, runs in results.items()}
    health = med["/health"][0]
    load = os.getloadavg()[0]
    print(f"wrk -t1 -c32 -d{args.seconds}s, {args.runs} runs each, medians "
          f"({dt.date.today()}, {os.cpu_count()} cores, load average {load:.1f} at the end)")
    print("| route | req/s | p99 ms | ratio to /health | runs (req/s) |")
    print("|---|---|---|---|---|")
    for name, (rps, p99) in med.items():
        runs = ", ".join(f"{r[0]:.0f}" for r in results[name])
        print(f"| {name} | {rps:.0f} | {p99:.1f} | {rps / health:.2f} | {runs} |")


if __name__ == "__main__":
    main()
