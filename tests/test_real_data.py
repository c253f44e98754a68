"""The real files in ../shared/data/real, as shipped, through the whole product: no manual step.

ingest the ZL daily file and every FRED file -> features -> export (every quality gate) ->
train both models -> predict every horizon -> the forecast API answers. The ZL file is a
TradingView continuous series: its sessions before Memorial Day and Labor Day 2021 are dated
on the Sunday, and three 2021 holiday-Monday/Good-Friday sessions on the holiday itself;
each belongs to the next CME trading date (hand-checked against CME's holiday calendar).
"""

from __future__ import annotations

import csv
import datetime as dt

import pytest
from typer.testing import CliRunner

from cbi.cli import app
from cbi.warehouse import connect

runner = CliRunner()
FRED_FILES = ("DFF_oldformat_to2021.csv", "VIXCLS_oldformat_to2021.csv", "VIXCLS_newformat_to2021.csv",
              "DGS10_newformat_to2021.csv", "DTWEXBGS_newformat_to2021.csv",
              "DCOILWTICO_newformat_to2021.csv")
#: vendor date -> CME trading date (the Tuesday after Memorial Day / Labor Day, the day after
#: MLK Day, Presidents Day and Good Friday 2021); none of the targets is in the file.
REDATED = {dt.date(2021, 5, 30): dt.date(2021, 6, 1), dt.date(2021, 9, 5): dt.date(2021, 9, 7),
           dt.date(2021, 1, 18): dt.date(2021, 1, 19), dt.date(2021, 2, 15): dt.date(2021, 2, 16),
           dt.date(2021, 4, 2): dt.date(2021, 4, 5)}


def cbi(url: str, *args: str) -> str:
    result = runner.invoke(app, ["-w", url, *args])
    assert result.exit_code == 0, f"cbi {' '.join(args)}: {result.output}"
    return result.output


@pytest.mark.timeout(600)
def test_the_real_files_go_through_the_whole_pipeline(real_data, duckdb_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    zl = real_data / "ZL_daily_2004_2021.csv"
    with zl.open() as fh:
        vendor = [(dt.date.fromisoformat(r["date"]), float(r["close"])) for r in csv.DictReader(fh)]
    cbi(duckdb_url, "init")
    said = cbi(duckdb_url, "ingest", "bars", str(zl), "--root", "ZL")
    assert "re-dated to their CME trading date" in said and "2021-05-30 → 2021-06-01" in said
    assert "vendor continuous series" in said
    cbi(duckdb_url, "ingest", "fred", "--file", *[str(real_data / f) for f in FRED_FILES])
    cbi(duckdb_url, "features", "build")
    cbi(duckdb_url, "export", "--surface", "prod", "--horizon", "all")
    cbi(duckdb_url, "train", "--model", "tree")
    cbi(duckdb_url, "train", "--model", "neural")
    cbi(duckdb_url, "predict", "--horizon", "all")

    with connect(duckdb_url, read_only=True) as wh:
        daily = {r["date"]: r["close"] for r in wh.query(
            "SELECT date, close FROM market_data.futures_ohlcv_1d WHERE root = 'ZL'").to_pylist()}
        assert len(daily) == len(vendor) == 4380  # no row lost, one per trading date
        assert all(d.weekday() < 5 for d in daily)
        for d, close in vendor:
            assert daily[REDATED.get(d, d)] == close
        features = wh.scalar("SELECT COUNT(*) FROM features.curated_features_daily WHERE symbol = 'ZL'")
        assert features == 4380
        weekend = wh.scalar("SELECT COUNT(*) FROM features.curated_features_daily "
                            "WHERE FORMAT_DATE('%u', date) IN ('6', '7')")
        assert weekend == 0
        predicted = wh.query("SELECT COUNT(*) AS n FROM predictions.zl_predictions_prod_allhistory_1w").to_pylist()
        assert predicted[0]["n"] > 0

    from fastapi.testclient import TestClient

    from cbi.config import get_settings
    from cbi.dashboard.app import create_app

    with TestClient(create_app(get_settings(warehouse=duckdb_url))) as client:
        for horizon in ("1w", "1m", "3m", "6m", "12m"):
            answer = client.get(f"/api/forecast/{horizon}")
            assert answer.status_code == 200, answer.text
            assert answer.json()
