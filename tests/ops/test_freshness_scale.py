"""Per-cycle work independent of history: the freshness check (every 300 s in `cbi serve`,
every `cbi status`) reads only recent row groups of the 1-minute table, not all of them, and
`cbi status` reads them once (one query serves the staleness rule and the report)."""

from __future__ import annotations

import datetime as dt
import json

from cbi.config import Settings
from cbi.ops import alerts, status

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


def _profile(wh, path: str) -> list[dict[str, int]]:
    """Per statement profiled into `path`: what its scans of the 1-minute table read."""
    found: dict[str, int] = {"row_groups_scanned": 0, "total_row_groups_to_scan": 0, "rows_scanned": 0}
    seen = [False]

    def walk(node):
        if node.get("extra_info", {}).get("Table", "").endswith("databento_futures_ohlcv_1m"):
            seen[0] = True
            for key in found:
                found[key] += int(node.get(key, 0))
        for child in node.get("children", []) + node.get("operator", []):
            walk(child)
    walk(json.load(open(path)))
    return [found] if seen[0] else []


def _scans(wh, fn) -> list[dict[str, int]]:
    """Run `fn` with DuckDB's profiler on: one entry per statement that read minute bars.
    The profile file holds only the last statement, so each statement is read as it ends."""
    cur = wh._cursor()
    path = f"{wh.path}.profile.json"
    scans: list[dict[str, int]] = []
    run, run_rows = wh._run, wh._run_rows

    def profiled(inner):
        def call(*args, **kwargs):
            result = inner(*args, **kwargs)
            scans.extend(_profile(wh, path))
            return result
        return call
    cur.execute("PRAGMA enable_profiling = 'json'")
    cur.execute(f"PRAGMA profiling_output = '{path}'")
    wh._run, wh._run_rows = profiled(run), profiled(run_rows)
    try:
        fn()
    finally:
        wh._run, wh._run_rows = run, run_rows
        cur.execute("PRAGMA disable_profiling")
    return scans


def _bounded(scan: dict[str, int]) -> bool:
    # 14 days of 3 x 1,440 minutes = ~60k rows: one or two row groups of ~122,880
    return scan["row_groups_scanned"] <= 2 and scan["rows_scanned"] <= 3 * 122_880


def test_the_freshness_check_reads_only_recent_row_groups(wh):
    _fill(wh, 400_000)  # 1.2M bars, ~280 days of minutes per root
    assert wh.row_count(BARS) == 1_200_000
    settings = Settings(warehouse=wh.url, roots=["ZL", "ES", "CL"])
    now = NOW + dt.timedelta(minutes=5)
    report = {f.subject: f for f in alerts.freshness(wh, settings, now)}
    assert report["ZL"].last_at == NOW and report["ZL"].written_at == NOW  # the answer is right
    (scan,) = _scans(wh, lambda: alerts.freshness(wh, settings, now))
    assert scan["total_row_groups_to_scan"] >= 9 and _bounded(scan)


def test_cbi_status_reads_the_minute_bars_once_and_only_recent_ones(wh):
    """The staleness rule and the observed/written times came from two queries; one serves
    both now, so `cbi status` (and `--alert`) scans the 1-minute table once, bounded."""
    _fill(wh, 400_000)
    settings = Settings(warehouse=wh.url, roots=["ZL", "ES", "CL"])
    now = NOW + dt.timedelta(minutes=5)
    for raise_alerts in (False, True):
        reports = []
        scans = _scans(wh, lambda: reports.append(status.status_report(
            wh, settings, now, raise_alerts=raise_alerts)))
        assert len(scans) == 1 and _bounded(scans[0]), scans
        zl = {f["subject"]: f for f in reports[0]["freshness"]}["ZL"]
        assert zl["observed_at"] == zl["last_at"] == NOW and zl["observed_age_s"] == 300.0
        assert zl["written_at"] == NOW and not zl["stale"]
