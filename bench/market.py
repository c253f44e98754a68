"""Market data benchmark (issue 3): DBN -> decode -> validate -> MERGE into DuckDB vs the
client's decode alone; Live latency from the sandbox sending a bar to the row being queryable;
the demo's two-year backfill. Run: .venv/bin/python -m bench.market [records] [runs]
"""

from __future__ import annotations

import datetime as dt
import resource
import statistics
import sys
import tempfile
import threading
import time

import databento as db
import numpy as np

from cbi.config import Settings
from cbi.feeds import databento
from cbi.feeds.validate import check_bars
from cbi.sandbox import databento_data as data
from cbi.sandbox import databento_http, databento_live
from cbi.sandbox.databento_http import metadata
from cbi.warehouse import connect

UTC = dt.timezone.utc


def dbn_bytes(n: int) -> bytes:
    bars, symbols, d = [], {}, dt.date(2025, 1, 6)
    while sum(len(b) for b in bars) < n:
        if data.is_trading_date("ZL", d):
            for root in data.ROOTS:
                bars.append(data.session_bars(7, root, d))
                symbols.update(data.symbols_on(root, d))
        d += dt.timedelta(days=1)
    records = np.concatenate(bars)[:n]
    return metadata("ohlcv-1m", int(records["ts_event"][0]), int(records["ts_event"].max()) + 1,
                    list(data.ROOTS), symbols) + records.tobytes()


def pipeline(raw: bytes) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        wh = connect(f"duckdb:///{tmp}/b.duckdb")
        wh.init()
        began = time.perf_counter()
        meta, records = databento.decode_dbn(raw)
        rows = databento.to_arrow(records, databento.symbol_map(meta))
        check_bars(rows, "bench")
        wh.merge(databento.TABLE, rows)
        took = time.perf_counter() - began
        assert wh.row_count(databento.TABLE) == len(records)
        wh.close()
    return took


def decode_only(raw: bytes) -> float:
    began = time.perf_counter()
    db.DBNStore.from_bytes(raw).to_ndarray()
    return time.perf_counter() - began


def live_latency(seconds: float = 8.0) -> list[float]:
    """Sandbox clock at 60x: a minute's bars every second; latency = row visible - bar sent."""
    clock = data.SimClock(dt.datetime(2025, 3, 12, 15, 0, tzinfo=UTC), 60)
    http, live = databento_http.start(clock=clock), databento_live.start(clock=clock)
    with tempfile.TemporaryDirectory() as tmp:
        wh = connect(f"duckdb:///{tmp}/l.duckdb")
        wh.init()
        settings = Settings(sandbox=True, databento_gateway=http.url, roots=["ZL"],
                            databento_live_gateway=f"{live.host}:{live.port}",
                            databento_live_flush_s=0.25)
        stop = threading.Event()
        thread = threading.Thread(target=databento.run_live, args=(wh, settings, stop))
        thread.start()
        seen: dict[int, float] = {}
        end = time.time() + seconds
        while time.time() < end:
            newest = wh.scalar(f"SELECT MAX(ts_event) FROM {databento.TABLE}")
            if newest is not None:
                seen.setdefault(int(newest.timestamp() * 1e9), time.time())
            time.sleep(0.02)
        stop.set()
        thread.join(20)
        wh.close()
    http.stop()
    live.stop()
    sent = {}
    for wall, _, ts in live.state.sent:
        sent[ts] = max(sent.get(ts, 0.0), wall)  # the last bar of that minute
    return [seen[ts] - sent[ts] for ts in seen if ts in sent]


def demo_backfill() -> tuple[float, int]:
    http = databento_http.start()
    with tempfile.TemporaryDirectory() as tmp:
        wh = connect(f"duckdb:///{tmp}/d.duckdb")
        wh.init()
        began = time.perf_counter()
        result = databento.poll_job(wh, Settings(sandbox=True, databento_gateway=http.url),
                                    start=dt.datetime.now(UTC) - dt.timedelta(days=730))
        took = time.perf_counter() - began
        wh.close()
    http.stop()
    return took, result["rows_read"]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    raw = dbn_bytes(n)
    ours = [pipeline(raw) for _ in range(runs)]
    anchor = [decode_only(raw) for _ in range(runs)]
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    ours_m, anchor_m = statistics.median(ours), statistics.median(anchor)
    print(f"records: {n:,}; runs: {runs}")
    print(f"decode+validate+MERGE: {ours_m:.2f} s median = {n / ours_m:,.0f} records/s")
    print(f"anchor DBNStore.from_bytes().to_ndarray(): {anchor_m:.2f} s = {n / anchor_m:,.0f} records/s")
    print(f"ratio (ours / decode-only throughput): {anchor_m / ours_m:.2f}  (target >= 0.5)")
    print(f"peak RSS of the process: {peak_gb:.2f} GB (target < 1.5)")
    lat = live_latency()
    print(f"live latency: median {statistics.median(lat):.2f} s over {len(lat)} minutes (target < 2 s)")
    took, rows = demo_backfill()
    print(f"demo backfill, 2 years x {len(data.ROOTS)} roots: {took:.1f} s, {rows:,} bars read")


if __name__ == "__main__":
    main()
