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
                   "2020-01-02,ZLH0,31,32,30.5,31.5,3\n"
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


def dbn_session_file(tmp_path, root: str = "ES", d: dt.date = dt.date(2025, 3, 12)):
    """One simulated session of `root` on `d` as a vendor .dbn.zst file: (path, bars)."""
    bars = data.session_bars(7, root, d)
    symbols = data.symbols_on(root, d)
    start, end = int(bars["ts_event"][0]), int(bars["ts_event"][-1]) + data.MINUTE_NS
    raw = metadata("ohlcv-1m", start, end, [root], symbols) + bars.tobytes()
    path = tmp_path / f"glbx-mdp3-{d:%Y%m%d}.ohlcv-1m.dbn.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(raw))
    return path, bars


def test_dbn_zst_minute_file_and_parquet_daily_file(wh, tmp_path):
    d = dt.date(2025, 3, 12)
    path, bars = dbn_session_file(tmp_path, "ES", d)
    import_bars(wh, [path])
    import_bars(wh, [path])
    assert wh.row_count("market_data.databento_futures_ohlcv_1m") == len(bars)
    assert wh.scalar(f"SELECT COUNT(DISTINCT symbol) FROM {DAILY} WHERE date = @d", {"d": d}) == 4
    parquet = tmp_path / "cl.parquet"
    pq.write_table(pa.table({"date": [dt.date(2021, 1, 4)], "open": [48.0], "high": [49.0],
                             "low": [47.0], "close": [48.5], "volume": [7]}), parquet)
    import_bars(wh, [parquet], root="CL")
    assert wh.scalar(f"SELECT close FROM {DAILY} WHERE symbol = 'CL'") == 48.5


HEADER = "date,symbol,open,high,low,close,volume\n"


def test_a_sunday_session_is_re_dated_to_its_cme_trading_date_and_said(wh, tmp_path):
    # CME: Memorial Day 2021 (Mon May 31) closed for grains; the vendor's Sunday row is the
    # session that CME books to Tuesday June 1, and Labor Day 2021's to Tuesday Sep 7.
    path = tmp_path / "zl.csv"
    path.write_text(HEADER + "2021-05-28,ZLN1,66.8,67.4,65.7,65.8,40878\n"
                             "2021-05-30,ZLN1,66.1,68.2,65.9,67.4,45012\n"
                             "2021-06-02,ZLN1,67.4,70.9,67.2,70.4,63262\n"
                             "2021-09-05,ZLN1,58.9,59.5,57.5,57.8,50482\n")
    result = import_bars(wh, [path])
    dates = wh.query(f"SELECT date FROM {DAILY} ORDER BY date").column(0).to_pylist()
    assert dates == [dt.date(2021, 5, 28), dt.date(2021, 6, 1), dt.date(2021, 6, 2), dt.date(2021, 9, 7)]
    assert "2 bar(s) re-dated to their CME trading date: 2021-05-30 → 2021-06-01, " \
           "2021-09-05 → 2021-09-07" in result["notes"][0]


def test_a_sunday_row_whose_trading_date_is_taken_refuses_the_file(wh, tmp_path):
    path = tmp_path / "zl.csv"
    path.write_text(HEADER + "2021-05-30,ZLN1,66.1,68.2,65.9,67.4,45012\n"
                             "2021-06-01,ZLN1,67.4,70.9,67.2,70.4,63262\n")
    with pytest.raises(BarError) as err:
        import_bars(wh, [path])
    message = str(err.value)
    assert "line 2" in message and "2021-05-30" in message and "2021-06-01" in message
    assert "next trading date" in message and "refused whole" in message
    assert wh.row_count(DAILY) == 0


def test_a_weekday_holiday_row_whose_trading_date_is_taken_keeps_its_date(wh, tmp_path):
    # Thanksgiving 2005 (Thu Nov 24): the vendor prints a bar; Friday's bar is there too.
    path = tmp_path / "zl.csv"
    path.write_text(HEADER + "2005-11-24,ZL,21.82,21.82,21.82,21.82,36\n"
                             "2005-11-25,ZL,21.85,21.85,21.28,21.28,384\n")
    result = import_bars(wh, [path], root="ZL")
    assert wh.row_count(DAILY) == 2
    assert any("kept on a day CME's calendar has no session" in n and "2005-11-24" in n
               for n in result["notes"])


def test_the_root_of_a_daily_file_comes_from_its_symbol(wh, tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text(HEADER + "2021-06-01,ZL,67.4,70.9,67.2,70.4,63262\n"
                             "2021-06-01,ZLN21,67.4,70.9,67.2,70.4,63262\n"
                             "2021-06-01,ESM1,4200,4210,4190,4205,100\n")
    import_bars(wh, [path])
    roots = {r["symbol"]: r["root"] for r in wh.query(f"SELECT symbol, root FROM {DAILY}").to_pylist()}
    assert roots == {"ZL": "ZL", "ZLN21": "ZL", "ESM1": "ES"}
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "2021-06-01,Z L!,1,2,0.5,1.5,3\n")
    with pytest.raises(BarError, match="line 2, field symbol"):
        import_bars(wh, [bad])


def _minute_file(tmp_path, n: int) -> tuple:
    d = dt.date(2025, 3, 12)
    bars = data.session_bars(7, "ZL", d)[:n]
    symbols = {i: s for s, i in data.symbols_on("ZL", d).items()}
    rows = pa.table({
        "ts_event": pa.array(bars["ts_event"].astype("datetime64[ns]"), pa.timestamp("ns", tz="UTC")),
        "symbol": [symbols[i] for i in bars["instrument_id"]],
        "open": bars["open"] * 1e-9, "high": bars["high"] * 1e-9, "low": bars["low"] * 1e-9,
        "close": bars["close"] * 1e-9, "volume": bars["volume"].astype("int64")})
    return rows


def test_a_minute_file_streams_in_batches_with_the_same_result(tmp_path, duckdb_url):
    rows = _minute_file(tmp_path, 2000)
    path = tmp_path / "zl.parquet"
    pq.write_table(rows, path)
    results = []
    for batch_rows in (1_000_000, 700):  # one batch; four batches
        wh = connect(f"duckdb:///{tmp_path}/b{batch_rows}.duckdb")
        wh.init()
        import_bars(wh, [path], batch_rows=batch_rows)
        results.append((wh.query("SELECT * EXCLUDE (ingest_timestamp) FROM market_data.databento_futures_ohlcv_1m "
                                 "ORDER BY ts_event, symbol"),
                        wh.query(f"SELECT * EXCLUDE (ingest_timestamp) FROM {DAILY} ORDER BY symbol")))
        wh.close()
    assert results[0][0].num_rows == 2000 and results[0][1].num_rows > 0
    assert results[0][0].equals(results[1][0]) and results[0][1].equals(results[1][1])


def test_a_bad_row_in_a_late_batch_refuses_the_whole_file(tmp_path, wh):
    rows = _minute_file(tmp_path, 2000).to_pandas()
    rows.loc[1800, "high"] = rows.loc[1800, "low"] - 1  # in the third batch of 700
    path = tmp_path / "zl.csv"
    rows.to_csv(path, index=False)
    with pytest.raises(BarError, match="line 1802, field high"):
        import_bars(wh, [path], batch_rows=700)
    assert wh.row_count("market_data.databento_futures_ohlcv_1m") == 0


def test_a_truncated_dbn_file_is_refused_whole(tmp_path, wh):
    d = dt.date(2025, 3, 12)
    bars = data.session_bars(7, "ES", d)
    raw = metadata("ohlcv-1m", int(bars["ts_event"][0]), int(bars["ts_event"][-1]) + 1, ["ES"],
                   data.symbols_on("ES", d)) + bars.tobytes()
    path = tmp_path / "cut.dbn"
    path.write_bytes(raw[:-20])  # the last record cut mid-way
    with pytest.raises(BarError, match="ends mid-record"):
        import_bars(wh, [path], batch_rows=500)
    assert wh.row_count("market_data.databento_futures_ohlcv_1m") == 0


# ---- a bulk import leaves the table settled (issue 19) ---------------------------------------
MINUTES = "market_data.databento_futures_ohlcv_1m"


def _weekday_minutes(n: int, end: str = "2026-11-20T21:00") -> pa.Table:
    """n ZL bars, one a minute over weekday sessions (23 h) back from `end`, oldest first."""
    import numpy as np

    stamps, day = [], np.datetime64(end, "D")
    while sum(len(s) for s in stamps) < n:
        if (day.view("int64") - 4) % 7 < 5:  # 1970-01-05 was a Monday
            stamps.append(day.astype("datetime64[m]") + np.timedelta64(60, "m") + np.arange(23 * 60))
        day -= np.timedelta64(1, "D")
    ts = np.concatenate(stamps[::-1])[-n:]
    price = 45.0 + 0.001 * (np.arange(n) % 100)
    return pa.table({"ts_event": pa.array(ts.astype("datetime64[us]"), pa.timestamp("us", tz="UTC")),
                     "symbol": ["ZLZ6"] * n, "open": price, "high": price + 0.01, "low": price - 0.01,
                     "close": price, "volume": np.ones(n, np.int64)})


def _layout(wh) -> list[tuple]:
    """Where every segment of the minute table lies in the file (row group, rows, block)."""
    return _duck(wh, "SELECT row_group_id, column_id, segment_id, count, block_id, block_offset "
                 f"FROM pragma_storage_info('{MINUTES}') ORDER BY ALL")


def _duck(wh, sql: str) -> list[tuple]:
    """DuckDB's own statements (storage layout, settings), not the warehouse's SQL dialect."""
    return wh._cursor().execute(sql).fetchall()


def _next_command_checkpoints(wh) -> None:
    """What any later writing command does: a write elsewhere, then a checkpoint on close."""
    for sql in ("CREATE TABLE ops._cbi_probe (x INT)", "DROP TABLE ops._cbi_probe", "CHECKPOINT"):
        _duck(wh, sql)


def test_a_bulk_import_leaves_whole_row_groups_and_nothing_for_the_next_checkpoint(tmp_path, wh):
    """Batches of 130,000 rows used to be written as a row group and a sliver of 7,120 rows
    each, merged later by every writing command's checkpoint (100 merges each, seconds at
    40M rows). The import writes whole row groups and checkpoints: the WAL is empty, every
    row group but the last is full, and the next command's checkpoint moves nothing."""
    path = tmp_path / "zl.parquet"
    pq.write_table(_weekday_minutes(520_000), path)
    import_bars(wh, [path], batch_rows=130_000)
    counts = [n for _, n in _duck(
        wh, f"SELECT row_group_id, MAX(count) FROM pragma_storage_info('{MINUTES}') "
        "GROUP BY row_group_id ORDER BY row_group_id")]
    assert sum(counts) == 520_000 and set(counts[:-1]) == {122_880}, counts
    wal = tmp_path / "cbi.duckdb.wal"
    assert not wal.exists() or wal.stat().st_size == 0
    before = _layout(wh)
    _next_command_checkpoints(wh)
    assert _layout(wh) == before


def test_an_upsert_import_leaves_its_thinned_row_groups_merged(tmp_path, wh):
    """Re-importing every other minute deletes half of each row group; the import's own
    checkpoint merges them all, even where DuckDB's cap on merges per checkpoint is low."""
    rows = _weekday_minutes(500_000)
    first, second = tmp_path / "all.parquet", tmp_path / "half.parquet"
    pq.write_table(rows, first)
    pq.write_table(rows.take(list(range(0, 500_000, 2))), second)
    import_bars(wh, [first])
    _duck(wh, "SET max_vacuum_tasks = 1")  # one merge per checkpoint: the rest would wait
    import_bars(wh, [second])
    assert wh.row_count(MINUTES) == 500_000
    before = _layout(wh)
    _next_command_checkpoints(wh)
    assert _layout(wh) == before
