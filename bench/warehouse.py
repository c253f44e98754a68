"""Issue 2 benchmark: upsert 1M one-minute bars (half updates, half new) into a 5M-row table
through the warehouse API on DuckDB, against DuckDB's plain INSERT … SELECT * FROM
read_parquet(…) of the same rows, in the same run. Each measurement runs in a fresh
subprocess so its peak memory (ru_maxrss) is its own.

    .venv/bin/python -m bench.warehouse [--base 5000000] [--batch 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

TABLE = "market_data.databento_futures_ohlcv_1m"
SYMBOLS = ["ZLF5", "ZLH5", "ZLK5", "ZLN5", "ZLQ5", "ZLU5", "ZLV5", "ZLZ5", "ZLF6", "ZLH6"]


def bars(start_minute: int, n: int, price_shift: float = 0.0) -> pa.Table:
    """n bars: minute index i -> (ts, symbol) unique; deterministic prices."""
    idx = np.arange(start_minute, start_minute + n, dtype=np.int64)
    per_symbol = len(SYMBOLS)
    minute = idx // per_symbol
    ts = (np.int64(1_700_000_000) + minute * 60) * 1_000_000
    close = 40.0 + (idx % 1000) / 100.0 + price_shift
    return pa.table({
        "ts_event": pa.array(ts, pa.timestamp("us", tz="UTC")),
        "root": pa.array(["ZL"] * n),
        "symbol": pa.array(np.array(SYMBOLS)[idx % per_symbol]),
        "instrument_id": pa.array(idx % per_symbol + 1000),
        "open": close, "high": close + 0.05, "low": close - 0.05, "close": close,
        "volume": pa.array(idx % 50),
        "ingest_timestamp": pa.array(ts, pa.timestamp("us", tz="UTC")),
    })


def prepare(folder: Path, base_rows: int, batch_rows: int) -> None:
    pq.write_table(bars(0, base_rows), folder / "base.parquet")
    half = batch_rows // 2
    updates = bars(base_rows - half, half, price_shift=1.0)  # the last `half` keys exist
    new = bars(base_rows, batch_rows - half)
    pq.write_table(pa.concat_tables([updates, new]), folder / "batch.parquet")


def child(mode: str, folder: Path) -> dict:
    from cbi.warehouse import connect

    db = folder / f"{mode}-{time.monotonic_ns()}.duckdb"
    wh = connect(f"duckdb:///{db}")
    wh.init()
    cur = wh._cursor()
    cur.execute(f"INSERT INTO {TABLE} SELECT * FROM read_parquet('{folder / 'base.parquet'}')").fetchall()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    if mode == "plain":
        cur.execute(f"INSERT INTO {TABLE} SELECT * FROM read_parquet('{folder / 'batch.parquet'}')").fetchall()
    else:
        result = wh.merge(TABLE, pq.read_table(folder / "batch.parquet"))
        assert result.inserted + result.updated == result.rows_in, result
    seconds = time.perf_counter() - t0
    rows = wh.row_count(TABLE)
    wh.close()
    db.unlink()
    return {"mode": mode, "seconds": seconds, "rows_after": rows,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "rss_before_mb": rss_before / 1024}


def run_child(mode: str, folder: Path) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.warehouse", "--child", mode, str(folder)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", type=int, default=5_000_000)
    ap.add_argument("--batch", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", nargs=2)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], Path(args.child[1]))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        prepare(folder, args.base, args.batch)
        runs = {"plain": [], "merge": []}
        for _ in range(args.repeat):
            for mode in runs:
                runs[mode].append(run_child(mode, folder))
    med = {m: statistics.median(r["seconds"] for r in rs) for m, rs in runs.items()}
    rate = {m: args.batch / s for m, s in med.items()}
    peak = max(r["peak_rss_mb"] for r in runs["merge"])
    print(f"plain INSERT from Parquet: {rate['plain']:,.0f} rows/s (median {med['plain']:.2f} s)")
    print(f"warehouse merge (upsert):  {rate['merge']:,.0f} rows/s (median {med['merge']:.2f} s)")
    print(f"ratio merge/plain: {rate['merge'] / rate['plain']:.2f}; merge peak RSS {peak:.0f} MB")
    print(json.dumps(runs))


if __name__ == "__main__":
    main()
