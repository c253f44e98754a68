"""`cbi ingest bars`: real ZL daily file exactly once; a bad file refused whole; DBN files."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from typer.testing import CliRunner

from cbi.feeds.bars_files import import_bars
from cbi.feeds.validate import BarError
from cbi.sandbox import databento_data as data
from cbi.sandbox.databento_http import metadata
from cbi.warehouse import connect

DAILY = "market_data.futures_ohlcv_1d"


def test_real_zl_daily_file_imports_exactly_once_via_cli(real_data, duckdb_url, monkeypatch):
    from cbi.cli import app

    monkeypatch.setenv("CBI_WAREHOUSE", duckdb_url)
    path = real_data / "ZL_daily_2004_2021.csv"
    lines = sum(1 for _ in path.open()) - 1
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    for _ in range(2):
        result = runner.invoke(app, ["ingest", "bars", str(path), "--root", "ZL"])
        assert result.exit_code == 0, result.output
    wh = connect(duckdb_url)
    assert wh.row_count(DAILY) == lines
    assert wh.scalar(f"SELECT COUNT(*) FROM (SELECT date FROM {DAILY} GROUP BY date HAVING COUNT(*) > 1)") == 0
    assert wh.row_count("market_data.futures_continuous_1d") == lines
    wh.close()


def test_file_with_one_impossible_bar_is_refused_whole(wh, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("date,symbol,open,high,low,close,volume\n2020-01-02,ZLH0,30,31,29,30.5,10\n")
    import_bars(wh, [good])
    before = wh.query(f"SELECT * FROM {DAILY}")
    bad = tmp_path / "bad.csv"
    bad.write_text("date,symbol,open,high,low,close,volume\n"
                   "2020-01-02,ZLH0,1,2,0.5,1.5,3\n"
                   "2020-01-03,ZLH0,30,31,29,30.5,10\n"
                   "2020-01-06,ZLH0,30,29,28,30.5,10\n")
    with pytest.raises(BarError) as err:
        import_bars(wh, [bad])
    assert "bad.csv" in str(err.value) and "line 4" in str(err.value) and "field high" in str(err.value)
    assert wh.query(f"SELECT * FROM {DAILY}").equals(before)


@pytest.mark.parametrize("text,field", [
    ("2020-01-02,ZLH0,30,31,29,30.5,-1", "volume"),
    ("2020-01-02,ZLH0,abc,31,29,30.5,1", "open"),
    ("not-a-date,ZLH0,30,31,29,30.5,1", "date"),
    ("2020-01-02,ZLH0,0,0,0,0,1", "open"),
])
def test_each_kind_of_bad_value_names_its_field(wh, tmp_path, text, field):
    path = tmp_path / "x.csv"
    path.write_text("date,symbol,open,high,low,close,volume\n" + text + "\n")
    with pytest.raises(BarError, match=f"line 2, field {field}"):
        import_bars(wh, [path])
    assert wh.row_count(DAILY) == 0


def test_dbn_zst_minute_file_and_parquet_daily_file(wh, tmp_path):
    d = dt.date(2025, 3, 12)
    bars = data.session_bars(7, "ES", d)
    symbols = data.symbols_on("ES", d)
    start, end = int(bars["ts_event"][0]), int(bars["ts_event"][-1]) + data.MINUTE_NS
    raw = metadata("ohlcv-1m", start, end, ["ES"], symbols) + bars.tobytes()
    path = tmp_path / "glbx-mdp3-20250312.ohlcv-1m.dbn.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(raw))
    import_bars(wh, [path])
    import_bars(wh, [path])
    assert wh.row_count("market_data.databento_futures_ohlcv_1m") == len(bars)
    assert wh.scalar(f"SELECT COUNT(DISTINCT symbol) FROM {DAILY} WHERE date = @d", {"d": d}) == 4
    parquet = tmp_path / "cl.parquet"
    pq.write_table(pa.table({"date": [dt.date(2021, 1, 4)], "open": [48.0], "high": [49.0],
                             "low": [47.0], "close": [48.5], "volume": [7]}), parquet)
    import_bars(wh, [parquet], root="CL")
    assert wh.scalar(f"SELECT close FROM {DAILY} WHERE symbol = 'CL'") == 48.5
