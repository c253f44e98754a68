"""Issue 19 benchmark: per-cycle steps and bulk imports on warehouses of 1M, 10M (and 40M) bars.

For each size: a Parquet file of one-minute bars (3 roots, quarterly contracts, minutes of
weekdays back from 2026-11-27) is imported with `cbi ingest bars`; then, each in a fresh
`cbi` process (seconds and peak RSS of that process): the first command after the import
(`cbi init`, which touches no bars) and the same command on the settled warehouse,
`cbi status` (the freshness check), appending one minute and one day of bars with
`cbi ingest bars`, and an incremental `cbi features build`. The settled command and `cbi
status` run `--runs` times (median). Only the CLI is used, so the same script measures an
older checkout too (`--src PATH` puts that checkout's `src` first); the minute table's row
groups after the import are read from the file.

    .venv/bin/python -m bench.scale [--sizes 1000000 10000000] [--src /tmp/old/src] [--label after]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOTS = {"ZL": 45.0, "ES": 5000.0, "CL": 75.0}
END = np.datetime64("2026-11-27T21:00", "m")  # a Friday, after every close
CHUNK = 1_000_000
RUN = ("import runpy, sys, time; t = time.perf_counter(); sys.argv = ['cbi'] + sys.argv[1:]\n"
       "try:\n    runpy.run_module('cbi.cli', run_name='__main__')\nexcept SystemExit as e:\n"
       "    code = e.code\nelse:\n    code = 0\n"
       # VmHWM, not ru_maxrss: Linux carries the parent's high-water mark across fork and exec
       "hwm = [int(x.split()[1]) for x in open('/proc/self/status') if x.startswith('VmHWM')][0]\n"
       # CPU seconds too: on a shared machine they move far less than wall seconds
       "import resource; r = resource.getrusage(resource.RUSAGE_SELF)\n"
       "print('BENCH', time.perf_counter() - t, hwm, code, r.ru_utime + r.ru_stime, file=sys.stderr)")


def minute_stamps(n: int, end: np.datetime64) -> np.ndarray:
    """n weekday minutes (23 h a day) ending at `end`, oldest first."""
    out, day = [], end.astype("datetime64[D]")
    while sum(len(x) for x in out) < n:
        if (day.astype("datetime64[D]").view("int64") - 4) % 7 < 5:  # 1970-01-05 was a Monday
            start = day.astype("datetime64[m]") + np.timedelta64(60, "m")
            out.append(start + np.arange(23 * 60))
        day -= np.timedelta64(1, "D")
    return np.concatenate(out[::-1])[-n:]


def contract(root: str, ts: np.ndarray) -> np.ndarray:
    """The quarterly contract a minute trades: H/M/U/Z of the next quarter end."""
    months = ts.astype("datetime64[M]").astype(int)
    quarter = (months // 3 + 1) * 3 + 2  # the last month of the next quarter
    year, month = quarter // 12 + 1970, quarter % 12 + 1
    codes = np.array(list("FGHJKMNQUVXZ"))[month - 1]
    return np.char.add(np.char.add(root, codes), (year % 10).astype(str))


def write_bars(path: Path, n: int, end: np.datetime64 = END) -> None:
    """n bars (n / 3 minutes x 3 roots) as Parquet, written in chunks, in time order."""
    stamps = minute_stamps(max(1, n // len(ROOTS)), end)
    with pq.ParquetWriter(path, pa.schema([
            ("ts_event", pa.timestamp("us", tz="UTC")), ("symbol", pa.string()),
            ("open", pa.float64()), ("high", pa.float64()), ("low", pa.float64()),
            ("close", pa.float64()), ("volume", pa.int64())])) as writer:
        for lo in range(0, len(stamps), CHUNK // len(ROOTS)):
            ts = stamps[lo:lo + CHUNK // len(ROOTS)]
            parts = []
            for root, base in ROOTS.items():
                wave = base * (1 + 0.1 * np.sin(ts.astype("int64") / 50_000.0))
                parts.append(pa.table({
                    "ts_event": pa.array(ts.astype("datetime64[us]"), pa.timestamp("us", tz="UTC")),
                    "symbol": contract(root, ts), "open": wave, "high": wave * 1.001,
                    "low": wave * 0.999, "close": wave, "volume": np.ones(len(ts), np.int64)}))
            writer.write_table(pa.concat_tables(parts).sort_by("ts_event"))


def cbi(url: str, src: str | None, *args: str,
        ok: tuple[str, ...] = ("0", "None")) -> tuple[float, float, float]:
    """(seconds, peak RSS in MB, CPU seconds) of one `cbi` command in a fresh process."""
    env = {**os.environ, "CBI_WAREHOUSE": url, "CBI_SANDBOX": "false"}
    if src:
        env["PYTHONPATH"] = src
    proc = subprocess.run([sys.executable, "-c", RUN, *args], env=env, capture_output=True, text=True)
    line = [x for x in proc.stderr.splitlines() if x.startswith("BENCH ")][-1].split()
    if line[3] not in ok:
        raise SystemExit(f"cbi {' '.join(args)} failed: {proc.stdout[-500:]} {proc.stderr[-1500:]}")
    return float(line[1]), int(line[2]) / 1024, float(line[4])


def median_of(runs: int, step) -> tuple[float, ...]:
    """Each figure's median over `runs` runs of a step (the machine is shared)."""
    got = [step() for _ in range(runs)]
    return tuple(statistics.median(g[i] for g in got) for i in range(len(got[0])))


def row_groups(path: Path) -> tuple[float, float]:
    """(row groups, under-filled ones but the last) of the minute table, read from the file."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        counts = [n for _, n in con.execute(
            "SELECT row_group_id, MAX(count) FROM pragma_storage_info("
            "'market_data.databento_futures_ohlcv_1m') GROUP BY 1 ORDER BY 1").fetchall()]
    finally:
        con.close()
    return float(len(counts)), float(sum(1 for n in counts[:-1] if n < 122_880))


def run_size(n: int, src: str | None, work: Path, runs: int = 3) -> dict[str, tuple[float, float]]:
    history, minute, day = work / f"history-{n}.parquet", work / "minute.parquet", work / "day.parquet"
    write_bars(history, n)
    write_bars(minute, 3, END + np.timedelta64(60 * 24 * 3 + 1, "m"))  # Monday
    write_bars(day, 3 * 23 * 60, END + np.timedelta64(60 * 24 * 4, "m"))  # Tuesday
    url = f"duckdb:///{work}/w{n}.duckdb"
    out = {"init (empty)": cbi(url, src, "init")}
    start = time.perf_counter()
    out["bulk import"] = cbi(url, src, "ingest", "bars", str(history))
    out["import rows/s"] = (n / (time.perf_counter() - start), 0.0)
    out["row groups / under-filled after import"] = row_groups(work / f"w{n}.duckdb")
    out["first command after import (init)"] = cbi(url, src, "init")
    out["same command, settled (init)"] = median_of(runs, lambda: cbi(url, src, "init"))
    out["features build (first)"] = cbi(url, src, "features", "build")
    out["status (freshness)"] = median_of(  # exit 1: stale is an answer
        runs, lambda: cbi(url, src, "status", ok=("0", "1")))
    out["append a minute"] = cbi(url, src, "ingest", "bars", str(minute))
    out["append a day"] = cbi(url, src, "ingest", "bars", str(day))
    out["features build (incremental)"] = cbi(url, src, "features", "build")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--src", help="a checkout's src folder to measure instead")
    parser.add_argument("--label", default="this checkout")
    parser.add_argument("--runs", type=int, default=3, help="runs of the repeatable steps (median)")
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory(prefix="cbi-scale-") as tmp:
        for n in args.sizes:
            results[n] = run_size(n, args.src, Path(tmp), args.runs)
            print(json.dumps({"label": args.label, "size": n, **results[n]}), flush=True)
    steps = list(next(iter(results.values())))
    print(f"\n{args.label}: seconds (CPU seconds) / peak RSS MB per step")
    print("| step | " + " | ".join(f"{n:,}" for n in results) + " |")
    print("|---|" + "---|" * len(results))
    for step in steps:
        cells = [f"{results[n][step][0]:,.0f}" if "rows/s" in step else
                 "{:.0f} / {:.0f}".format(*results[n][step]) if "row groups" in step else
                 "{:.2f} s ({:.2f}) / {:,.0f} MB".format(results[n][step][0], results[n][step][2],
                                                         results[n][step][1]) for n in results]
        print(f"| {step} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
