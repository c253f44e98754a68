"""Shrinkage toward the random walk: a forecast combination of a model and "no change".

On daily commodity prices a learner's predicted h-day log return is mostly noise, and the
random walk (a predicted log return of 0) is hard to beat. The forecast used is therefore

    shrunk_i = w_i · raw_i,    w_i = clip(Σ_k raw_k · actual_k / Σ_k raw_k², 0, 1)

the least-squares weight of the combination w · model + (1 − w) · no-change, fitted on
out-of-sample walk-forward pairs (raw_k, actual_k) only. For a walk-forward row i the sum
runs over the latest `window` pairs whose actual value was known at i's origin
(target_date_k ≤ origin_i): the same information rule as the conformal intervals, so the
weight never sees a test row's own outcome or anything after its origin. Until
`min_pairs` pairs are known the weight is 0 (no evidence of skill: forecast no change).

The rule is fixed in advance (window = the conformal window, 4 years + 8 horizons;
min_pairs = 30 + 2h, since neighbouring h-day errors overlap): it is not tuned on the test
rows. A model with no skill gets w ≈ 0 and forecasts ≈ the random walk; one with skill
keeps part of its signal. Forecasts made now use the weight of the latest `window` pairs
(`final_weight`), stored in the registry entry as `shrink`.
"""

from __future__ import annotations

import numpy as np

from cbi.models.intervals import MIN_CALIBRATION


def min_pairs(days: int) -> int:
    """Known pairs needed before a weight above 0: 30 plus two horizons of overlap."""
    return MIN_CALIBRATION + 2 * days


def _clipped(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(den > 0, num / den, 0.0)
    return np.clip(np.nan_to_num(w, nan=0.0), 0.0, 1.0)


def shrinkage_weights(raw: np.ndarray, actual: np.ndarray, origin: np.ndarray, target: np.ndarray,
                      window: int, min_known: int) -> np.ndarray:
    """Per row, w from the latest `window` (raw, actual) pairs with target ≤ that row's origin."""
    raw, actual = np.asarray(raw, dtype=float), np.asarray(actual, dtype=float)
    origin = np.asarray(origin, dtype="datetime64[D]")
    target = np.asarray(target, dtype="datetime64[D]")
    order = np.argsort(target, kind="stable")
    sorted_target = target[order]
    p, y = raw[order], actual[order]
    cross = np.concatenate([[0.0], np.cumsum(p * y)])
    power = np.concatenate([[0.0], np.cumsum(p * p)])
    known = np.searchsorted(sorted_target, origin, side="right")  # pairs with target ≤ origin
    first = np.maximum(known - window, 0)
    w = _clipped(cross[known] - cross[first], power[known] - power[first])
    return np.where(known >= min_known, w, 0.0)


def final_weight(raw: np.ndarray, actual: np.ndarray, window: int, min_known: int) -> float:
    """w for forecasts made now: the latest `window` walk-forward pairs (in target order)."""
    p, y = np.asarray(raw, dtype=float)[-window:], np.asarray(actual, dtype=float)[-window:]
    if len(p) < min_known:
        return 0.0
    return float(_clipped(np.array([p @ y]), np.array([p @ p]))[0])
