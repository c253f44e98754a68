"""Features benchmark (issue 5): `python -m bench.features [--symbols N] [--runs 3]`.

1. Full rebuild (`features_job(full=True)`: features for every root + 10 training tables) of
   3 roots x 20 years, against TA-Lib computing the same RSI and MACD in Python, same run.
2. Scale: the feature SQL alone over N symbols x 20 years (default 200 = 1M rows; the
   issue's 5,000 = 25M rows with --symbols 5000), against TA-Lib over the same closes.
3. Export of one training table, against DuckDB's own COPY ... TO parquet of the same rows.
Synthetic random walks (seeded); a temp DuckDB file. Medians of --runs.
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

DAYS = 5040  # 20 years of trading days


def walks(symbols: list[str], days: int = DAYS, seed: int = 1) -> pa.Table:
    rng = np.random.default_rng(seed)
    dates = np.arange(np.datetime64("2004-01-05"), np.datetime64("2004-01-05") + days * 7 // 5 + 10)
    dates = dates[np.is_busday(dates)][:days]
    n = len(symbols) * days
    returns = rng.normal(0, 0.015, (len(symbols), days))
    returns[:, 0] = np.nan
    index = 50 * np.exp(np.nancumsum(returns, axis=1))
    now = dt.datetime.now(dt.timezone.utc)
    return pa.table({
        "date": pa.array(np.tile(dates, len(symbols))), "root": np.repeat(symbols, days),
        "contract_symbol": np.repeat(symbols, days), "close": index.ravel(),
        "volume": pa.array(np.full(n, 100), pa.int64()),
        "return_1d": pa.array(returns.ravel(), from_pandas=True), "index_close": index.ravel(),
        "is_roll": pa.array(np.zeros(n, bool)),
        "updated_at": pa.array([now] * n, pa.timestamp("us", tz="UTC")),
    })


def median_time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def talib_time(data: pa.Table, symbols: int, runs: int) -> float:
    import talib

    closes = data["index_close"].to_numpy().reshape(symbols, -1)

    def run():
        for row in closes:
            talib.RSI(row, 14)
            talib.MACD(row, 12, 26, 9)
    return median_time(run, runs)


def warehouse(tmp: Path, data: pa.Table):
    from cbi.warehouse import connect

    wh = connect(f"duckdb:///{tmp}/bench.duckdb")
    wh.init()
    wh.merge("market_data.futures_continuous_1d", data)
    return wh


def full_rebuild(tmp: Path, runs: int) -> None:
    from cbi.config import get_settings
    from cbi.transform.features import features_job

    data = walks(["ZL", "ES", "CL"])
    wh = warehouse(tmp / "three", data)
    sql = median_time(lambda: features_job(wh, get_settings(), full=True), runs)
    ref = talib_time(data, 3, runs)
    print(f"full rebuild 3 roots x 20y ({data.num_rows:,} rows, + 10 training tables): "
          f"{sql:.2f} s; TA-Lib RSI+MACD {ref * 1000:.1f} ms; ratio {sql / ref:,.0f}x")
    export(wh, tmp, runs)
    wh.close()


def scale(tmp: Path, symbols: int, runs: int) -> None:
    from cbi.transform.features import build_rows

    names = [f"S{i:04d}" for i in range(symbols)]
    data = walks(names)
    wh = warehouse(tmp / "scale", data)
    now = dt.datetime.now(dt.timezone.utc)
    lo, hi = dt.date(1, 1, 1), dt.date(9999, 12, 31)
    sql = median_time(lambda: build_rows(wh, lo, hi, "bench", now), runs)
    ref = talib_time(data, symbols, runs)
    print(f"scale {symbols:,} symbols x 20y ({data.num_rows:,} rows), feature SQL: {sql:.2f} s; "
          f"TA-Lib RSI+MACD {ref:.2f} s; ratio {sql / ref:.1f}x")
    wh.close()


def export(wh, tmp: Path, runs: int) -> None:
    from cbi.export import export_table

    table = "training.zl_training_full_allhistory_12m"
    path = tmp / "export.parquet"
    ours = median_time(lambda: (path.unlink(missing_ok=True), export_table(wh, table, path)), runs)
    copy = tmp / "copy.parquet"
    con = wh._cursor()
    sql = (f"COPY (SELECT * FROM {table} WHERE created_at > TIMESTAMP '1970-01-01' ORDER BY date, symbol)"
           f" TO '{copy}' (FORMAT parquet, COMPRESSION zstd)")
    theirs = median_time(lambda: con.execute(sql), runs)
    print(f"export {table} ({wh.row_count(table):,} rows): {ours * 1000:.1f} ms; DuckDB COPY "
          f"{theirs * 1000:.1f} ms; ratio COPY/export {theirs / ours:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=200, help="scale case symbols (issue: 5000)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        full_rebuild(Path(tmp), args.runs)
        scale(Path(tmp), args.symbols, args.runs)


if __name__ == "__main__":
    main()
