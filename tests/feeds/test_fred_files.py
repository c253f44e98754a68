"""FRED CSV downloads in both header styles, including the real files."""

from __future__ import annotations

import datetime as dt

import pytest
from typer.testing import CliRunner

from cbi.config import Settings
from cbi.feeds.fred.files import import_files, read_fred_csv

LAGS = {"default": 1}


def test_real_vixcls_old_style_dots_become_nulls(real_data):
    path = real_data / "VIXCLS_oldformat_to2021.csv"
    dots = sum(1 for line in path.read_text().splitlines()[1:] if line.split(",")[1].strip() == ".")
    f = read_fred_csv(path, LAGS)
    # The issue text says 290; this file (1990-2021) holds 287 "." rows: each one a NULL.
    assert (f.series_id, f.header_style, f.rows.num_rows) == ("VIXCLS", "DATE", 8349)
    assert dots == 287 and f.missing == 287


def test_real_new_style_empty_fields_and_negative_wti(real_data):
    wti = read_fred_csv(real_data / "DCOILWTICO_newformat_to2021.csv", LAGS)
    assert (wti.series_id, wti.header_style, wti.missing) == ("DCOILWTICO", "observation_date", 19)
    by_date = dict(zip(wti.rows.column("date").to_pylist(), wti.rows.column("value").to_pylist()))
    assert by_date[dt.date(2020, 4, 20)] == pytest.approx(-36.98)  # negative: never log() it
    assert read_fred_csv(real_data / "VIXCLS_newformat_to2021.csv", LAGS).missing == 17


def test_both_styles_and_publication_lag(tmp_path):
    old = tmp_path / "old.csv"
    old.write_text("DATE,DGS10\n2024-03-08,4.08\n2024-03-11,.\n")
    new = tmp_path / "new.csv"
    new.write_text("observation_date,DFF\n2024-03-08,5.33\n2024-03-09,\n")
    a = read_fred_csv(old, {"default": 1})
    b = read_fred_csv(new, {"default": 1, "DFF": 2})
    assert a.rows.column("value").to_pylist() == [4.08, None]
    assert set(a.rows.column("source").to_pylist()) == {"file"}  # provenance: a vendor file
    assert b.rows.column("value").to_pylist() == [5.33, None]
    # Friday + 1 business day = Monday; Friday + 2 = Tuesday; Saturday + 2 = Tuesday
    assert a.rows.column("realtime_start").to_pylist()[0] == dt.date(2024, 3, 11)
    assert b.rows.column("realtime_start").to_pylist() == [dt.date(2024, 3, 12), dt.date(2024, 3, 12)]
    assert b.rows.column("realtime_end").null_count == 2


@pytest.mark.parametrize("text, match", [
    ("DATE,DFF\n2024-03-08,5.33\n2024-03-11,n/a\n", r"row 3, field DFF: 'n/a' is not a number"),
    ("DATE,DFF\n2024-13-08,5.33\n", r"row 2: field 'DATE' is '2024-13-08'"),
    ("when,DFF\n2024-03-08,5.33\n", r"row 1: expected a FRED header"),
    ("DATE,DFF\n2024-03-08,5.33,9\n", r"row 2: expected 2 fields"),
])
def test_bad_files_name_file_row_and_field(tmp_path, text, match):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=match) as err:
        read_fred_csv(path, LAGS)
    assert "bad.csv" in str(err.value)


def test_reimport_is_idempotent_and_bad_file_writes_nothing(warehouse, real_data, tmp_path):
    """On both engines (18.4): the import's MERGE, its idempotence and its all-or-nothing."""
    s = Settings()
    files = [real_data / "VIXCLS_newformat_to2021.csv", real_data / "DCOILWTICO_newformat_to2021.csv"]
    first = import_files(warehouse, s, files)
    snap = warehouse.query("SELECT series_id, date, realtime_start, value FROM "
                           "market_data.fred_economic_indicators ORDER BY 1, 2, 3").to_pylist()
    second = import_files(warehouse, s, files)
    assert first["rows_written"] == 1044 and [f["inserted"] for f in second["files"]] == [0, 0]
    assert warehouse.scalar("SELECT COUNTIF(value IS NULL) FROM market_data.fred_economic_indicators") == 36
    bad = tmp_path / "bad.csv"
    bad.write_text("DATE,DGS10\n2024-03-08,x\n")
    with pytest.raises(ValueError):
        import_files(warehouse, s, [real_data / "DGS10_newformat_to2021.csv", bad])
    after = warehouse.query("SELECT series_id, date, realtime_start, value FROM "
                            "market_data.fred_economic_indicators ORDER BY 1, 2, 3").to_pylist()
    assert after == snap


def test_cli_file_import_says_how_realtime_start_was_set(tmp_path, duckdb_url):
    from cbi.cli import app

    path = tmp_path / "DFF.csv"
    path.write_text("DATE,DFF\n2024-03-08,5.33\n2024-03-11,.\n")
    runner = CliRunner()
    assert runner.invoke(app, ["-w", duckdb_url, "init"]).exit_code == 0
    out = runner.invoke(app, ["-w", duckdb_url, "ingest", "fred", "--file", str(path)])
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    assert "2 rows, 1 missing" in text and "realtime_start = date + 1 business day" in text
    bad = runner.invoke(app, ["-w", duckdb_url, "ingest", "fred", "--file", str(tmp_path / "none.csv")])
    assert bad.exit_code == 2


def test_publication_dates_by_series_rule():
    """Hand-computed from the release calendars: H.15 (DFF) the next US business day; H.10
    (DTWEXBGS) weekly, Monday afternoon for the week before, so known at Tuesday's close."""
    import datetime as dt

    from cbi.feeds.fred.files import known_on

    d = dt.date
    weekly = {"DTWEXBGS": "TUE"}
    # MLK Day 2021 is Monday Jan 18: Friday's fed funds print is known on Tuesday the 19th
    assert known_on("DFF", [d(2021, 1, 15)], {"default": 1}, weekly) == [d(2021, 1, 19)]
    assert known_on("DFF", [d(2021, 1, 16)], {"default": 1}, weekly) == [d(2021, 1, 19)]  # Saturday
    assert known_on("DFF", [d(2021, 3, 3)], {"default": 1}, weekly) == [d(2021, 3, 4)]
    # the dollar index of Monday 2021-03-01 and of Friday 03-05: both known Tuesday 03-09
    assert known_on("DTWEXBGS", [d(2021, 3, 1), d(2021, 3, 5)], {"default": 1}, weekly) == [
        d(2021, 3, 9), d(2021, 3, 9)]
