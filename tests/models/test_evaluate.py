"""Walk-forward: no leakage, every row after the first window predicted, honest metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cbi.config import Settings
from cbi.models.base import ModelError
from cbi.models.data import read_training
from cbi.models.evaluate import metrics, walk_forward, walk_forward_splits, with_intervals
from tests.builders import synthetic_bars, write_exports


def test_splits_embargo_and_cover_every_row_after_the_first_window():
    splits = walk_forward_splits(n_rows=1000, days=21, retrain_every=50, min_train=300)
    assert splits[0].test_start == 300 + 2 * 21
    assert [s.test_start for s in splits[1:]] == [s.test_end for s in splits[:-1]]
    assert splits[-1].test_end == 1000
    for s in splits:  # last training row's target (row train_end - 1 + h) is h rows before the test
        assert (s.train_end - 1) + 21 < s.test_start - 21 + 1
        assert s.train_end == s.test_start - 2 * 21


def test_too_few_rows_is_a_clear_error():
    with pytest.raises(ModelError, match="needs more than"):
        walk_forward_splits(n_rows=100, days=21, retrain_every=21, min_train=300)


@pytest.mark.parametrize("horizon", ["1w", "1m"])
def test_no_training_target_on_or_after_test_start_minus_embargo(settings, synthetic_exports, horizon):
    frame = read_training(settings.export_dir, "prod", horizon)
    backtest = walk_forward(frame, "tree", seed=1, retrain_every=126, min_train=250)
    dates = list(frame.labelled["date"])
    position = {d: i for i, d in enumerate(dates)}
    for _, block in backtest.groupby("train_end"):
        test_start = position[block["date"].iloc[0]]
        embargo_start = dates[test_start - frame.days]  # test start minus h trading days
        assert block["train_last_target_date"].iloc[0] < embargo_start
    # one out-of-sample prediction for every labelled row after the first window
    assert list(backtest["date"]) == dates[250 + 2 * frame.days:]


def test_coverage_near_nominal_on_a_series_with_known_truth(tmp_path):
    settings = Settings(export_dir=tmp_path, retrain_every_days=63)
    write_exports(synthetic_bars(2500, seed=11), tmp_path, ["1w"])
    frame = read_training(tmp_path, "prod", "1w")
    backtest = walk_forward(frame, "tree", seed=1, retrain_every=500, min_train=400)
    for column in ("tree", "random_walk"):
        score = metrics(with_intervals(backtest, column, 0.9, frame.days), 0.9)
        assert abs(score["coverage"] - 0.9) <= settings.coverage_tolerance, (column, score)
    # returns are unpredictable by construction: no model beats no-change by much
    rw = metrics(with_intervals(backtest, "random_walk", 0.9, frame.days), 0.9)
    assert rw["mase"] == pytest.approx(1.0) and rw["directional_accuracy"] is None


def test_metrics_on_hand_computed_rows():
    priced = pd.DataFrame({
        "origin_close": [10.0, 10.0, 10.0, 10.0],
        "predicted_value": [11.0, 9.0, 10.5, 10.0],
        "actual_value": [12.0, 9.0, 9.0, 10.0],
        "confidence_interval_lower": [9.0, 8.0, np.nan, 9.5],
        "confidence_interval_upper": [11.0, 10.0, np.nan, 10.5],
    })
    m = metrics(priced, 0.9)
    assert m["mae"] == pytest.approx((1 + 0 + 1.5 + 0) / 4)
    assert m["rmse"] == pytest.approx(np.sqrt((1 + 0 + 2.25 + 0) / 4))
    assert m["mase"] == pytest.approx(m["mae"] / ((2 + 1 + 1 + 0) / 4))
    # over non-zero forecasts only: up✓, down✓, up✗ (the flat forecast has no direction)
    assert m["directional_accuracy"] == pytest.approx(2 / 3) and m["nonzero_share"] == pytest.approx(3 / 4)
    assert m["coverage"] == pytest.approx(2 / 3) and m["interval_rows"] == 3
    assert m["interval_width"] == pytest.approx((2 + 2 + 1) / 3)
    # pinball: only row 0 misses (12 > 11): (0.95 * 1 + 0.05 * 3) / 2 for row 0
    tail = [(0.05 * 3 + 0.95 * 1) / 2, (0.05 * 1 + 0.05 * 1) / 2, (0.05 * 0.5 + 0.05 * 0.5) / 2]
    assert m["pinball"] == pytest.approx(np.mean(tail))
