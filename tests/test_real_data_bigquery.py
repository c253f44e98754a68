"""The real-data pipeline on BigQuery (18.3): the files of ../shared/data/real through the
commands a user runs (ingest the ZL file and the FRED files, features, export, train the tree
for 1w, predict 1w, the dashboard's forecast route) on the emulator's shared project and on
DuckDB, then every table compared (row counts; numeric columns equal to 1e-12).

Every command run by hand leaves its `ops.pipeline_runs` row and its query costs (18.6);
`cbi cost` counts them. The emulator keeps the real clock (tests/conftest.py): nothing here
asks what day it is.
"""

from __future__ import annotations

import math
import os
import time

import pytest
from typer.testing import CliRunner

from cbi.cli import app
from cbi.warehouse import catalog, connect
from tests.test_real_data import FRED_FILES

runner = CliRunner()
#: The hand-run pipeline: each step is a command a user types.
STEPS = (("ingest bars", "{zl}", "--root", "ZL"), ("ingest fred", "--file", "{fred}"),
         ("features build",), ("export", "--surface", "prod", "--horizon", "1w"),
         ("train", "--model", "tree", "--horizon", "1w"), ("predict", "--horizon", "1w"))
COMPARED = ("market_data", "features", "training", "predictions")


def _pipeline(url: str, real_data, folder) -> dict:
    folder.mkdir()
    os.chdir(folder)  # exports and models land in the run's own folder
    if url.startswith("duckdb"):  # the shared emulator project is initialised already
        assert runner.invoke(app, ["-w", url, "init"]).exit_code == 0
    for step in STEPS:
        args = [*step[0].split()]
        for a in step[1:]:
            if a == "{zl}":
                args.append(str(real_data / "ZL_daily_2004_2021.csv"))
            elif a == "{fred}":
                args.extend(str(real_data / f) for f in FRED_FILES)
            else:
                args.append(a)
        t0 = time.monotonic()
        result = runner.invoke(app, ["-w", url, *args])
        print(f"{url.split(':')[0]} cbi {step[0]}: {time.monotonic() - t0:.1f}s")
        assert result.exit_code == 0, f"cbi {' '.join(args)} on {url.split('?')[0]}: {result.output}"
    from fastapi.testclient import TestClient

    from cbi.config import get_settings
    from cbi.dashboard.app import create_app

    with TestClient(create_app(get_settings(warehouse=url))) as client:
        answer = client.get("/api/forecast/1w")
    assert answer.status_code == 200, answer.text
    return answer.json()


def _tables(url: str) -> dict[str, list[dict]]:
    out = {}
    with connect(url, read_only=True) as wh:
        for spec in catalog.all_tables():
            if spec.is_view or spec.dataset not in COMPARED:
                continue
            order = ", ".join(f"`{k}`" for k in spec.key) or "1"
            out[spec.fqn] = wh.query(f"SELECT * FROM {spec.fqn} ORDER BY {order}").to_pylist()
    return out


def _numeric_differences(a: dict[str, list[dict]], b: dict[str, list[dict]]) -> list[str]:
    problems = []
    for fqn in a:
        if len(a[fqn]) != len(b[fqn]):
            problems.append(f"{fqn}: {len(a[fqn])} rows on DuckDB, {len(b[fqn])} on BigQuery")
            continue
        for i, (ra, rb) in enumerate(zip(a[fqn], b[fqn])):
            for col, va in ra.items():
                vb = rb.get(col)
                if isinstance(va, bool) or not isinstance(va, (int, float)):
                    continue
                if vb is None or (isinstance(va, float) and math.isnan(va)) != (
                        isinstance(vb, float) and math.isnan(vb)):
                    problems.append(f"{fqn} row {i} {col}: {va!r} vs {vb!r}")
                elif not (isinstance(va, float) and math.isnan(va)) and abs(va - vb) > 1e-12:
                    problems.append(f"{fqn} row {i} {col}: {va!r} vs {vb!r}")
            if len(problems) > 20:
                return problems
    return problems


@pytest.mark.bigquery
@pytest.mark.timeout(900)
def test_real_files_pipeline_on_bigquery_matches_duckdb(real_data, bigquery_warehouse, tmp_path,
                                                          monkeypatch):
    bq_url = bigquery_warehouse.url
    duck_url = f"duckdb:///{tmp_path}/cbi.duckdb"
    monkeypatch.chdir(tmp_path)
    # The guard's dry run before every query doubles the emulator's round trips; it has its
    # own tests (tests/warehouse/test_bigquery_errors.py, tests/ops/test_cost.py).
    monkeypatch.setenv("CBI_COST_GUARD_BYTES", "0")
    forecast_duck = _pipeline(duck_url, real_data, tmp_path / "duckdb")
    forecast_bq = _pipeline(bq_url, real_data, tmp_path / "bigquery")
    assert forecast_bq == forecast_duck and forecast_bq

    t0 = time.monotonic()
    duck, bq = _tables(duck_url), _tables(bq_url)
    print(f"tables read in {time.monotonic() - t0:.1f}s")
    assert len(duck["market_data.futures_ohlcv_1d"]) == 4380
    assert duck["predictions.zl_predictions_prod_allhistory_1w"], "the pipeline predicted nothing"
    assert not _numeric_differences(duck, bq), _numeric_differences(duck, bq)[:20]

    # every command run by hand left its run row and its query costs (18.6)
    with connect(bq_url, read_only=True) as wh:
        runs = {r["job"]: r["status"] for r in wh.query(
            "SELECT job, status FROM ops.pipeline_runs").to_pylist()}
        costs = wh.query("SELECT job, COUNT(*) AS n FROM ops.query_costs "
                         "WHERE NOT COALESCE(dry_run, FALSE) GROUP BY job").to_pylist()
    for job in ("ingest bars", "ingest fred", "features build", "export", "train", "predict"):
        assert runs.get(job) == "succeeded", (job, runs)
    assert {c["job"] for c in costs} >= {"ingest bars", "features build", "export", "train", "predict"}
    said = runner.invoke(app, ["-w", bq_url, "cost", "--format", "json"])
    assert said.exit_code == 0, said.output
    import json

    report = json.loads(said.output)
    assert report["jobs"] >= sum(c["n"] for c in costs) > 0  # 18.6: `cbi cost` counts them
    assert {r["job"] for r in report["by_job"]} >= {"ingest bars", "train", "predict"}
