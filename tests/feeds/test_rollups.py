"""Derived tables follow their inputs: `cbi ingest bars` killed between the 1-minute MERGE
and the daily roll-up leaves a marker; `cbi verify --data` fails on it, and the next import
finishes the roll-up, giving the tables a clean import gives."""

from __future__ import annotations

import signal
import subprocess
import sys

from typer.testing import CliRunner

from cbi.config import reset_settings_cache
from cbi.feeds import rollups
from cbi.quality import market_gates
from cbi.warehouse import connect

MINUTES = "market_data.databento_futures_ohlcv_1m"
DAILY = "market_data.futures_ohlcv_1d"
SERIES = "market_data.futures_continuous_1d"

KILLED_IMPORT = """
import os, signal, sys
from pathlib import Path
from cbi.transform import market
from cbi.warehouse import connect
from cbi.feeds.bars_files import import_bars
def die(*args, **kwargs):  # the fault hook: killed right after the minute MERGE
    os.kill(os.getpid(), signal.SIGKILL)
market.refresh_after_bars = die
wh = connect(sys.argv[1]); wh.init()
import_bars(wh, [Path(sys.argv[2])])
"""


def _minute_file(path):
    lines = ["ts_event,symbol,open,high,low,close,volume"]
    for day in (11, 12):  # two trading dates of ZLK5 (Tuesday and Wednesday sessions)
        for minute in range(30):
            price = 45 + minute * 0.01
            lines.append(f"2025-03-{day}T15:{minute:02d}:00Z,ZLK5,{price},{price + 0.02},"
                         f"{price - 0.02},{price + 0.01},{minute + 1}")
    path.write_text("\n".join(lines) + "\n")
    return path


def assert_found_behind(url: str, monkeypatch) -> None:
    """Minutes without daily bars after a kill: the market gates and `cbi verify --data` say so."""
    from cbi.cli import app

    wh = connect(url)
    assert {g.gate for g in market_gates(wh) if not g.ok} == {
        "minutes rolled up to daily bars", "no pending roll-up"}
    wh.close()
    monkeypatch.setenv("CBI_WAREHOUSE", url)
    reset_settings_cache()
    verify = CliRunner().invoke(app, ["verify", "--data"])
    assert verify.exit_code == 1, verify.output
    assert "minutes rolled up to daily bars" in verify.output


def _tables(wh):
    """Every row of the three tables, without the wall-clock stamps, in a stable order."""
    out = {}
    for table in (MINUTES, DAILY, SERIES):
        rows = wh.query(f"SELECT * FROM {table}").to_pylist()
        out[table] = sorted(repr(sorted((k, v) for k, v in r.items()
                                        if k not in ("ingest_timestamp", "updated_at")))
                            for r in rows)
    return out


def test_a_kill_after_the_minute_merge_is_found_by_verify_and_finished_by_the_next_import(
        tmp_path, monkeypatch):
    from cbi.feeds.bars_files import import_bars

    path = _minute_file(tmp_path / "m.csv")
    url = f"duckdb:///{tmp_path}/killed.duckdb"
    proc = subprocess.run([sys.executable, "-c", KILLED_IMPORT, url, str(path)], timeout=120)
    assert proc.returncode == -signal.SIGKILL
    wh = connect(url)
    assert wh.row_count(MINUTES) == 60 and wh.row_count(DAILY) == 0  # derived tables behind
    assert set(rollups.pending(wh)) == {"ZL"}
    wh.close()
    assert_found_behind(url, monkeypatch)

    wh = connect(url)
    other = _minute_file(tmp_path / "again.csv")  # the next import, of anything, finishes it first
    import_bars(wh, [other])
    assert rollups.pending(wh) == {} and all(g.ok for g in market_gates(wh))
    clean = connect(f"duckdb:///{tmp_path}/clean.duckdb")
    clean.init()
    import_bars(clean, [path])
    assert _tables(wh) == _tables(clean) and clean.row_count(DAILY) == 2
    wh.close()
    clean.close()
