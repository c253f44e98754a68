"""Parquet export: every surface x horizon behind the gates, atomic, incremental, metadata."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow.parquet as pq
import pytest

from cbi.config import get_settings
from cbi.export import QualityGateError, export_job, export_path, read_metadata
from cbi.transform.features import FEATURES, features_job
from cbi.warehouse import catalog, connect
from tests.transform.test_features import CONTINUOUS, T0, rolling_series


@pytest.fixture
def settings(tmp_path):
    return get_settings(horizons=["1w", "1m"], export_dir=tmp_path / "exports")


def build(wh, settings, rows=60):
    wh.merge(CONTINUOUS, rolling_series(rows))
    features_job(wh, settings)


@pytest.fixture
def duck(duckdb_url, settings):
    wh = connect(duckdb_url)
    wh.init()
    build(wh, settings)
    yield wh
    wh.close()


def test_export_writes_every_surface_and_horizon(duck, settings):
    result = export_job(duck, settings)
    assert len(result["files"]) == 4 and result["rows_written"] == 4 * 60
    for surface in ("prod", "full"):
        for horizon, h in (("1w", 5), ("1m", 21)):
            path = export_path(settings, surface, horizon)
            table = pq.read_table(path)
            name = f"training.zl_training_{surface}_allhistory_{horizon}"
            assert table.column_names == catalog.table(name).column_names
            assert table.num_rows == 60 and table.column("date").to_pylist() == sorted(set(table.column("date").to_pylist()))
            assert table.column("target_date").null_count == h
            assert table.column("target_date").to_pylist()[-h:] == [None] * h
            meta = read_metadata(path)
            assert meta["row_count"] == 60 and len(meta["feature_hash"]) == 16
            assert set(meta["watermarks"]) >= {"continuous", "fred", "news"}
            assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"
    assert not list(settings.export_dir.glob(".*.tmp"))


def test_failing_gate_refuses_the_export_and_writes_nothing(duck, settings):
    duck.execute(f"INSERT INTO {FEATURES} (date, symbol) VALUES (DATE '2020-01-03', 'ZL')")
    with pytest.raises(QualityGateError, match="unique keys") as err:
        export_job(duck, settings)
    assert not err.value.report.ok
    assert not settings.export_dir.exists() or not list(settings.export_dir.iterdir())


def test_interrupted_export_leaves_the_previous_file_intact(duck, settings, monkeypatch):
    export_job(duck, settings, surfaces=["prod"], horizons=["1w"])
    path = export_path(settings, "prod", "1w")
    before = path.read_bytes()
    duck.merge(CONTINUOUS, rolling_series(70, updated_at=T0 + dt.timedelta(1)).slice(60))
    features_job(duck, settings)
    calls = []

    def die_midway(self, table, *args, **kwargs):  # the first row group lands, then a crash
        calls.append(table.num_rows)
        raise KeyboardInterrupt("killed midway")

    monkeypatch.setattr("cbi.export.ROW_GROUP", 20)
    monkeypatch.setattr(pq.ParquetWriter, "write_table", die_midway)
    with pytest.raises(KeyboardInterrupt):
        export_job(duck, settings, surfaces=["prod"], horizons=["1w"])
    assert calls and path.read_bytes() == before
    assert not list(settings.export_dir.glob(".*.tmp"))


def test_incremental_export_equals_a_full_export(duck, settings, tmp_path):
    export_job(duck, settings)
    duck.merge(CONTINUOUS, rolling_series(70, updated_at=T0 + dt.timedelta(1)).slice(60))
    features_job(duck, settings)
    result = export_job(duck, settings)
    assert {f["mode"] for f in result["files"]} == {"incremental"}
    # 10 new dates + the h rows before them whose targets became known
    assert [f["rows_read"] for f in result["files"]] == [15, 31, 15, 31]
    again = export_job(duck, settings)
    assert {f["mode"] for f in again["files"]} == {"unchanged"}
    fresh = get_settings(horizons=["1w", "1m"], export_dir=tmp_path / "fresh")
    export_job(duck, fresh)
    for surface in ("prod", "full"):
        for horizon in ("1w", "1m"):
            inc = pq.read_table(export_path(settings, surface, horizon))
            whole = pq.read_table(export_path(fresh, surface, horizon))
            assert inc.num_rows == 70 and inc.equals(whole)


def test_export_on_both_engines_reads_arrow(warehouse, tmp_path):
    """On BigQuery the rows come through the Storage Read API (the backend's storage client)."""
    settings = get_settings(horizons=["1w"], export_dir=tmp_path / "exports")
    build(warehouse, settings, rows=40)
    if warehouse.SUPPORTS_STORAGE_READ_API:
        assert warehouse._storage is not None  # job.to_arrow(bqstorage_client=...) reads it
    result = export_job(warehouse, settings, surfaces=["full"], horizons=["1w"])
    table = pq.read_table(export_path(settings, "full", "1w"))
    assert result["rows_written"] == table.num_rows == 40
    assert table.column("target_date").to_pylist()[:35] == rolling_series(40)["date"].to_pylist()[5:]
    assert json.loads(table.schema.metadata[b"cbi"])["warehouse"] == warehouse.engine


def test_cli_features_build_and_export(duckdb_url, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from cbi.cli import app

    wh = connect(duckdb_url)
    wh.init()
    wh.merge(CONTINUOUS, rolling_series(40))
    wh.close()
    monkeypatch.setenv("CBI_WAREHOUSE", duckdb_url)  # `-w` sets it too; monkeypatch undoes it
    monkeypatch.setenv("CBI_EXPORT_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("CBI_HORIZONS", '["1w"]')
    runner = CliRunner()
    built = runner.invoke(app, ["-w", duckdb_url, "features", "build", "--full"])
    assert built.exit_code == 0, built.output
    exported = runner.invoke(app, ["-w", duckdb_url, "export", "--surface", "prod", "--horizon", "1w"])
    assert exported.exit_code == 0, exported.output
    assert pq.read_table(tmp_path / "out" / "zl_training_prod_allhistory_1w.parquet").num_rows == 40
    bad = runner.invoke(app, ["-w", duckdb_url, "export", "--surface", "prod", "--horizon", "2y"])
    assert bad.exit_code == 2 and "unknown horizon" in bad.output
