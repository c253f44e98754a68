"""Shrinkage toward no change: the weight uses only pairs known at each origin, is clipped."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from cbi.models.data import read_training
from cbi.models.evaluate import walk_forward
from cbi.models.intervals import calibration_window
from cbi.models.neural import NeuralModel
from cbi.models.shrinkage import final_weight, min_pairs, shrinkage_weights


def dated(n: int, lag: int):
    day = dt.date(2020, 1, 1)
    origin = np.array([day + dt.timedelta(days=i) for i in range(n)])
    return origin, origin + dt.timedelta(days=lag)


def test_weight_is_least_squares_clipped_to_0_1_and_0_until_enough_pairs():
    origin, target = dated(60, 5)
    actual = np.random.default_rng(0).normal(size=60)
    for raw, expected in ((2 * actual, 0.5), (-actual, 0.0), (0.5 * actual, 1.0)):
        w = shrinkage_weights(raw, actual, origin, target, window=1000, min_known=10)
        # row i knows pairs 0..i-5 (target = origin + 5): row 14 is the first with 10
        assert (w[:14] == 0).all()
        assert w[14:] == pytest.approx(expected)
        assert final_weight(raw, actual, 1000, 10) == pytest.approx(expected)
    assert final_weight(actual[:5], actual[:5], 1000, 10) == 0.0  # too few pairs: no change


def test_weight_uses_only_pairs_known_at_the_origin_and_the_window():
    origin, target = dated(80, 5)
    rng = np.random.default_rng(1)
    raw, actual = rng.normal(size=80), rng.normal(size=80)
    w = shrinkage_weights(raw, actual, origin, target, window=20, min_known=10)
    for i in range(80):
        known = [k for k in range(80) if target[k] <= origin[i]][-20:]
        if len(known) < 10:
            assert w[i] == 0
            continue
        p, y = raw[known], actual[known]
        assert w[i] == pytest.approx(np.clip(p @ y / (p @ p), 0, 1))
    # outcomes after row 50's origin cannot move its weight (nor any earlier row's)
    future = actual.copy()
    future[46:] = 100 * raw[46:]
    assert (shrinkage_weights(raw, future, origin, target, 20, 10)[:51] == w[:51]).all()


@pytest.mark.parametrize("model", ["tree", "neural"])
def test_walk_forward_shrinks_the_raw_forecast_by_past_only_weights(settings, synthetic_exports, model):
    frame = read_training(settings.export_dir, "prod", "1w")
    backtest = walk_forward(frame, model, seed=1, retrain_every=126, min_train=250)
    raw = backtest[f"{model}_raw"].to_numpy()
    expected = shrinkage_weights(raw, backtest["actual_log"].to_numpy(), backtest["date"].to_numpy(),
                                 backtest["target_date"].to_numpy(), calibration_window(frame.days),
                                 min_pairs(frame.days))
    assert (backtest["shrink"].to_numpy() == expected).all()
    assert backtest[model].to_numpy() == pytest.approx(expected * raw)
    assert ((expected >= 0) & (expected <= 1)).all()
    # the first rows have no known outcome yet: they forecast no change
    assert (backtest["shrink"].iloc[: min_pairs(frame.days)] == 0).all()
    unshrunk = walk_forward(frame, model, seed=1, retrain_every=126, min_train=250, shrink=False)
    assert unshrunk[model].to_numpy() == pytest.approx(raw)


def test_neural_update_continues_then_refits_fresh_and_is_deterministic():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(600, 5)), rng.normal(scale=0.01, size=600)

    def run():
        model, preds = NeuralModel(seed=3, params={"fresh_every": 3}), []
        for end in (300, 400, 500, 600):
            model = model.update(x[:end], y[:end])
            preds.append(model.predict(x[:10]))
            yield model.updates, preds[-1]

    first, second = list(run()), list(run())
    assert [u for u, _ in first] == [0, 1, 2, 0]  # fresh, warm, warm, fresh
    assert all((a == b).all() for (_, a), (_, b) in zip(first, second))
    fresh = NeuralModel(seed=3).fit(x, y)
    assert fresh.updates == 0 and fresh.pipeline[-1].early_stopping
