"""Walk-forward evaluation: expanding window, periodic refits, an embargo, baselines.

Rows are labelled training rows in date order; row i's target is h trading days later
(row i + h of the export). A test block starting at row s trains on rows [0, s − 2h):
their targets end at row s − h − 1, i.e. an embargo of h trading days before the first
test row's origin. Blocks are `retrain_every` rows long; every row from the first block
on gets one out-of-sample prediction.

A model's column is its forecast shrunk toward no change by a weight fitted only on
walk-forward pairs known at each origin (see `cbi.models.shrinkage`); the learner's own
output is kept as `{model}_raw` and the weight as `shrink`. `sigma_h` is the h-day
volatility forecast known at each origin (`cbi.models.intervals`), which scales every
forecaster's interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from cbi.models.base import ModelError, make_model
from cbi.models.data import TrainingFrame
from cbi.models.intervals import (RULE, IntervalRule, calibration_window, horizon_sigma,
                                  normalised_halfwidths, out_of_sample_halfwidths, price_interval)
from cbi.models.shrinkage import min_pairs, shrinkage_weights

#: The first window: about three years of trading days before the first test block.
MIN_TRAIN_ROWS = 756

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Split:
    train_end: int  # rows [0, train_end) train
    test_start: int
    test_end: int  # rows [test_start, test_end) are predicted


def walk_forward_splits(n_rows: int, days: int, retrain_every: int,
                        min_train: int = MIN_TRAIN_ROWS) -> list[Split]:
    """The refit schedule over `n_rows` labelled rows for a horizon of `days`."""
    if retrain_every < 1:
        raise ModelError(f"retrain_every_days must be at least 1, not {retrain_every}")
    first = min_train + 2 * days
    if first >= n_rows:
        raise ModelError(f"walk-forward needs more than {first} labelled rows for {days}-day "
                         f"targets (first window {min_train} + embargo); found {n_rows}")
    return [Split(s - 2 * days, s, min(s + retrain_every, n_rows))
            for s in range(first, n_rows, retrain_every)]


def walk_forward(frame: TrainingFrame, model_name: str, seed: int, retrain_every: int,
                 min_train: int = MIN_TRAIN_ROWS, progress: Progress | None = None,
                 shrink: bool = True) -> pd.DataFrame:
    """Out-of-sample log-return predictions of one model (and both baselines) per test row.

    With `shrink` (the default) the model's column is shrunk toward no change by the
    out-of-sample combination weight (`cbi.models.shrinkage`); without it, it is the raw
    learner output."""
    rows = frame.labelled
    x, y = frame.features(rows), rows["target_log_return"].to_numpy(dtype=float)
    splits = walk_forward_splits(len(rows), frame.days, retrain_every, min_train)
    parts = []
    # Small matrices, many fits: one BLAS/OpenMP thread each. On a shared machine a second
    # thread spin-waits for a busy core and makes each fit several times slower.
    model = None
    with threadpool_limits(limits=1):
        for n, split in enumerate(splits, 1):
            train_x, train_y = x[: split.train_end], y[: split.train_end]
            # A learner with `update` continues its previous refit (a warm start on the
            # longer window, still only rows before this cut-off); others refit afresh.
            if model is not None and hasattr(model, "update"):
                model = model.update(train_x, train_y)
            else:
                model = make_model(model_name, seed).fit(train_x, train_y)
            test = slice(split.test_start, split.test_end)
            parts.append(pd.DataFrame({
                "row": np.arange(split.test_start, split.test_end),
                "train_end": split.train_end,
                model_name: model.predict(x[test]),
                "random_walk": 0.0,  # no change: the price at the origin is the forecast
                "drift": float(np.mean(y[: split.train_end])),  # mean h-day log return so far
            }))
            if progress:
                progress(n, len(splits))
    out = _attach_truth(pd.concat(parts, ignore_index=True), rows)
    # σ̂_h from the daily returns of every row up to each origin (the frame is in date order).
    out["sigma_h"] = horizon_sigma(frame.rows, frame.days)[out["row"].to_numpy()]
    raw = out[model_name].to_numpy(dtype=float)
    out[f"{model_name}_raw"] = raw
    if shrink:
        weight = shrinkage_weights(raw, out["actual_log"].to_numpy(dtype=float), out["date"].to_numpy(),
                                   out["target_date"].to_numpy(), calibration_window(frame.days),
                                   min_pairs(frame.days))
    else:
        weight = np.ones(len(out))
    out["shrink"] = weight
    out[model_name] = weight * raw
    return out


def _attach_truth(out: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    picked = rows.iloc[out["row"].to_numpy()]
    out["date"] = picked["date"].to_numpy()
    out["target_date"] = _target_dates(rows, out["row"].to_numpy())
    out["origin_close"] = picked["databento_close"].to_numpy(dtype=float)
    out["actual_log"] = picked["target_log_return"].to_numpy(dtype=float)
    out["train_last_target_date"] = _target_dates(rows, out["train_end"].to_numpy() - 1)
    return out


def _target_dates(rows: pd.DataFrame, index: np.ndarray) -> np.ndarray:
    if "target_date" in rows and rows["target_date"].notna().all():
        return rows["target_date"].to_numpy()[index]
    raise ModelError("training rows lack target_date for labelled rows")


def with_intervals(backtest: pd.DataFrame, column: str, level: float, days: int,
                   rule: IntervalRule = RULE) -> pd.DataFrame:
    """Price forecast and out-of-sample conformal interval of one forecaster's column: on
    volatility-normalised residuals when the backtest has `sigma_h` (`walk_forward` adds
    it), else on raw residuals (the earlier method)."""
    pred = backtest[column].to_numpy(dtype=float)
    actual = backtest["actual_log"].to_numpy(dtype=float)
    origin, target = backtest["date"].to_numpy(), backtest["target_date"].to_numpy()
    if "sigma_h" in backtest:
        _, q = normalised_halfwidths(pred, actual, backtest["sigma_h"].to_numpy(dtype=float),
                                     origin, target, level, rule.window(days))
    else:
        q = out_of_sample_halfwidths(pred, actual, origin, target, level, calibration_window(days))
    close = backtest["origin_close"].to_numpy(dtype=float)
    lower, upper = price_interval(close, pred, q)
    return pd.DataFrame({
        "date": backtest["date"], "target_date": backtest["target_date"], "origin_close": close,
        "pred_log": pred, "actual_log": backtest["actual_log"],
        "predicted_value": close * np.exp(pred), "actual_value": close * np.exp(backtest["actual_log"]),
        "confidence_interval_lower": lower, "confidence_interval_upper": upper,
    })


def metrics(priced: pd.DataFrame, level: float) -> dict[str, float | int | None]:
    """Accuracy of one forecaster's priced backtest (see `with_intervals`)."""
    close, pred = priced["origin_close"].to_numpy(), priced["predicted_value"].to_numpy()
    actual = priced["actual_value"].to_numpy()
    err = pred - actual
    naive_mae = float(np.mean(np.abs(close - actual)))
    moved = np.sign(pred - close)
    has = priced["confidence_interval_lower"].notna().to_numpy()
    lo = priced["confidence_interval_lower"].to_numpy()[has]
    hi = priced["confidence_interval_upper"].to_numpy()[has]
    truth = actual[has]
    return {
        "rows": int(len(priced)),
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(math.sqrt(np.mean(err**2))),
        "mase": float(np.mean(np.abs(err)) / naive_mae) if naive_mae > 0 else None,
        # A forecast of no change has no direction: accuracy is over non-zero forecasts
        # only, with the share of non-zero forecasts beside it.
        "directional_accuracy": (float(np.mean(moved[moved != 0] == np.sign(actual - close)[moved != 0]))
                                 if moved.any() else None),
        "nonzero_share": float(np.mean(moved != 0)) if len(moved) else None,
        "coverage": float(np.mean((truth >= lo) & (truth <= hi))) if has.any() else None,
        "interval_width": float(np.mean(hi - lo)) if has.any() else None,
        "pinball": _pinball(truth, lo, hi, level) if has.any() else None,
        "interval_rows": int(has.sum()),
    }


def _pinball(truth: np.ndarray, lo: np.ndarray, hi: np.ndarray, level: float) -> float:
    """Mean pinball loss of the two interval ends as quantiles (1∓level)/2."""
    tail = (1 - level) / 2

    def loss(q: np.ndarray, tau: float) -> np.ndarray:
        diff = truth - q
        return np.maximum(tau * diff, (tau - 1) * diff)

    return float(np.mean((loss(lo, tail) + loss(hi, 1 - tail)) / 2))
