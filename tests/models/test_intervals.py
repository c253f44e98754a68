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
