"""Macro/news benchmarks (issue 4): `python -m bench.macro [--repeats 3]`.

1. FRED full-history ingest of one series with all vintages from the sandbox (DFF, daily from
   1990), into a fresh DuckDB file: rows/s. Anchor, measured in the same run: parsing the
   sandbox's JSON answer alone (so the ratio says what the warehouse and HTTP add).
Sentiment (speed and accuracy) has its own benchmark: `python -m bench.sentiment`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time

import httpx

from cbi.config import Settings
from cbi.feeds.fred import fred_job
from cbi.sandbox import fred as fred_sandbox
from cbi.warehouse import connect


def fred_ingest(server) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        wh = connect(f"duckdb:///{tmp}/bench.duckdb")
        wh.init()
        t = time.perf_counter()
        result = fred_job(wh, Settings(fred_base_url=server.url, sandbox=True, fred_series=["DFF"]))
        elapsed = time.perf_counter() - t
        wh.close()
    return elapsed, result["rows_read"]


def fred_anchor(server) -> float:
    params = {"series_id": "DFF", "api_key": fred_sandbox.SANDBOX_KEY, "file_type": "json",
              "realtime_start": "1776-07-04", "realtime_end": "9999-12-31"}
    t = time.perf_counter()
    httpx.get(f"{server.url}/fred/series/observations", params=params, timeout=60).json()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--since", default="1990-01-02", help="first observation date of the series")
    args = parser.parse_args()
    server = fred_sandbox.start(start=dt.date.fromisoformat(args.since))
    try:
        fred_anchor(server)  # warm the sandbox's cache of generated vintages
        runs = [fred_ingest(server) for _ in range(args.repeats)]
        anchors = [fred_anchor(server) for _ in range(args.repeats)]
    finally:
        server.stop()
    rows = runs[0][1]
    ingest_s, anchor_s = statistics.median(r[0] for r in runs), statistics.median(anchors)
    print(f"FRED DFF all vintages since {args.since}: {rows:,} rows, median {ingest_s:.2f} s "
          f"= {rows / ingest_s:,.0f} rows/s; anchor (HTTP+JSON only) {anchor_s:.2f} s "
          f"= {rows / anchor_s:,.0f} rows/s; ingest/anchor time ratio {ingest_s / anchor_s:.1f}x")


if __name__ == "__main__":
    main()
