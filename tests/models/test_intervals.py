"""Split conformal: finite-sample quantile; only residuals known at the origin are used."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from cbi.models.intervals import conformal_quantile, out_of_sample_halfwidths, price_interval


def test_conformal_quantile_uses_the_finite_sample_rank():
    values = np.arange(1, 20)  # n = 19: rank ceil(20 * 0.9) = 18
    assert conformal_quantile(values, 0.9) == 18
    assert conformal_quantile(np.arange(1, 5), 0.9) == 4  # rank above n -> the largest


def test_only_residuals_known_at_the_origin_calibrate_a_row():
    day = dt.date(2020, 1, 1)
    origin = np.array([day + dt.timedelta(days=i) for i in range(40)])
    target = origin + dt.timedelta(days=5)
    pred = np.zeros(40)
    actual = np.full(40, 0.01)
    actual[34:] = 5.0  # huge errors whose targets fall after every origin below 39
    q = out_of_sample_halfwidths(pred, actual, origin, target, 0.9, window=1000, min_calibration=30)
    assert np.isnan(q[:34]).all()  # fewer than 30 residuals known: no interval
    # At row 34, residuals 0..29 are known. Had the 6 big future ones leaked in, the
    # 90% quantile of 40 residuals (rank 37) would be 5.0.
    assert q[34] == pytest.approx(0.01)
    assert (q[34:] == pytest.approx(0.01))


def test_price_interval_is_symmetric_in_log_space():
    lo, hi = price_interval(np.array([50.0]), np.array([0.02]), 0.1)
    assert lo[0] == pytest.approx(50 * np.exp(-0.08)) and hi[0] == pytest.approx(50 * np.exp(0.12))


def test_ewma_sigma_uses_returns_up_to_the_row_only():
    from cbi.models.intervals import EWMA_SEED_ROWS, ewma_sigma

    r = np.random.default_rng(0).normal(0, 0.01, 100)
    s = ewma_sigma(r, 0.94)
    assert np.isnan(s[: EWMA_SEED_ROWS - 1]).all()
    assert s[EWMA_SEED_ROWS - 1] == pytest.approx(np.sqrt(np.mean(r[:EWMA_SEED_ROWS] ** 2)))
    changed = r.copy()
    changed[60:] *= 10  # the future cannot move σ̂ at row 59
    assert ewma_sigma(changed, 0.94)[59] == s[59] and ewma_sigma(changed, 0.94)[60] > s[60]
    var = s[58] ** 2 * 0.94 + 0.06 * r[59] ** 2
    assert s[59] == pytest.approx(np.sqrt(var))


def jump_series(days: int, before: int = 600, after: int = 60, seed: int = 2):
    """Daily returns whose volatility quadruples at row `before`; h-day forecasts of no
    change, their realised h-day log returns and dates."""
    rng = np.random.default_rng(seed)
    daily = np.concatenate([rng.normal(0, 0.01, before), rng.normal(0, 0.04, after)])
    n = len(daily) - days
    actual = np.array([daily[i + 1: i + 1 + days].sum() for i in range(n)])
    origin = np.array([np.datetime64("2015-01-01") + i for i in range(n)])
    return daily, actual, origin, origin + days


def test_intervals_widen_within_days_of_a_volatility_jump():
    from cbi.models.intervals import RULE, ewma_sigma, normalised_halfwidths

    days, jump = 5, 600
    daily, actual, origin, target = jump_series(days)
    sigma_h = ewma_sigma(daily, RULE.ewma_lambda)[: len(actual)] * np.sqrt(days)
    pred = np.zeros(len(actual))
    _, half = normalised_halfwidths(pred, actual, sigma_h, origin, target, 0.9, RULE.window(days))
    raw = out_of_sample_halfwidths(pred, actual, origin, target, 0.9, window=1008 + 8 * days)
    before = half[jump - 1]
    # Five trading days into the new regime the interval is already wider, ten days in
    # clearly so; the raw-residual interval has barely moved.
    assert half[jump + 4] > 1.15 * before
    assert half[jump + 9] > 1.3 * before
    assert raw[jump + 9] < 1.05 * raw[jump - 1]
    # and the interval only ever uses what was known: before the jump nothing moved
    assert half[jump - 1] == pytest.approx(half[jump - 2], rel=0.05)


def test_normalised_quantiles_use_only_scores_known_at_the_origin():
    from cbi.models.intervals import normalised_halfwidths

    day = dt.date(2020, 1, 1)
    origin = np.array([day + dt.timedelta(days=i) for i in range(40)])
    target = origin + dt.timedelta(days=5)
    actual = np.full(40, 0.01)
    actual[34:] = 5.0
    q, half = normalised_halfwidths(np.zeros(40), actual, np.full(40, 0.02), origin, target, 0.9,
                                    window=1000, min_calibration=30)
    assert np.isnan(half[:34]).all()
    assert q[34:] == pytest.approx(0.5) and half[34:] == pytest.approx(0.01)
