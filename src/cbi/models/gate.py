"""The skill gate and the `served` forecaster.

At each origin the product serves a learner's (shrunk) forecast only where that learner's
out-of-sample errors *known at that origin* beat the random walk's by a Diebold–Mariano
test; otherwise it serves the random walk (no change). Nothing else decides what is served.

The test (`dm_test`): loss differential d_k = |e_rw,k| − |e_model,k| (absolute log-return
errors: the loss MASE scores), mean d̄ over the pairs, variance by Newey–West with a
Bartlett kernel and h − 1 lags (neighbouring h-day errors overlap by up to h − 1 days),
the Harvey–Leybourne–Newbold small-sample factor, and a one-sided p-value from the normal
distribution for H1: the model's loss is lower. The gate (`GATE`) is fixed in advance:

- pairs: the latest `window(h)` walk-forward pairs whose target date is on or before the
  origin (the same information rule as the intervals and the shrinkage weight);
- at least `min_periods` non-overlapping h-day periods among them (8·h pairs), else closed;
- open when p < `alpha` (0.05). With several learners open, the one with the largest
  statistic is served.

The shrinkage weight is capped by the same evidence: it is the weight of
`cbi.models.shrinkage` where the gate is open for that learner and 0 where it is closed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from cbi.models.shrinkage import min_pairs


@dataclass(frozen=True)
class GateRule:
    alpha: float = 0.05
    min_periods: int = 8
    window_base: int = 1008  # + 8 horizons: the shrinkage window
    loss: str = "absolute log-return error"
    test: str = "Diebold-Mariano, Newey-West (Bartlett, h-1 lags), HLN factor, one-sided"

    def window(self, days: int) -> int:
        return self.window_base + 8 * days

    def min_known(self, days: int) -> int:
        return max(min_pairs(days), self.min_periods * days)

    def record(self) -> dict:
        return asdict(self)


GATE = GateRule()


def _normal_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2))


def dm_test(d: np.ndarray, days: int) -> tuple[float | None, float | None]:
    """Diebold–Mariano statistic and one-sided p-value (H1: mean d > 0) of a loss
    differential series in time order, with Newey–West variance at h − 1 lags."""
    d = np.asarray(d, dtype=float)
    d = d[np.isfinite(d)]
    n = len(d)
    if n < 3:
        return None, None
    mean = float(d.mean())
    c = d - mean
    lags = min(days - 1, n - 1)
    var = float(c @ c) / n
    for j in range(1, lags + 1):
        var += 2 * (1 - j / (lags + 1)) * float(c[:-j] @ c[j:]) / n
    return _statistic(mean, var, n, days)


def _statistic(mean: float, var: float, n: int, days: int) -> tuple[float | None, float | None]:
    if not var > 0:
        return None, None
    stat = mean / math.sqrt(var / n)
    hln = (n + 1 - 2 * days + days * (days - 1) / n) / n
    if hln > 0:
        stat *= math.sqrt(hln)
    return float(stat), float(_normal_sf(stat))


def rolling_dm(d: np.ndarray, origin: np.ndarray, target: np.ndarray, days: int,
               window: int, min_known: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the DM statistic and p-value over the latest `window` pairs known at its
    origin (target ≤ origin); NaN where fewer than `min_known` are known."""
    d = np.asarray(d, dtype=float)
    origin = np.asarray(origin, dtype="datetime64[D]")
    target = np.asarray(target, dtype="datetime64[D]")
    order = np.argsort(target, kind="stable")
    x = np.nan_to_num(d[order], nan=0.0)
    n_all = len(x)
    known = np.searchsorted(target[order], origin, side="right")
    lags = max(days - 1, 0)
    csum = np.concatenate([[0.0], np.cumsum(x)])
    # cross[j, k] = sum of x_i * x_(i+j) over i < k (and i + j < n_all)
    cross = np.zeros((lags + 1, n_all + 1))
    for lag in range(min(lags, max(n_all - 1, 0)) + 1):  # lags beyond the pairs: nothing to sum
        cross[lag, 1: n_all - lag + 1] = np.cumsum(x[: n_all - lag] * x[lag:])
        cross[lag, n_all - lag + 1:] = cross[lag, n_all - lag]
    stat = np.full(len(d), math.nan)
    pval = np.full(len(d), math.nan)
    for i, k in enumerate(known):
        a = max(k - window, 0)
        n = k - a
        if n < max(min_known, 3):
            continue
        m = (csum[k] - csum[a]) / n
        j = np.arange(min(lags, n - 1) + 1)
        # sum over i in [a, k - j) of (x_i - m)(x_(i+j) - m), for every lag j at once
        s = cross[j, k - j] - cross[j, a]
        s = s - m * ((csum[k - j] - csum[a]) + (csum[k] - csum[a + j])) + (n - j) * m * m
        weight = np.where(j == 0, 1.0, 2 * (1 - j / (lags + 1)))
        st, p = _statistic(m, float(weight @ s) / n, n, days)
        if st is not None:
            stat[i], pval[i] = st, p
    return stat, pval


def served_column(backtest: pd.DataFrame, learners: list[str], days: int,
                  rule: GateRule = GATE) -> pd.DataFrame:
    """Add `served` (the log-return forecast served at each origin), `served_by`, and per
    learner `gate_{name}_stat` / `gate_{name}_p` to a combined walk-forward frame (one row
    per origin, with `random_walk`, `actual_log`, `date`, `target_date` and each learner's
    shrunk column and `shrink_{name}` weight)."""
    out = backtest.copy()
    actual = out["actual_log"].to_numpy(dtype=float)
    rw_loss = np.abs(actual - out["random_walk"].to_numpy(dtype=float))
    best_stat = np.full(len(out), -np.inf)
    served = np.zeros(len(out))
    served_by = np.array(["random_walk"] * len(out), dtype=object)
    for name in learners:
        pred = out[name].to_numpy(dtype=float)
        stat, p = rolling_dm(rw_loss - np.abs(actual - pred), out["date"].to_numpy(),
                             out["target_date"].to_numpy(), days, rule.window(days), rule.min_known(days))
        out[f"gate_{name}_stat"], out[f"gate_{name}_p"] = stat, p
        open_ = (p < rule.alpha) & (stat > best_stat)
        served = np.where(open_, pred, served)
        served_by = np.where(open_, name, served_by)
        best_stat = np.where(open_, stat, best_stat)
    out["served"] = served
    out["served_by"] = served_by
    return out


def gate_now(backtest: pd.DataFrame, learners: list[str], days: int,
             rule: GateRule = GATE) -> dict:
    """The gate for forecasts made now: every walk-forward pair is known. Returns
    {"served_by", "learners": {name: {"dm_stat", "dm_pvalue", "pairs", "open"}}}."""
    actual = backtest["actual_log"].to_numpy(dtype=float)
    rw_loss = np.abs(actual - backtest["random_walk"].to_numpy(dtype=float))
    window, need = rule.window(days), rule.min_known(days)
    report, best, chosen = {}, -math.inf, "random_walk"
    for name in learners:
        d = (rw_loss - np.abs(actual - backtest[name].to_numpy(dtype=float)))[-window:]
        stat, p = dm_test(d, days) if len(d) >= need else (None, None)
        is_open = p is not None and p < rule.alpha
        report[name] = {"dm_stat": stat, "dm_pvalue": p, "pairs": int(len(d)), "open": bool(is_open)}
        if is_open and stat is not None and stat > best:  # open: both are numbers
            best, chosen = stat, name
    return {"served_by": chosen, "learners": report}
