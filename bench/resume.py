"""Kill-and-resume (issue 17): `cbi ingest databento --start … --end …` over three roots,
SIGKILLed at random moments, then resumed the documented way (`--end` alone); the final
tables are compared row for row with an uninterrupted run's. Run:
.venv/bin/python -m bench.resume [kills] [seed]
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cbi.sandbox import databento_http
from cbi.sandbox.databento_data import SimClock
from cbi.warehouse import connect

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # the sandbox's clock (a Monday)
START, END = "2025-10-26", "2026-11-30"  # the range of the report
ROOTS = '["ZL","ES","CL"]'
TABLES = {"market_data.databento_futures_ohlcv_1m": "ts_event, symbol",
          "market_data.futures_ohlcv_1d": "date, symbol",
          "market_data.futures_continuous_1d": "date, root",
          "market_data.databento_settlements": "date, symbol"}
STAMPS = {"ingest_timestamp", "updated_at", "created_at"}


def cli(db: Path, gateway: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "CBI_WAREHOUSE": f"duckdb:///{db}", "CBI_SANDBOX": "true",
           "CBI_DATABENTO_GATEWAY": gateway, "CBI_ROOTS": ROOTS}
    cbi = Path(sys.executable).with_name("cbi")
    return subprocess.Popen([str(cbi), *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def run(db: Path, gateway: str, *args: str) -> float:
    began = time.monotonic()
    proc = cli(db, gateway, *args)
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"cbi {' '.join(args)} failed: {err.decode()[-500:]}")
    return time.monotonic() - began


def keys_and_rows(db: Path) -> dict[str, list[tuple]]:
    wh = connect(f"duckdb:///{db}", read_only=True)
    out = {}
    for table, key in TABLES.items():
        rows = wh.query(f"SELECT * FROM {table} ORDER BY {key}").to_pylist()
        out[table] = [tuple(v for k, v in r.items() if k not in STAMPS) for r in rows]
    wh.close()
    return out


def pending_backfills(db: Path) -> int | None:
    """Backfill requests and watermarks on record after the kill (0 or None: the command
    had not reached the warehouse yet, so nothing of the request could be remembered)."""
    try:
        wh = connect(f"duckdb:///{db}", read_only=True)
    except Exception:  # noqa: BLE001
        return None
    try:
        return int(wh.scalar("SELECT COUNT(*) FROM ops.feed_cursors WHERE feed = 'databento-backfill'")
                   + wh.scalar("SELECT COUNT(*) FROM ops.feed_cursors WHERE feed = 'databento'"))
    finally:
        wh.close()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    kills = int(argv[0]) if argv else 10
    rng = random.Random(int(argv[1]) if len(argv) > 1 else 17)
    server = databento_http.start(clock=SimClock(NOW, 0.0))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            warm = Path(tmp) / "warm.duckdb"  # the sandbox caches what it generates: warm it
            run(warm, server.url, "init")
            run(warm, server.url, "ingest", "databento", "--start", START, "--end", END)
            ref = Path(tmp) / "ref.duckdb"
            run(ref, server.url, "init")
            full = run(ref, server.url, "ingest", "databento", "--start", START, "--end", END)
            reference = keys_and_rows(ref)
            print(f"uninterrupted backfill: {full:.1f} s, "
                  + ", ".join(f"{t.split('.')[1]} {len(r)}" for t, r in reference.items()), flush=True)
            lost = dupes = wrong = 0
            recover, early = [], 0
            for i in range(kills):
                db = Path(tmp) / f"k{i}.duckdb"
                run(db, server.url, "init")
                at = rng.uniform(0.5, full)
                proc = cli(db, server.url, "ingest", "databento", "--start", START, "--end", END)
                time.sleep(at)
                killed = proc.poll() is None
                proc.send_signal(signal.SIGKILL)
                _, err = proc.communicate()
                if not killed and proc.returncode != 0:
                    print(f"kill {i + 1}: the command had failed by itself (exit {proc.returncode}): "
                          f"{err.decode().strip()[-300:]}", flush=True)
                recorded = pending_backfills(db)
                if not recorded and killed:  # killed before the request reached the warehouse
                    early += 1
                    print(f"kill {i + 1}: at {at:.2f} s, before the request was recorded (start-up, "
                          "cost quote): nothing to resume, a plain poll follows; not counted",
                          flush=True)
                    continue
                recover.append(run(db, server.url, "ingest", "databento", "--end", END))
                got = keys_and_rows(db)
                note = []
                for table, rows in reference.items():
                    mine = got[table]
                    missing, extra = set(rows) - set(mine), set(mine) - set(rows)
                    lost += len(missing)
                    dupes += len(mine) - len(set(mine))
                    wrong += len(extra)
                    if missing or extra:
                        note.append(f"{table}: {len(missing)} missing, {len(extra)} differing "
                                    f"e.g. {sorted(missing)[:1]} / {sorted(extra)[:1]}")
                print(f"kill {i + 1}: at {at:.2f} s ({'mid-run' if killed else 'after the end'}; "
                      f"cursors on record: {recorded}), resume {recover[-1]:.1f} s "
                      + "; ".join(note), flush=True)
            recover.sort()
            print(f"{kills} kills ({early} before the request was recorded, not counted): "
                  f"rows lost {lost}, duplicates {dupes}, rows differing {wrong}; time to recover "
                  f"median {recover[len(recover) // 2]:.1f} s, max {recover[-1]:.1f} s")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
