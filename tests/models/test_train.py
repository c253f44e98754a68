"""Training: backtest rows in the warehouse, registry entries, determinism, the current rule."""

from __future__ import annotations

import json

import pytest

from cbi.models.registry import current_entries, list_entries, metrics_table
from cbi.models.train import train_job
from cbi.warehouse import connect
from tests.models.conftest import FAST


@pytest.fixture
def wh(settings):
    wh = connect(settings.warehouse)
    wh.init()
    yield wh
    wh.close()


def backtest_rows(wh, horizon="1w"):
    return wh.query(f"SELECT * EXCEPT(created_at) FROM predictions.zl_backtest_prod_allhistory_{horizon} "
                    "ORDER BY model_version, date").to_pylist()


def test_train_writes_backtests_and_registry_and_rerun_is_idempotent(wh, settings, synthetic_exports):
    first = train_job(wh, settings, model="all", horizons=["1w"], **FAST)
    rows = backtest_rows(wh)
    versions = {r["model_version"] for r in rows}
    served = first["served"]["1w"]["model_version"]
    assert served.startswith("served-prod-1w-")
    assert versions == {m["model_version"] for m in first["models"]} | {"random_walk", "drift", served}
    per_model = len(rows) // 5
    report = wh.query("SELECT * FROM predictions.model_report").to_pylist()
    assert {r["forecaster"] for r in report} == {"served", "tree", "neural", "random_walk", "drift"}
    assert first["rows_written"] == len(rows) + len(report) and len(rows) == 5 * per_model
    assert all(r["actual_value"] is not None and r["target_date"] > r["date"] for r in rows)
    served_rows = [r for r in rows if r["model_name"] == "served"]
    assert len(served_rows) == per_model
    assert {r["served_by"] for r in served_rows} <= {"tree", "neural", "random_walk"}
    assert all(r["served_by"] is None for r in rows if r["model_name"] != "served")
    second = train_job(wh, settings, model="all", horizons=["1w"], **FAST)  # same data + seed
    assert [m["model_version"] for m in second["models"]] == [m["model_version"] for m in first["models"]]
    assert backtest_rows(wh) == rows  # same keys, same values: nothing added
    assert second["served"]["1w"]["model_version"] == served
    assert wh.row_count("predictions.model_report") == 5
    entries = list_entries(settings)
    assert len(entries) == 2
    meta = entries[0]
    for key in ("model_version", "horizon", "feature_hash", "training_range", "training_rows",
                "parameters", "metrics", "packages", "created_at", "baselines", "halfwidth",
                "score_quantile", "interval_rule"):
        assert key in meta, key
    assert (settings.models_dir / meta["model_name"] / meta["model_version"] / "metadata.json").exists()
    # The interval rule chosen on early years is recorded in the entry.
    assert meta["interval_rule"]["method"] == "conformal_ewma_normalised"
    assert meta["interval_rule"]["chosen_on"].startswith("origins 2004")


def test_same_data_and_seed_give_same_version_and_predictions(wh, settings, synthetic_exports, tmp_path):
    from cbi.models.registry import load_model
    from cbi.models.data import read_training

    a = train_job(wh, settings, model="tree", horizons=["1m"], **FAST)["models"][0]
    other = settings.model_copy(update={"models_dir": tmp_path / "other"})
    b = train_job(wh, other, model="tree", horizons=["1m"], **FAST)["models"][0]
    assert a["model_version"] == b["model_version"] and a["metrics"] == b["metrics"]
    frame = read_training(settings.export_dir, "prod", "1m")
    x = frame.features(frame.unlabelled)
    ea, eb = list_entries(settings)[0], list_entries(other)[0]
    assert (load_model(ea).predict(x) == load_model(eb).predict(x)).all()
    c = train_job(wh, settings.model_copy(update={"seed": 7}), model="tree", horizons=["1m"], **FAST)
    assert c["models"][0]["model_version"] != a["model_version"]


def fake_entry(folder, name, horizon, mase, coverage, created):
    path = folder / name / f"{name}-{created}"
    path.mkdir(parents=True)
    meta = {"model_version": f"{name}-{created}", "model_name": name, "horizon": horizon,
            "surface": "prod", "created_at": created, "metrics": {"mase": mase, "coverage": coverage},
            "baselines": {"random_walk": {"mase": 1.0}, "drift": {"mase": 1.1}}}
    (path / "metadata.json").write_text(json.dumps(meta))


def test_current_model_is_best_mase_within_coverage_tolerance(settings):
    d = settings.models_dir
    fake_entry(d, "tree", "1w", mase=0.95, coverage=0.80, created="2024-01-02")  # misses coverage
    fake_entry(d, "neural", "1w", mase=0.99, coverage=0.91, created="2024-01-02")
    fake_entry(d, "neural", "1m", mase=0.90, coverage=0.70, created="2024-01-01")  # superseded
    fake_entry(d, "neural", "1m", mase=1.20, coverage=0.80, created="2024-01-03")
    fake_entry(d, "tree", "1m", mase=1.10, coverage=0.75, created="2024-01-03")
    current = current_entries(settings)
    assert current["1w"]["model_name"] == "neural" and current["1w"]["eligible"]
    # none within tolerance at 1m: fallback = coverage closest to the level, flagged
    assert current["1m"]["model_version"] == "neural-2024-01-03" and not current["1m"]["eligible"]
    table = metrics_table(settings)
    assert {(r["horizon"], r["model"]) for r in table} == {
        (h, m) for h in ("1w", "1m") for m in ("tree", "neural", "random_walk", "drift")}
    assert [r["model"] for r in table if r["is_current"]] == ["neural", "neural"]
    assert set(table[0]) >= {"mase", "mae", "rmse", "directional_accuracy", "coverage",
                             "interval_width", "pinball", "is_current"}


def test_a_horizon_without_enough_history_is_skipped_and_the_others_train(wh, settings, synthetic_exports):
    from cbi.models.base import ModelError
    from cbi.models.train import history_needed

    # 1000 rows: 995 labelled at 1w, 979 at 1m. With a first window of 960 rows, 1w needs
    # 971 and trains; 1m needs 1003 and is skipped, with a message that says why.
    tight = settings.model_copy(update={"min_train_rows": 960})
    assert history_needed(5, 960) == 971 and history_needed(21, 960) == 1003
    result = train_job(wh, tight, model="tree", horizons=["1w", "1m"])
    assert list(result["skipped"]) == ["1m"] and "needs at least 1003" in result["skipped"]["1m"]
    assert [m["horizon"] for m in result["models"]] == ["1w"] and "1w" in result["served"]
    with pytest.raises(ModelError, match="no horizon has enough history"):
        train_job(wh, tight, model="tree", horizons=["1m"])


def test_cli_train_exit_status_says_a_horizon_was_skipped(tmp_path, monkeypatch, synthetic_exports, settings):
    from typer.testing import CliRunner

    from cbi.cli import app
    from cbi.models.commands import SKIPPED_EXIT

    monkeypatch.setenv("CBI_WAREHOUSE", settings.warehouse)
    monkeypatch.setenv("CBI_EXPORT_DIR", str(settings.export_dir))
    monkeypatch.setenv("CBI_MODELS_DIR", str(settings.models_dir))
    monkeypatch.setenv("CBI_RETRAIN_EVERY_DAYS", "252")
    monkeypatch.setenv("CBI_MIN_TRAIN_ROWS", "960")
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    result = runner.invoke(app, ["train", "--model", "tree", "--horizon", "1w", "--horizon", "1m"])
    assert result.exit_code == SKIPPED_EXIT == 3, result.output
    assert "1m: skipped" in result.output and "1w: serves" in result.output


def test_training_writes_backtests_and_report_on_each_engine(warehouse, settings, synthetic_exports):
    """18.4: train's warehouse writes (backtest rows of every forecaster, the model report) and
    a rerun that changes nothing, on both engines. The tree alone: the learners do not touch
    the warehouse, so the cases above that train them all stay on DuckDB (`wh`)."""
    first = train_job(warehouse, settings, model="tree", horizons=["1w"], **FAST)
    rows = backtest_rows(warehouse)
    served = first["served"]["1w"]["model_version"]
    assert {r["model_version"] for r in rows} == {first["models"][0]["model_version"],
                                                   "random_walk", "drift", served}
    report = warehouse.query("SELECT forecaster, horizon FROM predictions.model_report").to_pylist()
    assert {r["forecaster"] for r in report} >= {"served", "tree", "random_walk", "drift"}
    assert first["rows_written"] == len(rows) + len(report) > 0
    assert all(r["actual_value"] is not None and r["target_date"] > r["date"] for r in rows)
    second = train_job(warehouse, settings, model="tree", horizons=["1w"], **FAST)
    assert second["served"]["1w"]["model_version"] == served
    assert backtest_rows(warehouse) == rows  # same keys, same values: nothing added
    assert warehouse.row_count("predictions.model_report") == len(report)
