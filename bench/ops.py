"""Issue 8 benchmark: what operations add to each job, and the demo's batch time.

1. run-log overhead: a job that does nothing, through `run_job` (run row before and after,
   cost flush, alert check) on DuckDB; anchor: one 1-row `wh.merge` in the same run.
2. job API round trip: the same job sent to an in-process owner over HTTP with the token
   and its log stream; anchor: `run_job` called directly.
3. staleness check (freshness of 3 roots over 100k bars + the CME calendar).
4. `cbi demo --no-serve` batch part on the sandbox (target: under 3 minutes), once.

    .venv/bin/python -m bench.ops [--runs 50] [--repeat 3] [--no-demo]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from cbi.config import Settings

EXTRA = {"noop": "bench.ops:noop_job"}


def noop_job(wh, settings, **_):
    return {"rows_read": 0, "rows_written": 0}


def _timed(fn, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def _bars(n: int) -> pa.Table:
    ts = (np.int64(1_700_000_000) + np.arange(n, dtype=np.int64) * 60) * 1_000_000
    roots = np.array(["ZL", "ES", "CL"])[np.arange(n) % 3]
    return pa.table({"ts_event": pa.array(ts, pa.timestamp("us", tz="UTC")), "root": roots,
                     "symbol": [f"{r}H4" for r in roots], "instrument_id": np.arange(n) % 3,
                     "open": np.full(n, 50.0), "high": np.full(n, 51.0), "low": np.full(n, 49.0),
                     "close": np.full(n, 50.5), "volume": np.full(n, 3)})


def measure(folder: Path, runs: int) -> dict[str, float]:
    from cbi.ops.alerts import check_staleness
    from cbi.ops.owner import OwnerService, find_owner, submit
    from cbi.ops.runs import run_job
    from cbi.warehouse import connect

    settings = Settings(warehouse=f"duckdb:///{folder}/cbi-{time.monotonic_ns()}.duckdb",
                        extra_jobs=EXTRA)
    wh = connect(settings=settings)
    wh.init()
    one = _bars(1)
    out = {"merge_1_row": _timed(lambda: wh.merge("market_data.databento_futures_ohlcv_1m", one), runs),
           "run_job_noop": _timed(lambda: run_job(wh, settings, "noop"), runs)}
    service = OwnerService(settings, run=lambda job, o: run_job(wh, settings, job, **o), reads={}).start()
    try:
        owner = find_owner(settings)
        out["api_noop"] = _timed(lambda: submit(owner, "noop", {}, lambda line: None), runs)
    finally:
        service.stop()
    wh.merge("market_data.databento_futures_ohlcv_1m", _bars(100_000))
    monday = dt.datetime(2024, 3, 11, 16, 0, tzinfo=dt.timezone.utc)
    out["stale_check"] = _timed(lambda: check_staleness(wh, settings, monday), max(5, runs // 5))
    wh.close()
    return out


def demo_seconds(folder: Path) -> float:
    from cbi.ops.demo import run_demo

    t0 = time.perf_counter()
    report = run_demo(folder / "demo", serve=False, echo=lambda line: None)
    seconds = time.perf_counter() - t0
    print("demo steps:", [(s["job"], s["status"], s["seconds"]) for s in report.steps])
    return seconds if report.ok else float("nan")


def main() -> None:
    import logging

    logging.getLogger("cbi.ops.alerts").setLevel(logging.ERROR)  # the stale check alerts on purpose
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-demo", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        samples = [measure(Path(tmp), args.runs) for _ in range(args.repeat)]
        med = {k: statistics.median(s[k] for s in samples) for k in samples[0]}
        print(f"run_job overhead: {med['run_job_noop'] * 1e3:.1f} ms per job; anchor 1-row merge "
              f"{med['merge_1_row'] * 1e3:.1f} ms ({med['run_job_noop'] / med['merge_1_row']:.1f}x)")
        print(f"job API round trip: {med['api_noop'] * 1e3:.1f} ms; anchor direct run_job "
              f"{med['run_job_noop'] * 1e3:.1f} ms ({med['api_noop'] / med['run_job_noop']:.2f}x)")
        print(f"staleness check over 100k bars: {med['stale_check'] * 1e3:.1f} ms")
        if not args.no_demo:
            print(f"cbi demo --no-serve batch part: {demo_seconds(Path(tmp)):.0f} s (target < 180 s)")


if __name__ == "__main__":
    main()
