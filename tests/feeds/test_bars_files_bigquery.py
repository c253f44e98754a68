"""`cbi ingest bars` file imports on both engines (18.4): the import's warehouse writes (the
minute MERGE, its roll-up to daily bars and the series, a daily file's MERGE) and a refused
file that writes nothing. The detailed cases (every kind of bad value, re-dating, batches,
DuckDB's row groups) stay in test_bars_files.py on DuckDB: they check the reader and the
validation, which do not depend on the engine, and each would cost round trips on the
emulator. The real ZL file goes through the emulator in tests/test_real_data_bigquery.py.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cbi.feeds.bars_files import import_bars
from cbi.feeds.validate import BarError
from tests.feeds.test_bars_files import dbn_session_file

DAILY = "market_data.futures_ohlcv_1d"
MINUTES = "market_data.databento_futures_ohlcv_1m"


def test_minute_and_daily_files_import_once_and_a_bad_file_writes_nothing(warehouse, tmp_path):
    wh = warehouse
    d = dt.date(2025, 3, 12)
    path, bars = dbn_session_file(tmp_path, "ES", d)
    import_bars(wh, [path])
    import_bars(wh, [path])  # the same file again: nothing added
    assert wh.row_count(MINUTES) == len(bars)
    volumes = {r["symbol"]: r["v"] for r in wh.query(
        f"SELECT symbol, SUM(volume) AS v FROM {MINUTES} GROUP BY symbol").to_pylist()}
    daily = {r["symbol"]: r["volume"] for r in wh.query(
        f"SELECT symbol, volume FROM {DAILY} WHERE date = @d", {"d": d}).to_pylist()}
    assert len(daily) == 4 and daily == volumes  # rolled up by CME trading date
    assert wh.scalar("SELECT COUNT(*) FROM market_data.futures_continuous_1d "
                     "WHERE root = 'ES' AND date = @d", {"d": d}) == 1

    parquet = tmp_path / "cl.parquet"
    pq.write_table(pa.table({"date": [dt.date(2021, 1, 4)], "open": [48.0], "high": [49.0],
                             "low": [47.0], "close": [48.5], "volume": [7]}), parquet)
    import_bars(wh, [parquet], root="CL")
    assert wh.scalar(f"SELECT close FROM {DAILY} WHERE symbol = 'CL'") == 48.5

    before = wh.query(f"SELECT symbol, date, close FROM {DAILY} ORDER BY symbol, date").to_pylist()
    bad = tmp_path / "bad.csv"
    bad.write_text("date,symbol,open,high,low,close,volume\n"
                   "2020-01-02,ZLH0,31,32,30.5,31.5,3\n"
                   "2020-01-06,ZLH0,30,29,28,30.5,10\n")
    with pytest.raises(BarError, match="line 3, field high"):
        import_bars(wh, [bad])
    assert wh.query(f"SELECT symbol, date, close FROM {DAILY} ORDER BY symbol, date").to_pylist() == before
