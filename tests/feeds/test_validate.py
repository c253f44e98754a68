"""Validation at the door: the catalogue of bad inputs, one row per kind, each refused through
the real command with one line naming file, row, field and rule, and every table unchanged.

Also the rules' own units: plausible dates and price bands, the jump rule (quarantine for
polled data, refusal for files), duplicate keys (identical collapse, conflicting refused),
duplicate columns, and DBN/zstd streams cut short.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil

import numpy as np
import pyarrow as pa
import pytest
import zstandard
from typer.testing import CliRunner

from cbi.config import Settings, reset_settings_cache
from cbi.feeds import databento
from cbi.feeds.validate import (BarError, bar_limits, check_bars, check_columns,
                                collapse_duplicates, root_of, split_bars, to_volume)
from cbi.sandbox import databento_data as data
from cbi.sandbox.databento_http import metadata
from cbi.warehouse import catalog, connect
from tests.builders import minute_bars

HEADER = "date,symbol,open,high,low,close,volume\n"
MINUTE_HEADER = "ts_event,symbol,open,high,low,close,volume\n"
GOOD_DAY = "2024-03-08,ZLK4,45,46,44,45.5,100\n"
DAY = dt.date(2025, 3, 12)


# ---- the catalogue ---------------------------------------------------------------------------
def _dbn(root: str = "ES", symbols: dict | None = None) -> bytes:
    bars = data.session_bars(7, root, DAY)[:50]
    return metadata("ohlcv-1m", int(bars["ts_event"][0]), int(bars["ts_event"][-1]) + 1, [root],
                    data.symbols_on(root, DAY) if symbols is None else symbols) + bars.tobytes()


def _zst(raw: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(raw)


def _corrupt_zst() -> bytes:
    frame = bytearray(_zst(_dbn()))
    frame[4] ^= 0xFF  # the frame header descriptor: an invalid frame
    frame[5] ^= 0xFF
    return bytes(frame)


#: kind -> (command, file name, file content, refusal pattern: file, row, field, rule)
CATALOGUE = {
    # bar files: `cbi ingest bars FILE`
    "duplicate CSV column": ("bars", "x.csv", "date,symbol,open,high,low,close,close,volume\n"
                             "2024-03-08,ZLK4,45,46,44,45.5,45.5,100\n",
                             r"x\.csv: line 1, field close: duplicate column"),
    "missing CSV column": ("bars", "x.csv", "date,symbol,open,high,low,volume\n2024-03-08,ZLK4,45,46,44,1\n",
                           r"x\.csv: line 1, field close: missing column"),
    "conflicting duplicate key": ("bars", "x.csv", MINUTE_HEADER +
                                  "2024-03-08T15:00:00Z,ZLK4,45,46,44,45.5,100\n"
                                  "2024-03-08T15:00:00Z,ZLK4,45,46,44,45.9,100\n",
                                  r"x\.csv: line 2 and line 3, field close: same key .* different values"),
    "NaN price": ("bars", "x.csv", HEADER + "2024-03-08,ZLK4,NaN,46,44,45.5,100\n",
                  r"x\.csv: line 2, field open: missing or not a finite number"),
    "infinite price": ("bars", "x.csv", HEADER + "2024-03-08,ZLK4,45,inf,44,45.5,100\n",
                       r"x\.csv: line 2, field high: missing or not a finite number"),
    "price of 1e308": ("bars", "x.csv", HEADER + "2024-03-08,ZLK4,1e308,1e308,44,45.5,100\n",
                       r"x\.csv: line 2, field open: outside the plausible band \[1, 1000\] of root ZL "
                       r"\(rule: setting price_bands\)"),
    "bar dated 2099": ("bars", "x.csv", HEADER + "2099-03-09,ZLK4,45,46,44,45.5,100\n",
                       r"x\.csv: line 2, field date: outside the plausible dates"),
    "bar dated 1066": ("bars", "x.csv", HEADER + "1066-10-14,ZLK4,45,46,44,45.5,100\n",
                       r"x\.csv: line 2, field date: (outside the plausible dates|missing or unparseable)"),
    "23-digit volume": ("bars", "x.csv", HEADER + "2024-03-08,ZLK4,45,46,44,45.5,12345678901234567890123\n",
                        r"x\.csv: line 2, field volume: implausible volume"),
    "high below low": ("bars", "x.csv", HEADER + "2024-03-08,ZLK4,45,43,44,45.5,100\n",
                       r"x\.csv: line 2, field high: high below max\(open, close\)"),
    "empty symbol": ("bars", "x.csv", HEADER + "2024-03-08,,45,46,44,45.5,100\n",
                     r"x\.csv: line 2, field symbol: .*not a CME futures symbol"),
    "whitespace symbol": ("bars", "x.csv", HEADER + "2024-03-08,   ,45,46,44,45.5,100\n",
                          r"x\.csv: line 2, field symbol: .*not a CME futures symbol"),
    "control-character symbol": ("bars", "x.csv", HEADER + "2024-03-08,ZL\x07K4,45,46,44,45.5,100\n",
                                 r"x\.csv: line 2, field symbol: .*not a CME futures symbol"),
    "SQL-like symbol": ("bars", "x.csv", HEADER + "2024-03-08,ZL'; DROP TABLE x;--,45,46,44,45.5,100\n",
                        r"x\.csv: line 2, field symbol: .*not a CME futures symbol"),
    "root not the symbol's": ("bars", "x.csv", "date,symbol,root,open,high,low,close,volume\n"
                              "2024-03-08,ZLK4,ES,45,46,44,45.5,100\n",
                              r"x\.csv: line 2, field root: not the root of symbol 'ZLK4'"),
    "single-bar jump in a file": ("bars", "x.csv", HEADER + "".join(
        f"2024-03-{d:02d},ZLK4,45,45.4,44.6,45,100\n" for d in (4, 5, 6, 7, 8, 11, 12, 13, 14, 15, 18,
                                                               19, 20, 21, 22, 25, 26, 27, 28))
        + "2024-04-01,ZLK4,45,46,44,45,100\n2024-04-02,ZLK4,45,460,44,450,100\n",
        r"x\.csv: line 22, field close: a single-bar jump beyond 10 x the range"),
    "DBN cut mid-record": ("bars", "x.dbn", _dbn()[:-20], r"x\.dbn: .*record \d+.*ends mid-record"),
    # the first frame ends on a record boundary: a lenient reader would import 20 bars quietly
    "zstd cut mid-frame": ("bars", "x.dbn.zst", _zst(_dbn()[:816 + 20 * 56]) + _zst(_dbn()[816 + 20 * 56:])[:-9],
                           r"x\.dbn\.zst: zstd frame 2, field data: the stream ends mid-frame"),
    "corrupt zstd frame": ("bars", "x.dbn.zst", _corrupt_zst(), r"x\.dbn\.zst: .*(corrupt|zstd)"),
    "unmapped DBN instrument id": ("bars", "x.dbn", _dbn(symbols={}),
                                   r"x\.dbn: record 1, field symbol: missing \(an instrument id"),
    # FRED downloads: `cbi ingest fred --file FILE`
    "FRED NaN": ("fred", "f.csv", "DATE,DFF\n2024-03-08,5.33\n2024-03-11,NaN\n",
                 r"f\.csv: row 3, field DFF: 'NaN' is not a finite number"),
    "FRED inf": ("fred", "f.csv", "DATE,DFF\n2024-03-08,inf\n", r"f\.csv: row 2, field DFF: 'inf' is not a finite"),
    "FRED 1e400": ("fred", "f.csv", "observation_date,DFF\n2024-03-08,1e400\n",
                   r"f\.csv: row 2, field DFF: '1e400' is not a finite number"),
    "FRED dated 2099": ("fred", "f.csv", "DATE,DFF\n2099-03-09,5.33\n",
                        r"f\.csv: row 2, field DATE: 2099-03-09 is outside the plausible dates"),
    "FRED dated 1066": ("fred", "f.csv", "DATE,DFF\n1066-10-14,5.33\n",
                        r"f\.csv: row 2, field DATE: 1066-10-14 is outside the plausible dates"),
    "FRED conflicting duplicate date": ("fred", "f.csv", "DATE,DFF\n2024-03-08,5.33\n2024-03-08,5.34\n",
                                        r"f\.csv: row 2 and row 3, field DFF: 2024-03-08 given twice"),
    "FRED bad series id": ("fred", "f.csv", "DATE,dff; DROP\n2024-03-08,5.33\n",
                           r"f\.csv: row 1, field series id: series id 'dff; DROP' is not a FRED"),
    "FRED empty series id": ("fred", "f.csv", "DATE, \n2024-03-08,5.33\n", r"f\.csv: line 1, column 2: empty"),
    "FRED duplicate column": ("fred", "f.csv", "DATE,DATE\n2024-03-08,2024-03-08\n",
                              r"f\.csv: line 1, field DATE: duplicate column"),
    "FRED not UTF-8": ("fred", "f.csv", b"DATE,DFF\n2024-03-08,5.33\xff\xfe\n",
                       r"f\.csv: byte \d+, field encoding: not UTF-8"),
    # headlines: `cbi sentiment --file FILE`
    "sentiment file not UTF-8": ("sentiment", "h.txt", b"Soybean oil \xff\xfe rallies\n",
                                 r"h\.txt: not UTF-8 text \(byte \d+"),
}


def _args(command: str, path) -> list[str]:
    return {"bars": ["ingest", "bars", str(path)], "fred": ["ingest", "fred", "--file", str(path)],
            "sentiment": ["sentiment", "--file", str(path)]}[command]


#: the run log records the refused command itself (a failed run, its alert): not data
RUN_LOG = {"ops.pipeline_runs", "ops.alerts", "ops.query_costs"}


def _every_table(wh) -> dict[str, list]:
    out = {}
    for spec in catalog.all_tables():
        if spec.is_view or spec.fqn in RUN_LOG:
            continue
        rows = wh.query(f"SELECT * FROM {spec.fqn}").to_pylist()
        out[spec.fqn] = sorted(repr(sorted(r.items())) for r in rows)
    return out


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """A warehouse holding good bars and FRED rows, and a snapshot of every table."""
    import time_machine

    from tests.conftest import FROZEN_NOW

    with time_machine.travel(FROZEN_NOW, tick=True):  # module fixtures run before the frozen clock
        return _seed(tmp_path_factory)


def _seed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("seed")
    daily, minutes, fred = folder / "d.csv", folder / "m.csv", folder / "f.csv"
    daily.write_text(HEADER + GOOD_DAY)
    minutes.write_text(MINUTE_HEADER + "2024-03-08T15:00:00Z,ZLK4,45,46,44,45.5,100\n")
    fred.write_text("DATE,DFF\n2024-03-08,5.33\n")
    wh = connect(f"duckdb:///{folder}/seed.duckdb")
    wh.init()
    from cbi.feeds.bars_files import import_bars
    from cbi.feeds.fred.files import import_files

    import_bars(wh, [daily])
    import_bars(wh, [minutes])
    import_files(wh, Settings(), [fred])
    snapshot = _every_table(wh)
    wh.close()
    assert snapshot["market_data.futures_ohlcv_1d"] and snapshot["market_data.fred_economic_indicators"]
    return folder / "seed.duckdb", snapshot


@pytest.mark.parametrize("kind", list(CATALOGUE))
def test_bad_input_is_refused_in_one_line_and_changes_nothing(kind, seeded, tmp_path, monkeypatch):
    from cbi.cli import app

    command, name, content, pattern = CATALOGUE[kind]
    db = tmp_path / "cbi.duckdb"
    shutil.copy(seeded[0], db)
    monkeypatch.setenv("CBI_WAREHOUSE", f"duckdb:///{db}")
    reset_settings_cache()
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = CliRunner().invoke(app, _args(command, path))
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr  # one line
    assert "Traceback" not in result.output and "unexpected" not in lines[0]
    assert re.search(pattern, lines[0]), lines[0]
    wh = connect(f"duckdb:///{db}")
    assert _every_table(wh) == seeded[1]  # every table unchanged
    wh.close()


# ---- the rules' units ------------------------------------------------------------------------
def _bars(n: int, closes=None, symbol="ZLK4", root="ZL", start=dt.datetime(2025, 3, 12, 14, tzinfo=dt.timezone.utc)):
    closes = np.full(n, 45.0) if closes is None else np.asarray(closes, float)
    return minute_bars(closes, [symbol] * n, start=start, root=root, instrument_id=1, volume=5,
                       source=["databento"] * n)


def test_identical_duplicates_collapse_and_conflicting_ones_name_both_rows():
    rows = pa.concat_tables([_bars(3), _bars(3).slice(1, 1)])
    assert collapse_duplicates(rows, ["ts_event", "symbol"], "f.csv", 2, "line").num_rows == 3
    bad = pa.concat_tables([_bars(3), _bars(3, closes=[45, 45.2, 45]).slice(1, 1)])
    with pytest.raises(BarError, match=r"f\.csv: line 3 and line 5, field open: same key"):
        collapse_duplicates(bad, ["ts_event", "symbol"], "f.csv", 2, "line")


def test_identical_duplicate_rows_in_a_file_import_once(tmp_path, wh):
    from cbi.feeds.bars_files import import_bars

    path = tmp_path / "twice.csv"
    line = "2024-03-08T15:00:00Z,ZLK4,45,46,44,45.5,100\n"
    path.write_text(MINUTE_HEADER + line + line)
    import_bars(wh, [path])
    assert wh.row_count(databento.TABLE) == 1


def test_check_columns_refuses_duplicates_ignoring_case_and_names_missing():
    with pytest.raises(BarError, match="field Close: duplicate column"):
        check_columns(["date", "symbol", "open", "high", "low", "close", "Close", "volume"], "f")
    with pytest.raises(BarError, match=r"missing column\(s\) \['volume'\]"):
        check_columns(["date", "open", "high", "low", "close"], "f")
    check_columns(["ts_event", "symbol", "open", "high", "low", "close", "volume"], "f")


def test_plausible_dates_and_bands_come_from_settings():
    settings = Settings(bars_min_date=dt.date(2000, 1, 1), future_skew_days=1,
                        price_bands={"ZL": [10, 100], "CL": [-50, 500]})
    limits = bar_limits(settings, today=dt.date(2025, 3, 12))
    assert limits.max_date == dt.date(2025, 3, 13) and limits.min_date == dt.date(2000, 1, 1)
    check_bars(_bars(5), "ok", limits=limits)
    with pytest.raises(BarError, match=r"field open: outside the plausible band \[10, 100\] of root ZL"):
        check_bars(_bars(5, closes=[45, 45, 450, 45, 45]), "x", limits=limits)
    later = _bars(2, start=dt.datetime(2025, 3, 14, 0, 1, tzinfo=dt.timezone.utc))
    with pytest.raises(BarError, match=r"row 1, field ts_event: outside the plausible dates \[2000-01-01, 2025-03-13\]"):
        check_bars(later, "x", limits=limits)
    negative_wti = _bars(3, closes=[-37.63, -37.0, -36.5], symbol="CLK0", root="CL")
    check_bars(negative_wti, "wti", limits=limits)  # inside CL's band: a real price
    with pytest.raises(BarError, match="not a positive price"):
        check_bars(negative_wti, "wti")  # no band known: outrights must be positive


def test_a_single_bar_jump_is_split_off_for_quarantine_but_a_steady_series_is_not():
    limits = bar_limits(Settings(), today=dt.date(2025, 3, 12))
    steady = 45 + np.cumsum(np.random.default_rng(3).normal(0, 0.05, 200))
    good, bad, _ = split_bars(_bars(200, closes=steady), limits=limits)
    assert bad.num_rows == 0 and good.num_rows == 200
    spiked = steady.copy()
    spiked[120] = steady[119] * 1.5
    good, bad, reasons = split_bars(_bars(200, closes=spiked), limits=limits)
    assert bad.column("close").to_pylist()[0] == pytest.approx(spiked[120])
    assert reasons[0].startswith("close: a single-bar jump beyond 10 x")
    assert good.num_rows == 200 - bad.num_rows


def test_sandbox_minutes_pass_every_rule():
    bars, symbols = data.bars(7, ["ZL", "ES", "CL"], "ohlcv-1m",
                              int(dt.datetime(2025, 3, 10, tzinfo=dt.timezone.utc).timestamp() * 1e9),
                              int(dt.datetime(2025, 3, 13, tzinfo=dt.timezone.utc).timestamp() * 1e9))
    ids = {i: (s, root_of(s)) for s, i in symbols.items()}
    rows = databento.to_arrow(bars, ids, "sandbox")
    check_bars(rows, "sandbox", limits=bar_limits(Settings(), today=dt.date(2025, 3, 13)))


def test_real_zl_daily_history_passes_every_rule(real_data):
    from tests.conftest import require

    import pandas as pd

    path = real_data / "ZL_daily_2004_2021.csv"
    require(path.exists(), "real ZL daily file")
    frame = pd.read_csv(path)
    rows = pa.table({"date": pa.array(pd.to_datetime(frame["date"]).dt.date, pa.date32()),
                     "root": ["ZL"] * len(frame), "symbol": frame["symbol"].astype(str),
                     **{c: frame[c].astype(float) for c in ("open", "high", "low", "close")},
                     "volume": to_volume(frame["volume"])})
    check_bars(rows, str(path), row_offset=2, row_label="line",
               limits=bar_limits(Settings(), today=dt.date(2026, 11, 28)))


@pytest.mark.parametrize("cut", ["record", "frame"])
def test_a_stream_cut_short_is_refused_whole_by_decode_dbn(cut):
    raw = _dbn()
    raw = raw[:-20] if cut == "record" else _zst(raw)[:-7]
    with pytest.raises(BarError, match=r"src: .*(ends mid-record|ends mid-frame)"):
        databento.decode_dbn(raw, "src")
    whole = _dbn()
    meta, records = databento.decode_dbn(_zst(whole[:1000]) + _zst(whole[1000:]), "src")
    assert len(records) == 50  # one stream in two whole frames
    with pytest.raises(BarError, match=r"src: zstd frame 2, field data: the stream ends mid-frame"):
        databento.decode_dbn(_zst(whole[:1000]) + _zst(whole[1000:])[:-9], "src")


def test_a_corrupt_zstd_frame_is_one_line():
    with pytest.raises(BarError, match=r"src: zstd frame 1, field data: corrupt"):
        databento.decode_dbn(_corrupt_zst(), "src")


def test_to_volume_maps_overflow_to_a_refusable_value():
    out = to_volume(["7", "1.5", "12345678901234567890123", "abc"]).to_pylist()
    assert out[0] == 7 and out[1] is None and out[3] is None and out[2] > 10**12


@pytest.mark.parametrize("symbol", ["", " ", "ZL\x00", "zlh5", "ZLH5 ", "ZL;--", "ZLH5-", "Z" * 9])
def test_symbols_outside_the_pattern_are_refused_in_bars(symbol):
    with pytest.raises(BarError, match="field symbol"):
        check_bars(_bars(2, symbol=symbol), "x")


@pytest.mark.parametrize("value,rule", [("NaN", "not a finite number"), ("-inf", "not a finite number"),
                                        ("1e400", "not a finite number"), ("5,3", "not a number")])
def test_fred_api_values_must_be_finite(value, rule):
    from cbi.feeds.fred import normalize

    obs = [{"date": "2024-03-08", "realtime_start": "2024-03-11", "realtime_end": "9999-12-31",
            "value": value}]
    with pytest.raises(BarError, match=f"FRED DFF observation 0, field value: .*{rule}"):
        normalize("DFF", obs, "fred")


def test_fred_api_dates_series_ids_and_duplicates():
    from cbi.feeds.fred import normalize
    from cbi.feeds.validate import date_range

    bounds = date_range(Settings(), "fred", today=dt.date(2026, 11, 28))
    row = {"date": "2099-01-01", "realtime_start": "2099-01-02", "realtime_end": "9999-12-31", "value": "1"}
    with pytest.raises(BarError, match=r"observation 0, field date: 2099-01-01 is outside the plausible"):
        normalize("DFF", [row], "fred", bounds)
    with pytest.raises(BarError, match=r"series id 'dff' is not a FRED series id"):
        normalize("dff", [], "fred", bounds)
    one = {**row, "date": "2024-03-08", "realtime_start": "2024-03-11"}
    assert normalize("DFF", [one, dict(one)], "fred", bounds).num_rows == 1  # identical: collapse
    with pytest.raises(BarError, match=r"observation 0 and observation 1, field value"):
        normalize("DFF", [one, {**one, "value": "2"}], "fred", bounds)
