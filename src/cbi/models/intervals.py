"""Split-conformal prediction intervals on volatility-normalised walk-forward residuals.

The interval is symmetric in log-return space: pred ± q·σ̂_h, where σ̂_h = σ̂·√h is the
h-day volatility forecast known at the origin's close (σ̂: an EWMA of squared daily log
returns up to and including the origin) and q is the split-conformal quantile of the scores
|actual − pred| / σ̂_h of earlier forecasts. For each test row only scores whose actual value
was known at that row's origin (target_date ≤ origin date) are used, so the interval keeps
the split-conformal guarantee out of sample; it widens as soon as σ̂ does (within days of a
volatility jump), instead of waiting for years of large residuals to fill a window. Rows
with fewer than `min_calibration` known scores get no interval (NULL), and coverage is
measured over rows that have one.

The method and its parameters (`RULE`: EWMA λ = 0.99, a window of 504 + 8h scores) were
chosen on the 2004–2014 origins of the real ZL history only and then frozen; later years are
scored, never tuned on (see bench/intervals.py and bench/RESULTS.md). Each registry entry
records the rule it used.

`out_of_sample_halfwidths` (raw residuals, no σ̂) is the earlier method, kept as the
reference the benchmark compares against.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

MIN_CALIBRATION = 30


@dataclass(frozen=True)
class IntervalRule:
    """The interval method and its parameters (frozen: see the module docstring)."""

    method: str = "conformal_ewma_normalised"
    #: EWMA decay of the daily variance: σ²_t = λ·σ²_(t−1) + (1 − λ)·r_t².
    ewma_lambda: float = 0.99
    #: Scores in the conformal window: `window_base` + 8 horizons (overlapping h-day errors).
    window_base: int = 504
    #: Daily persistence ρ of a variance shock over the horizon: the h-day variance is
    #: h·L + (σ̂² − L)·(1 − ρ^h)/(1 − ρ), L the long-run mean of r² known at the origin
    #: (GARCH(1,1)'s term structure); ρ = 1 is σ̂²·h (no reversion). Kept at 1: the rule
    #: frozen before any later year was scored (see bench/RESULTS.md, issue 12).
    reversion: float = 1.0
    chosen_on: str = "origins 2004-08-20..2014-12-31 of the real ZL daily history"

    def window(self, days: int) -> int:
        return self.window_base + 8 * days

    def record(self) -> dict:
        return asdict(self)


#: The frozen rule every forecaster's interval uses (chosen by bench/intervals.py).
RULE = IntervalRule()

#: Rows of returns that seed the EWMA variance (their sample mean of r²).
EWMA_SEED_ROWS = 20


def ewma_sigma(returns: np.ndarray, lam: float) -> np.ndarray:
    """Daily σ̂ at each row from the returns up to and including that row (NaN returns are
    skipped: σ̂ carries over). NaN until `EWMA_SEED_ROWS` returns have been seen."""
    r = np.asarray(returns, dtype=float)
    out = np.full(len(r), math.nan)
    seen: list[float] = []
    var = math.nan
    for i, x in enumerate(r):
        if not math.isnan(x):
            if math.isnan(var):
                seen.append(x * x)
                if len(seen) >= EWMA_SEED_ROWS:
                    var = float(np.mean(seen))
            else:
                var = lam * var + (1 - lam) * x * x
        out[i] = math.sqrt(var) if not math.isnan(var) else math.nan
    return out


def daily_log_returns(rows) -> np.ndarray:
    """Daily log returns of a training frame's rows (in date order): `returns_1d` where the
    export has it (within one contract: no roll gaps), else the log change of the close."""
    close = rows["index_close"] if "index_close" in rows and rows["index_close"].notna().any() \
        else rows["databento_close"]
    close = close.to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        fallback = np.concatenate([[math.nan], np.log(close[1:] / close[:-1])])
    if "returns_1d" in rows:
        given = rows["returns_1d"].to_numpy(dtype=float, na_value=math.nan)
        return np.where(np.isnan(given), fallback, given)
    return fallback


def horizon_sigma(rows, days: int, rule: IntervalRule = RULE) -> np.ndarray:
    """σ̂_h at each row of a frame (known at that row's close): √h·σ̂ without reversion, else
    the square root of h·L + (σ̂² − L)·(1 − ρ^h)/(1 − ρ) (see `IntervalRule.reversion`)."""
    returns = daily_log_returns(rows)
    sigma = ewma_sigma(returns, rule.ewma_lambda)
    if rule.reversion >= 1:
        return sigma * math.sqrt(days)
    squares = pd.Series(returns * returns)
    long_run = squares.expanding(min_periods=EWMA_SEED_ROWS).mean().ffill().to_numpy()
    rho = rule.reversion
    var_h = days * long_run + (sigma * sigma - long_run) * (1 - rho**days) / (1 - rho)
    return np.sqrt(np.maximum(var_h, 0.0))


def normalised_halfwidths(pred: np.ndarray, actual: np.ndarray, sigma_h: np.ndarray,
                          origin: np.ndarray, target: np.ndarray, level: float, window: int,
                          min_calibration: int = MIN_CALIBRATION) -> tuple[np.ndarray, np.ndarray]:
    """Per row (in origin order): the conformal quantile q of the scores |actual − pred| / σ̂_h
    known at its origin, and the half-width q·σ̂_h (NaN where too few scores or no σ̂)."""
    pred, actual = np.asarray(pred, dtype=float), np.asarray(actual, dtype=float)
    sigma_h = np.asarray(sigma_h, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.abs(actual - pred) / sigma_h
    scores = np.where(sigma_h > 0, scores, math.nan)
    q = _known_quantiles(scores, origin, target, level, window, min_calibration)
    return q, q * sigma_h


def _known_quantiles(values: np.ndarray, origin: np.ndarray, target: np.ndarray, level: float,
                     window: int, min_calibration: int) -> np.ndarray:
    order_by_target = np.argsort(target, kind="stable")
    recent: deque[float] = deque()
    ranked: list[float] = []
    out = np.full(len(values), math.nan)
    j = 0
    for i in range(len(values)):
        while j < len(order_by_target) and target[order_by_target[j]] <= origin[i]:
            v = values[order_by_target[j]]
            if not math.isnan(v):
                _push(recent, ranked, float(v), window)
            j += 1
        if len(ranked) >= min_calibration:
            n = len(ranked)
            out[i] = ranked[min(math.ceil((n + 1) * level), n) - 1]
    return out


def final_score_quantile(pred: np.ndarray, actual: np.ndarray, sigma_h: np.ndarray, level: float,
                         window: int) -> float:
    """q for forecasts made now: the latest `window` walk-forward scores (by target)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.abs(np.asarray(actual, float) - np.asarray(pred, float)) / np.asarray(sigma_h, float)
    scores = scores[np.isfinite(scores)]
    return conformal_quantile(scores[-window:], level)


def calibration_window(days: int) -> int:
    """How many recent residuals a quantile uses for an h-day horizon.

    Recent residuals follow volatility regimes; but h-day residuals of neighbouring origins
    overlap and are strongly correlated, so the window must span many horizons to hold many
    independent errors: four years plus eight horizons. (On the real ZL data a fixed two
    years covered 83% at 12m; this rule came within about 2 points of 90% at every horizon.)
    """
    return 1008 + 8 * days


def conformal_quantile(abs_residuals: np.ndarray | list[float], level: float) -> float:
    """The ⌈(n+1)·level⌉-th smallest |residual| (split conformal's finite-sample rule)."""
    values = np.sort(np.asarray(abs_residuals, dtype=float))
    n = len(values)
    if n == 0:
        return math.nan
    k = min(math.ceil((n + 1) * level), n)
    return float(values[k - 1])


def out_of_sample_halfwidths(pred: np.ndarray, actual: np.ndarray, origin: np.ndarray,
                             target: np.ndarray, level: float,
                             window: int, min_calibration: int = MIN_CALIBRATION) -> np.ndarray:
    """Per row (in origin order), q from the residuals known at its origin; NaN if too few."""
    order_by_target = np.argsort(target, kind="stable")
    recent: deque[float] = deque()
    ranked: list[float] = []  # the same residuals, sorted, for O(log n) quantiles
    out = np.full(len(pred), math.nan)
    j = 0
    for i in range(len(pred)):
        while j < len(order_by_target) and target[order_by_target[j]] <= origin[i]:
            k = order_by_target[j]
            _push(recent, ranked, abs(actual[k] - pred[k]), window)
            j += 1
        if len(ranked) >= min_calibration:
            n = len(ranked)
            out[i] = ranked[min(math.ceil((n + 1) * level), n) - 1]
    return out


def _push(recent: deque[float], ranked: list[float], value: float, window: int) -> None:
    recent.append(value)
    bisect.insort(ranked, value)
    if len(recent) > window:
        old = recent.popleft()
        del ranked[bisect.bisect_left(ranked, old)]


def final_halfwidth(pred: np.ndarray, actual: np.ndarray, level: float, window: int) -> float:
    """q for forecasts made now: the latest `window` walk-forward residuals (by target)."""
    residuals = np.abs(np.asarray(actual) - np.asarray(pred))[-window:]
    return conformal_quantile(residuals, level)


def price_interval(origin_close: np.ndarray, pred_log: np.ndarray,
                   halfwidth: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper price bounds from the origin close and a log-return interval."""
    return origin_close * np.exp(pred_log - halfwidth), origin_close * np.exp(pred_log + halfwidth)
