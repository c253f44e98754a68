"""The `train` job: walk-forward evaluation, final fit and registry entry per model × horizon.

Every walk-forward prediction (models and baselines) is MERGEd into
`predictions.zl_backtest_{surface}_allhistory_{h}`; the registry entry is written after its
backtest rows commit, so a killed run leaves at most a backtest without an entry (and a
re-run rewrites both: same data and seed give the same version and the same rows).
"""

from __future__ import annotations

import datetime as dt
import platform
from importlib.metadata import version as package_version
from typing import Any, Callable

import numpy as np
import pandas as pd
import pyarrow as pa
from threadpoolctl import threadpool_limits

from cbi.config import HORIZONS, Settings
from cbi.models.base import BASELINES, make_model, model_names
from cbi.models.data import TrainingFrame, read_training
from cbi.models.evaluate import MIN_TRAIN_ROWS, metrics, walk_forward, with_intervals
from cbi.models.intervals import calibration_window, final_halfwidth
from cbi.models.registry import model_version, save_entry
from cbi.models.shrinkage import final_weight, min_pairs

#: progress(task, done, total): the CLI draws bars from it.
TrainProgress = Callable[[str, int, int], None]
PACKAGES = ("lightgbm", "scikit-learn", "numpy", "pandas", "pyarrow", "cbi")


def train_job(wh, settings: Settings, **options: Any) -> dict[str, Any]:
    """Options: model (tree|neural|all), horizons (list, or 'all'), surface (prod|full),
    min_train_rows, progress (callable)."""
    surface = options.get("surface") or "prod"
    horizons = pick_horizons(options.get("horizons"), settings)
    names = model_names(options.get("model"))
    progress: TrainProgress | None = options.get("progress")
    min_train = int(options.get("min_train_rows") or MIN_TRAIN_ROWS)
    result: dict[str, Any] = {"rows_read": 0, "rows_written": 0, "models": [], "baselines": []}
    for horizon in horizons:
        frame = read_training(settings.export_dir, surface, horizon)
        result["rows_read"] += len(frame.rows)
        for name in names:
            report = train_one(wh, settings, frame, name, surface, min_train, progress,
                               with_baselines=name == names[0])
            result["rows_written"] += report.pop("rows_written")
            result["baselines"] += [{"horizon": horizon, "model": b, **report["baselines"][b]}
                                    for b in BASELINES if name == names[0]]
            result["models"].append(report)
    return result


def pick_horizons(value: Any, settings: Settings) -> list[str]:
    if value is None:
        return list(settings.horizons)
    # "1w,1m", ["1w", "1m"] and ["1w,1m"] all mean the same two horizons.
    chosen = [h.strip() for item in ([value] if isinstance(value, str) else value)
              for h in str(item).split(",") if h.strip()]
    if "all" in chosen:
        return list(settings.horizons)
    unknown = [h for h in chosen if h not in HORIZONS]
    if unknown:
        raise ValueError(f"unknown horizon(s) {unknown}; choose from {list(HORIZONS)} or all")
    return chosen


def train_one(wh, settings: Settings, frame: TrainingFrame, name: str, surface: str,
              min_train: int, progress: TrainProgress | None,
              with_baselines: bool = True) -> dict[str, Any]:
    """Walk-forward, backtest rows, final fit on every labelled row, registry entry."""
    task = f"{name} {frame.horizon}"
    tick = (lambda done, total: progress(task, done, total)) if progress else None
    backtest = walk_forward(frame, name, settings.seed, settings.retrain_every_days, min_train, tick)
    level = settings.interval_level
    priced = {col: with_intervals(backtest, col, level, frame.days) for col in (name, *BASELINES)}
    scores = {col: metrics(p, level) for col, p in priced.items()}
    # The learner before shrinkage, for the report: how much the shrinkage rule changed.
    raw_scores = metrics(with_intervals(backtest, f"{name}_raw", level, frame.days), level)
    model = make_model(name, settings.seed)
    version = model_version(name, frame.horizon, surface, model.params, frame.fingerprint())
    # Baselines go in once per horizon (with the first model): they do not depend on it.
    written = _write_backtests(wh, surface, frame.horizon, version, name,
                               priced if with_baselines else {name: priced[name]}, level)
    labelled = frame.labelled
    with threadpool_limits(limits=1):
        model.fit(frame.features(labelled), labelled["target_log_return"].to_numpy(dtype=float))
    meta = _metadata(frame, name, surface, version, model.params, backtest, scores, level)
    window, actual = calibration_window(frame.days), backtest["actual_log"].to_numpy()
    # Forecasts made now: shrink = the same out-of-sample rule on the latest pairs, and the
    # interval from the residuals of the shrunk walk-forward forecasts (see `shrinkage`).
    meta["shrink"] = final_weight(backtest[f"{name}_raw"].to_numpy(), actual, window, min_pairs(frame.days))
    meta["halfwidth"] = final_halfwidth(backtest[name].to_numpy(), actual, level, window)
    meta["metrics_raw"] = raw_scores
    meta["shrinkage"] = {"rule": "clip(sum(raw*actual)/sum(raw^2), 0, 1) over known out-of-sample pairs",
                         "window": window, "min_pairs": min_pairs(frame.days),
                         "walk_forward_mean": float(backtest["shrink"].mean())}
    save_entry(settings, model, meta)
    return {"horizon": frame.horizon, "model": name, "model_version": version,
            "metrics": scores[name], "metrics_raw": raw_scores, "shrink": meta["shrink"],
            "baselines": {b: scores[b] for b in BASELINES}, "rows_written": written}


def _write_backtests(wh, surface: str, horizon: str, version: str, name: str,
                     priced: dict[str, pd.DataFrame], level: float) -> int:
    fqn = f"predictions.zl_backtest_{surface}_allhistory_{horizon}"
    now = dt.datetime.now(dt.timezone.utc)
    # Baselines are keyed by their own name: they are the same for every model version.
    # One MERGE for all of them: each MERGE has a fixed cost, far above a few thousand rows.
    tables = [backtest_table(rows, horizon, version if col == name else col, col, level, now)
              for col, rows in priced.items()]
    return wh.merge(fqn, pa.concat_tables(tables)).rows_merged


def backtest_table(rows: pd.DataFrame, horizon: str, version: str, name: str, level: float,
                   created_at: dt.datetime) -> pa.Table:
    n = len(rows)
    return pa.table({
        "date": pa.array(rows["date"], pa.date32()),
        "horizon": [horizon] * n, "model_version": [version] * n, "model_name": [name] * n,
        "target_date": pa.array(rows["target_date"], pa.date32()),
        "origin_close": _floats(rows["origin_close"]),
        "predicted_value": _floats(rows["predicted_value"]),
        "confidence_interval_lower": _floats(rows["confidence_interval_lower"]),
        "confidence_interval_upper": _floats(rows["confidence_interval_upper"]),
        "interval_level": [level] * n,
        "actual_value": _floats(rows["actual_value"]),
        "created_at": pa.array([created_at] * n, pa.timestamp("us", tz="UTC")),
    })


def _floats(values: pd.Series) -> pa.Array:
    arr = values.to_numpy(dtype=float)
    return pa.array(arr, pa.float64(), mask=np.isnan(arr))  # no interval yet -> NULL


def _metadata(frame: TrainingFrame, name: str, surface: str, version: str, params: dict,
              backtest: pd.DataFrame, scores: dict, level: float) -> dict[str, Any]:
    labelled = frame.labelled
    return {
        "model_version": version, "model_name": name, "horizon": frame.horizon,
        "horizon_days": frame.days, "surface": surface, "feature_hash": frame.feature_hash,
        "feature_columns": frame.feature_columns, "source_file": str(frame.path),
        "watermarks": frame.watermarks,
        "training_range": [str(labelled["date"].iloc[0]), str(labelled["date"].iloc[-1])],
        "training_rows": int(len(labelled)), "parameters": params, "interval_level": level,
        "walk_forward": {"test_range": [str(backtest["date"].iloc[0]), str(backtest["date"].iloc[-1])],
                         "test_rows": int(len(backtest)),
                         "refits": int(backtest["train_end"].nunique())},
        "metrics": scores[name], "baselines": {b: scores[b] for b in BASELINES},
        "packages": {**{p: _pkg(p) for p in PACKAGES}, "python": platform.python_version()},
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(),
    }


def _pkg(name: str) -> str | None:
    try:
        return package_version(name)
    except Exception:  # noqa: BLE001 - a missing distribution is just unknown
        return None
