"""Per-cycle work independent of history: the freshness check (every 300 s in `cbi serve`,
every `cbi status`) reads only recent row groups of the 1-minute table, not all of them."""

from __future__ import annotations

import datetime as dt
import json

from cbi.config import Settings
from cbi.ops import alerts

BARS = "market_data.databento_futures_ohlcv_1m"
NOW = dt.datetime(2026, 11, 27, 15, 0, tzinfo=dt.timezone.utc)


def _fill(wh, minutes: int) -> None:
    """`minutes` one-minute bars per root for ZL/ES/CL, ending at NOW, in time order (as a
    history import writes them)."""
    wh._cursor().execute(f"""
        INSERT INTO {BARS} (ts_event, root, symbol, instrument_id, open, high, low, close, volume,
                            trading_date, source, ingest_timestamp)
        SELECT ts, root, root || 'H7', 1, 50, 51, 49, 50, 1, CAST(ts AS DATE), 'databento', ts
        FROM (SELECT TIMESTAMPTZ '{NOW.isoformat()}' - to_minutes(i) AS ts FROM range({minutes}) t(i)),
             (SELECT unnest(['ZL', 'ES', 'CL']) AS root)
        ORDER BY ts""")


def _scans(wh, fn) -> dict[str, int]:
    cur = wh._cursor()
    path = f"{wh.path}.profile.json"
    cur.execute("PRAGMA enable_profiling = 'json'")
    cur.execute(f"PRAGMA profiling_output = '{path}'")
    try:
        fn()
    finally:
        cur.execute("PRAGMA disable_profiling")
    found: dict[str, int] = {"row_groups_scanned": 0, "total_row_groups_to_scan": 0, "rows_scanned": 0}

    def walk(node):
        if node.get("extra_info", {}).get("Table", "").endswith("databento_futures_ohlcv_1m"):
            for key in found:
                found[key] += int(node.get(key, 0))
        for child in node.get("children", []) + node.get("operator", []):
            walk(child)
    walk(json.load(open(path)))
    return found


def test_the_freshness_check_reads_only_recent_row_groups(wh):
    _fill(wh, 400_000)  # 1.2M bars, ~280 days of minutes per root
    assert wh.row_count(BARS) == 1_200_000
    settings = Settings(warehouse=wh.url, roots=["ZL", "ES", "CL"])
    now = NOW + dt.timedelta(minutes=5)
    report = {f.subject: f for f in alerts.freshness(wh, settings, now)}
    assert report["ZL"].last_at == NOW  # the answer is right
    scans = _scans(wh, lambda: wh.query_file("cbi.ops.sql", "bars_freshness.sql",
                                             {"since": now - alerts.FRESHNESS_WINDOW}))
    assert scans["total_row_groups_to_scan"] >= 9
    # 14 days of 3 x 1,440 minutes = ~60k rows: one or two row groups of ~122,880
    assert scans["row_groups_scanned"] <= 2 and scans["rows_scanned"] <= 3 * 122_880
