"""The model report's figures on hand-computed rows."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from cbi.models.report import forecaster_figures, report_table, rw_empirical_bounds, winkler


def test_winkler_score_is_width_plus_penalised_misses():
    lo, hi = np.array([-1.0, -1.0, -1.0]), np.array([1.0, 1.0, 1.0])
    truth = np.array([0.0, 2.0, -1.5])
    # α = 0.1: a miss costs 2/0.1 = 20 per unit outside
    assert winkler(lo, hi, truth, 0.9) == pytest.approx([2.0, 2 + 20 * 1.0, 2 + 20 * 0.5])


def test_rw_empirical_interval_uses_the_last_known_pairs_only():
    n = 100
    origin = np.array([np.datetime64("2020-01-01") + i for i in range(n)])
    target = origin + 5
    actual = np.arange(n, dtype=float)
    lo, hi = rw_empirical_bounds(actual, origin, target, 0.9, pairs=40)
    assert np.isnan(lo[:34]).all()  # row 34 is the first that knows 30 pairs
    known = actual[:30]
    assert (lo[34], hi[34]) == pytest.approx(tuple(np.quantile(known, [0.05, 0.95])))
    last = actual[95 - 40: 95]  # row 99 knows pairs 0..94; the latest 40
    assert (lo[99], hi[99]) == pytest.approx(tuple(np.quantile(last, [0.05, 0.95])))


def priced_rows(n=80, days=1, seed=0):
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2019-10-01", periods=n).date
    close = np.full(n, 50.0)
    actual_log = rng.normal(0, 0.02, n)
    pred_log = np.where(np.arange(n) % 2 == 0, 0.0, np.sign(actual_log) * 0.001)  # half move
    half = np.where(pd.to_datetime(pd.Series(dates)).dt.year == 2019, 0.001, 0.05)
    return pd.DataFrame({
        "date": dates, "origin_close": close, "pred_log": pred_log, "actual_log": actual_log,
        "predicted_value": close * np.exp(pred_log), "actual_value": close * np.exp(actual_log),
        "confidence_interval_lower": close * np.exp(pred_log - half),
        "confidence_interval_upper": close * np.exp(pred_log + half),
    })


def test_figures_direction_over_non_zero_forecasts_and_the_worst_year():
    priced = priced_rows()
    rw_lo, rw_hi = np.full(len(priced), -0.03), np.full(len(priced), 0.03)
    f = forecaster_figures(priced, 1, 0.9, rw_lo, rw_hi)
    assert f["rows"] == 80 and f["periods"] == 80
    assert f["nonzero_share"] == pytest.approx(0.5)
    assert f["directional_accuracy"] == pytest.approx(1.0)  # every non-zero forecast is right
    years = pd.to_datetime(pd.Series(priced["date"])).dt.year
    assert f["worst_year"] == 2019 and (years == 2019).sum() >= 20
    assert f["coverage_worst_year"] < 0.2 < f["coverage"]
    assert f["mase"] < 1 and f["dm_stat"] > 0  # right-signed moves beat no change
    truth = priced["actual_log"].to_numpy()
    lo = np.log(priced["confidence_interval_lower"] / priced["origin_close"]).to_numpy()
    hi = np.log(priced["confidence_interval_upper"] / priced["origin_close"]).to_numpy()
    want = winkler(lo, hi, truth, 0.9).mean() / winkler(rw_lo, rw_hi, truth, 0.9).mean()
    assert f["winkler_rel_rw"] == pytest.approx(want)
    table = report_table([{"surface": "prod", "horizon": "1w", "forecaster": "served",
                           "created_at": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc), **f}])
    assert table.num_rows == 1 and table.column("rows").to_pylist() == [80]


def test_no_dm_figure_from_too_few_periods_or_for_the_random_walk():
    priced = priced_rows(n=60)
    rw = priced.assign(pred_log=0.0, predicted_value=priced["origin_close"])
    bounds = np.full(60, -0.03), np.full(60, 0.03)
    assert forecaster_figures(rw, 1, 0.9, *bounds)["dm_stat"] is None
    assert forecaster_figures(priced, 21, 0.9, *bounds)["dm_stat"] is None  # 2 periods of 21 days
