"""The `train` job: walk-forward evaluation, final fit and registry entry per model × horizon,
then the served forecaster and the model report per horizon.

Every walk-forward prediction (models, baselines, and `served`: exactly what the skill gate
of `cbi.models.gate` would have served at each origin) is MERGEd into
`predictions.zl_backtest_{surface}_allhistory_{h}`; the registry entry is written after its
backtest rows commit, so a killed run leaves at most a backtest without an entry (and a
re-run rewrites both: same data and seed give the same version and the same rows). The
report rows go to `predictions.model_report`.

History rule (setting `min_train_rows`): a horizon of h trading days needs more than
min_train_rows + 2h labelled rows; a horizon with fewer is skipped with a message (in the
result's `skipped`), and the others train.
"""

from __future__ import annotations

import datetime as dt
import platform
from importlib.metadata import version as package_version
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import pandas as pd
import pyarrow as pa
from threadpoolctl import threadpool_limits

from cbi.config import HORIZONS, Settings
from cbi.models.base import BASELINES, ModelError, make_model, model_names
from cbi.models.data import TrainingFrame, read_training
from cbi.models.evaluate import metrics, walk_forward, with_intervals
from cbi.models.gate import GATE, gate_now, served_column
from cbi.models.intervals import RULE, calibration_window, final_score_quantile
from cbi.models.registry import model_version, save_entry, save_served
from cbi.models.report import forecaster_figures, report_table, rw_empirical_bounds
from cbi.models.shrinkage import final_weight, min_pairs
from cbi.warehouse import catalog

if TYPE_CHECKING:
    from cbi.warehouse.base import Warehouse

#: progress(task, done, total): the CLI draws bars from it.
TrainProgress = Callable[[str, int, int], None]
PACKAGES = ("lightgbm", "scikit-learn", "numpy", "pandas", "pyarrow", "cbi")


def train_job(wh: Warehouse, settings: Settings, **options: Any) -> dict[str, Any]:
    """Options: model (tree|neural|all), horizons (list, or 'all'), surface (prod|full),
    min_train_rows (default: the setting), progress (callable).

    Result: rows_read, rows_written, models, baselines, served (horizon -> served entry
    summary), skipped (horizon -> why). Raises when every horizon is skipped."""
    surface = options.get("surface") or "prod"
    horizons = pick_horizons(options.get("horizons"), settings)
    names = model_names(options.get("model"))
    progress: TrainProgress | None = options.get("progress")
    min_train = int(options.get("min_train_rows") or settings.min_train_rows)
    result: dict[str, Any] = {"rows_read": 0, "rows_written": 0, "models": [], "baselines": [],
                              "served": {}, "skipped": {}}
    for horizon in horizons:
        frame = read_training(settings.export_dir, surface, horizon, settings.feature_groups)
        result["rows_read"] += len(frame.rows)
        need = history_needed(frame.days, min_train)
        if len(frame.labelled) < need:
            result["skipped"][horizon] = (
                f"{horizon}: skipped, {len(frame.labelled)} labelled rows; needs at least {need} "
                f"(min_train_rows {min_train} + 2 × {frame.days} + 1)")
            continue
        backtests: dict[str, pd.DataFrame] = {}
        reports: dict[str, dict[str, Any]] = {}
        for name in names:
            report = train_one(wh, settings, frame, name, surface, min_train, progress,
                               with_baselines=name == names[0])
            result["rows_written"] += report.pop("rows_written")
            backtests[name] = report.pop("backtest")
            reports[name] = report
            result["baselines"] += [{"horizon": horizon, "model": b, **report["baselines"][b]}
                                    for b in BASELINES if name == names[0]]
            result["models"].append(report)
        served, written = serve_and_report(wh, settings, frame, surface, backtests, reports)
        result["served"][horizon] = served
        result["rows_written"] += written
    if result["skipped"] and len(result["skipped"]) == len(horizons):
        raise ModelError("no horizon has enough history to train: " + "; ".join(result["skipped"].values()))
    return result


def history_needed(days: int, min_train: int) -> int:
    """Labelled rows a horizon of `days` needs: the first window, twice h (embargo), one test row."""
    return min_train + 2 * days + 1


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


def train_one(wh: Warehouse, settings: Settings, frame: TrainingFrame, name: str, surface: str,
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
    # interval's score quantile from the volatility-normalised residuals of the shrunk
    # walk-forward forecasts (see `shrinkage`, `intervals`): half-width = q · σ̂_h today.
    meta["shrink"] = final_weight(backtest[f"{name}_raw"].to_numpy(), actual, window, min_pairs(frame.days))
    meta["score_quantile"] = final_score_quantile(backtest[name].to_numpy(), actual,
                                                  backtest["sigma_h"].to_numpy(), level,
                                                  RULE.window(frame.days))
    meta["halfwidth"] = meta["score_quantile"] * float(backtest["sigma_h"].iloc[-1])
    meta["interval_rule"] = RULE.record()
    meta["metrics_raw"] = raw_scores
    meta["shrinkage"] = {"rule": "clip(sum(raw*actual)/sum(raw^2), 0, 1) over known out-of-sample pairs",
                         "window": window, "min_pairs": min_pairs(frame.days),
                         "walk_forward_mean": float(backtest["shrink"].mean())}
    save_entry(settings, model, meta)
    return {"horizon": frame.horizon, "model": name, "model_version": version,
            "metrics": scores[name], "metrics_raw": raw_scores, "shrink": meta["shrink"],
            "baselines": {b: scores[b] for b in BASELINES}, "rows_written": written,
            "backtest": backtest}


def _write_backtests(wh: Warehouse, surface: str, horizon: str, version: str, name: str,
                     priced: dict[str, pd.DataFrame], level: float) -> int:
    fqn = catalog.backtest_table(surface, horizon)
    now = dt.datetime.now(dt.timezone.utc)
    # Baselines are keyed by their own name: they are the same for every model version.
    # One MERGE for all of them: each MERGE has a fixed cost, far above a few thousand rows.
    tables = [backtest_table(rows, horizon, version if col == name else col, col, level, now)
              for col, rows in priced.items()]
    return wh.merge(fqn, pa.concat_tables(tables)).rows_merged


def backtest_table(rows: pd.DataFrame, horizon: str, version: str, name: str, level: float,
                   created_at: dt.datetime, served_by: Any = None) -> pa.Table:
    n = len(rows)
    by = list(served_by) if served_by is not None and not isinstance(served_by, str) else [served_by] * n
    return pa.table({
        "date": pa.array(rows["date"], pa.date32()),
        "horizon": [horizon] * n, "model_version": [version] * n, "model_name": [name] * n,
        "served_by": pa.array(by, pa.string()),
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


def serve_and_report(wh: Warehouse, settings: Settings, frame: TrainingFrame, surface: str,
                     backtests: dict[str, pd.DataFrame],
                     reports: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], int]:
    """The served forecaster of one horizon: its walk-forward (backtest rows, model_name
    `served`), its registry record for `cbi predict`, and the model report rows."""
    level, days, horizon = settings.interval_level, frame.days, frame.horizon
    learners = list(backtests)
    first = backtests[learners[0]]
    combined = first[["row", "date", "target_date", "origin_close", "actual_log", "sigma_h",
                      "random_walk", "drift"]].copy()
    for name, bt in backtests.items():
        if not bt["row"].equals(first["row"]):
            raise ModelError(f"{horizon}: walk-forward rows of {name} differ from {learners[0]}")
        combined[name] = bt[name].to_numpy()
        combined[f"shrink_{name}"] = bt["shrink"].to_numpy()
    gated = served_column(combined, learners, days)
    versions = {name: reports[name]["model_version"] for name in learners}
    # served-{surface}-{horizon}-{hash of the gate, interval rule, learner versions and data}
    version = model_version("served", horizon, surface, {"gate": GATE.record(), "intervals": RULE.record(),
                                                         "learners": versions}, frame.fingerprint())
    priced = with_intervals(gated, "served", level, days)
    now = dt.datetime.now(dt.timezone.utc)
    table = backtest_table(priced, horizon, version, "served", level, now, gated["served_by"].to_numpy())
    written = wh.merge(catalog.backtest_table(surface, horizon), table).rows_merged

    # What is served for forecasts made now: the gate on every walk-forward pair.
    decision = gate_now(combined, learners, days)
    chosen = decision["served_by"]
    actual = combined["actual_log"].to_numpy()
    shrink = 0.0
    if chosen != "random_walk":  # the weight, capped by the gate: 0 unless the gate is open
        shrink = float(final_weight(backtests[chosen][f"{chosen}_raw"].to_numpy(), actual,
                                    calibration_window(days), min_pairs(days)))
    record = {
        "model_version": version, "model_name": "served", "horizon": horizon, "horizon_days": days,
        "surface": surface, "served_by": chosen, "learner_version": versions.get(chosen),
        "learners": versions, "shrink": shrink, "gate": {**GATE.record(), **decision},
        "interval_rule": RULE.record(), "interval_level": level,
        "score_quantile": final_score_quantile(gated["served"].to_numpy(), actual,
                                               combined["sigma_h"].to_numpy(), level, RULE.window(days)),
        "metrics": metrics(priced, level),
        "walk_forward_served_share": {k: float(v) for k, v in
                                      gated["served_by"].value_counts(normalize=True).items()},
        "training_range": [str(frame.labelled["date"].iloc[0]), str(frame.labelled["date"].iloc[-1])],
        "created_at": now.isoformat(),
    }
    save_served(settings, record)

    # The report: every forecaster on the same walk-forward rows.
    labelled = frame.labelled
    rw_lo_all, rw_hi_all = rw_empirical_bounds(labelled["target_log_return"].to_numpy(dtype=float),
                                               labelled["date"].to_numpy(),
                                               labelled["target_date"].to_numpy(), level)
    rows = combined["row"].to_numpy()
    rw_lo, rw_hi = rw_lo_all[rows], rw_hi_all[rows]
    forecasters = {"served": (priced, version, chosen)}
    for name in learners:
        forecasters[name] = (with_intervals(combined, name, level, days), versions[name], None)
    for name in BASELINES:
        forecasters[name] = (with_intervals(combined, name, level, days), name, None)
    report_rows = [{"surface": surface, "horizon": horizon, "forecaster": f, "model_version": v,
                    "served_by": by, "created_at": now,
                    **forecaster_figures(p, days, level, rw_lo, rw_hi)}
                   for f, (p, v, by) in forecasters.items()]
    written += wh.merge("predictions.model_report", report_table(report_rows)).rows_merged
    # A summary only: the result is logged with the run (the figures are in the report table).
    return {"model_version": version, "served_by": chosen, "shrink": shrink,
            "gate": decision["learners"]}, written
