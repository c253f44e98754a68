"""Predictions: the current model per horizon into the warehouse; idempotent; refuses bad models."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cbi.models.base import ModelError
from cbi.models.registry import list_entries
from tests.builders import synthetic_bars, write_exports
from cbi.models.train import train_job
from cbi.predict import predict_job
from cbi.warehouse import connect

PRED = "predictions.zl_predictions_prod_allhistory_1w"


@pytest.fixture
def trained(tmp_path):
    """A registry with a neural model for 1w (tree loads are covered in tests/models),
    trained beside, not in, the warehouse under test."""
    from cbi.config import Settings

    settings = Settings(export_dir=tmp_path / "exports", models_dir=tmp_path / "models",
                        retrain_every_days=126, horizons=["1w"])
    write_exports(synthetic_bars(800, seed=5), settings.export_dir, ["1w"])
    with connect(f"duckdb:///{tmp_path}/train.duckdb") as train_wh:
        train_wh.init()
        train_job(train_wh, settings, model="neural", horizons=["1w"], min_train_rows=250)
    return settings


def snapshot(wh):
    return wh.query(f"SELECT * EXCEPT(created_at) FROM {PRED} ORDER BY date, model_version").to_pylist()


def test_predict_twice_gives_the_same_rows(warehouse, trained):
    first = predict_job(warehouse, trained)
    rows = snapshot(warehouse)
    # the last h = 5 rows have no target yet: a served row and the learner's row for each
    assert first["rows_written"] == len(rows) == 10
    again = predict_job(warehouse, trained)
    assert again["rows_written"] == 10 and snapshot(warehouse) == rows
    assert warehouse.row_count(PRED) == 10
    served = [r for r in rows if r["model_name"] == "served"]
    learner = [r for r in rows if r["model_name"] == "neural"]
    assert len(served) == len(learner) == 5
    for row in served + learner:
        assert row["confidence_interval_lower"] < row["predicted_value"] < row["confidence_interval_upper"]
        assert row["target_date"] > row["date"] and row["interval_level"] == pytest.approx(0.9)
        assert row["origin_close"] > 0
    assert {r["served_by"] for r in served} == {first["served_by"]["1w"]}
    assert first["served_by"]["1w"] in ("neural", "random_walk")
    assert all(r["served_by"] is None for r in learner)
    if first["served_by"]["1w"] == "random_walk":  # no change: the forecast is the origin close
        assert all(r["predicted_value"] == pytest.approx(r["origin_close"]) for r in served)


def current_file(settings):
    from cbi.models.registry import current_entries

    entry = current_entries(settings)["1w"]
    return entry, list(p for p in (settings.models_dir / entry["model_name"] / entry["model_version"]).iterdir()
                       if p.name == entry["model_file"])[0]


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_bad_model_file_is_a_clear_error_and_nothing_is_written(duckdb_url, trained, damage):
    entry, path = current_file(trained)
    if damage == "missing":
        path.unlink()
    else:
        path.write_bytes(path.read_bytes()[:100] + b"garbage")
    with connect(duckdb_url) as wh:
        wh.init()
        with pytest.raises(ModelError, match=f"{entry['model_version']}|corrupt") as info:
            predict_job(wh, trained)
        assert str(path) in str(info.value)
        assert wh.row_count(PRED) == 0


def test_predict_without_a_model_says_train_first(duckdb_url, tmp_path):
    from cbi.config import Settings

    settings = Settings(models_dir=tmp_path / "none", horizons=["1w"])
    with connect(duckdb_url) as wh:
        wh.init()
        with pytest.raises(ModelError, match="cbi train"):
            predict_job(wh, settings)


def test_cli_train_predict_and_list(tmp_path, monkeypatch):
    from cbi import console
    from cbi.cli import app

    monkeypatch.setattr(console.console, "width", 200)  # the results table, unwrapped
    monkeypatch.setenv("CBI_WAREHOUSE", f"duckdb:///{tmp_path}/cli.duckdb")
    monkeypatch.setenv("CBI_EXPORT_DIR", str(tmp_path / "exports"))
    monkeypatch.setenv("CBI_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("CBI_RETRAIN_EVERY_DAYS", "252")
    write_exports(synthetic_bars(1300, seed=2), tmp_path / "exports", ["1w"])
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    result = runner.invoke(app, ["train", "--model", "tree", "--horizon", "1w"])
    assert result.exit_code == 0, result.output
    assert "random_walk" in result.output and "drift" in result.output and "tree-prod-1w-" in result.output
    result = runner.invoke(app, ["predict", "--horizon", "1w"])
    assert result.exit_code == 0 and "10 prediction row(s) merged" in result.output, result.output
    assert "serves random_walk" in result.output or "serves tree" in result.output
    result = runner.invoke(app, ["models", "list"])
    assert result.exit_code == 0 and "✓" in result.output, result.output
    assert len(list_entries_for(tmp_path / "models")) == 1
    assert "1w: serves" in result.output  # what the product serves, beside the registry
    result = runner.invoke(app, ["models", "report"])
    assert result.exit_code == 0, result.output
    for name in ("served", "tree", "random_walk", "drift"):
        assert name in result.output
    import json

    result = runner.invoke(app, ["models", "report", "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert {r["forecaster"] for r in report} == {"served", "tree", "random_walk", "drift"}
    served = next(r for r in report if r["forecaster"] == "served")
    assert served["served_by"] in ("tree", "random_walk") and served["rows"] > 0
    assert served["periods"] == served["rows"] // 5 and 0 <= served["coverage"] <= 1
    for key in ("mase", "dm_stat", "dm_pvalue", "coverage_worst_year", "worst_year", "mean_width",
                "winkler_rel_rw", "pinball", "directional_accuracy", "nonzero_share", "model_version"):
        assert key in served
    bad = runner.invoke(app, ["train", "--horizon", "2y"])
    assert bad.exit_code == 2 and "unknown horizon" in bad.output


def list_entries_for(models_dir):
    from cbi.config import Settings

    return list_entries(Settings(models_dir=models_dir))


def test_forecast_shrinks_the_model_output_by_the_entrys_weight(trained):
    import numpy as np

    from cbi.models.data import read_training
    from cbi.models.registry import current_entries, load_model
    from cbi.predict import forecast

    entry = current_entries(trained)["1w"]
    assert 0.0 <= entry["shrink"] <= 1.0 and "metrics_raw" in entry
    frame = read_training(trained.export_dir, "prod", "1w")
    raw = load_model(entry).predict(frame.features(frame.unlabelled))
    close = frame.unlabelled["databento_close"].to_numpy(dtype=float)
    for shrink in (entry["shrink"], 0.0, 0.5):
        table = forecast(frame, {**entry, "shrink": shrink}, trained)
        assert np.allclose(table["predicted_value"].to_numpy(), close * np.exp(shrink * raw))
    legacy = {k: v for k, v in entry.items() if k != "shrink"}  # an entry from before shrinkage
    assert np.allclose(forecast(frame, legacy, trained)["predicted_value"].to_numpy(), close * np.exp(raw))


def test_future_target_dates_skip_exchange_holidays():
    import datetime as dt

    from cbi import calendar

    # 21 trading days after Friday 2026-11-27 would land on Christmas counting weekdays only;
    # CME is closed on Christmas Day (Fri 2026-12-25), so the 20th trading day is Mon 12-28.
    assert calendar.add_trading_days("ZL", dt.date(2026, 11, 27), 20) == dt.date(2026, 12, 28)
