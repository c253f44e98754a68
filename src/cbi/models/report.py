"""The model report: per horizon × forecaster, the figures a quant checks before trusting one.

Rows come from the walk-forward (out-of-sample) backtest of each forecaster: served, tree,
neural, random_walk, drift. Figures (see `predictions.model_report`'s DDL for the column list):

- rows, periods (non-overlapping h-day periods: rows // h; h-day errors of neighbouring
  origins overlap, so `rows` overstates the evidence);
- MASE (MAE over the random walk's MAE on the same rows);
- Diebold–Mariano statistic and one-sided p-value against the random walk
  (`cbi.models.gate.dm_test`: absolute errors, Newey–West at h − 1 lags; none with fewer
  than `MIN_DM_PERIODS` non-overlapping periods, or for a forecaster that never moves);
- coverage of the interval overall and in the worst calendar year of origins (years with at
  least `MIN_YEAR_ROWS` intervals), mean width (price units);
- Winkler interval score relative to the random walk with a trailing-2-year empirical
  interval (the empirical quantiles of the last `RW_EMPIRICAL_PAIRS` realised h-day log
  returns known at the origin), both in log-return space; below 1 beats it;
- pinball loss of the interval ends; directional accuracy over non-zero forecasts only,
  with the share of non-zero forecasts.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from cbi.models.evaluate import metrics
from cbi.models.gate import dm_test

if TYPE_CHECKING:
    from cbi.warehouse.base import Warehouse

RW_EMPIRICAL_PAIRS = 504  # two years of trading days
MIN_YEAR_ROWS = 20
#: Non-overlapping periods below which no DM figure is given (Newey–West at h − 1 lags
#: cannot be estimated from one or two independent errors).
MIN_DM_PERIODS = 4
FORECASTERS = ("served", "tree", "neural", "random_walk", "drift")
COLUMNS = ("surface", "horizon", "forecaster", "model_version", "rows", "periods", "first_date",
           "last_date", "mase", "dm_stat", "dm_pvalue", "interval_level", "coverage",
           "coverage_worst_year", "worst_year", "mean_width", "winkler_rel_rw", "pinball",
           "directional_accuracy", "nonzero_share", "served_by", "created_at")


def rw_empirical_bounds(actual_log: np.ndarray, origin: np.ndarray, target: np.ndarray,
                        level: float, pairs: int = RW_EMPIRICAL_PAIRS) -> tuple[np.ndarray, np.ndarray]:
    """Per row (date order): the (1∓level)/2 empirical quantiles of the latest `pairs`
    realised h-day log returns whose target is on or before that row's origin (NaN until
    30 are known). The random walk's benchmark interval, in log-return space."""
    actual_log = np.asarray(actual_log, dtype=float)
    origin = np.asarray(origin, dtype="datetime64[D]")
    target = np.asarray(target, dtype="datetime64[D]")
    order = np.argsort(target, kind="stable")
    known = np.searchsorted(target[order], origin, side="right")
    values = actual_log[order]
    tail = (1 - level) / 2
    lo, hi = np.full(len(origin), math.nan), np.full(len(origin), math.nan)
    for i, k in enumerate(known):
        window = values[max(k - pairs, 0): k]
        if len(window) >= 30:
            lo[i], hi[i] = np.quantile(window, [tail, 1 - tail])
    return lo, hi


def winkler(lo: np.ndarray, hi: np.ndarray, truth: np.ndarray, level: float) -> np.ndarray:
    """The Winkler (interval) score of each row: width plus 2/α times any miss."""
    alpha = 1 - level
    return (hi - lo) + (2 / alpha) * np.maximum(lo - truth, 0) + (2 / alpha) * np.maximum(truth - hi, 0)


def forecaster_figures(priced: pd.DataFrame, days: int, level: float,
                       rw_lo: np.ndarray, rw_hi: np.ndarray,
                       mask: np.ndarray | None = None) -> dict[str, Any]:
    """The report's figures for one forecaster's priced backtest (`evaluate.with_intervals`),
    on the rows of `mask` (all by default); `rw_lo`/`rw_hi` align with its rows."""
    if mask is not None:
        priced = priced[mask]
        rw_lo, rw_hi = rw_lo[mask], rw_hi[mask]
    if priced.empty:
        return {"rows": 0, "periods": 0}
    m = metrics(priced, level)
    close = priced["origin_close"].to_numpy(dtype=float)
    actual = priced["actual_log"].to_numpy(dtype=float)
    pred = priced["pred_log"].to_numpy(dtype=float)
    d = np.abs(actual) - np.abs(actual - pred)
    enough = len(priced) // days >= MIN_DM_PERIODS
    stat, p = dm_test(d, days) if enough and np.any(pred != 0) else (None, None)
    lo = np.log(priced["confidence_interval_lower"].to_numpy(dtype=float) / close)
    hi = np.log(priced["confidence_interval_upper"].to_numpy(dtype=float) / close)
    both = np.isfinite(lo) & np.isfinite(hi) & np.isfinite(rw_lo) & np.isfinite(rw_hi)
    rel = None
    if both.any():
        ours = winkler(lo[both], hi[both], actual[both], level).mean()
        ref = winkler(rw_lo[both], rw_hi[both], actual[both], level).mean()
        rel = float(ours / ref) if ref > 0 else None
    worst, worst_year = _worst_year(priced)
    return {
        "rows": int(len(priced)), "periods": int(len(priced) // days),
        "first_date": priced["date"].iloc[0], "last_date": priced["date"].iloc[-1],
        "mase": m["mase"], "dm_stat": stat, "dm_pvalue": p, "interval_level": level,
        "coverage": m["coverage"], "coverage_worst_year": worst, "worst_year": worst_year,
        "mean_width": m["interval_width"], "winkler_rel_rw": rel, "pinball": m["pinball"],
        "directional_accuracy": m["directional_accuracy"], "nonzero_share": m["nonzero_share"],
    }


def _worst_year(priced: pd.DataFrame) -> tuple[float | None, int | None]:
    lo, hi = priced["confidence_interval_lower"], priced["confidence_interval_upper"]
    has = lo.notna().to_numpy()
    if not has.any():
        return None, None
    truth = priced["actual_value"].to_numpy(dtype=float)[has]
    covered = (truth >= lo.to_numpy()[has]) & (truth <= hi.to_numpy()[has])
    years = pd.to_datetime(pd.Series(priced["date"].to_numpy()[has])).dt.year.to_numpy()
    table = pd.DataFrame({"year": years, "covered": covered}).groupby("year")["covered"].agg(["mean", "size"])
    table = table[table["size"] >= MIN_YEAR_ROWS]
    if table.empty:
        return None, None
    year = int(table["mean"].idxmin())
    return float(table.loc[year, "mean"]), year


def report_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Rows of `predictions.model_report` as an Arrow table in its column order."""
    out = {c: [r.get(c) for r in rows] for c in COLUMNS}
    types = {"rows": pa.int64(), "periods": pa.int64(), "worst_year": pa.int64(),
             "first_date": pa.date32(), "last_date": pa.date32(),
             "created_at": pa.timestamp("us", tz="UTC")}
    strings = {"surface", "horizon", "forecaster", "model_version", "served_by"}
    arrays = {}
    for c, values in out.items():
        if c in types:
            arrays[c] = pa.array(values, types[c])
        elif c in strings:
            arrays[c] = pa.array(values, pa.string())
        else:
            arrays[c] = pa.array([None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
                                  for v in values], pa.float64())
    return pa.table(arrays)


def read_report(wh: Warehouse, surface: str | None = None) -> list[dict[str, Any]]:
    """The model report rows from the warehouse, horizon by horizon in the usual order."""
    from cbi.config import HORIZONS

    rows = wh.query("SELECT * FROM predictions.model_report").to_pylist()
    if surface:
        rows = [r for r in rows if r["surface"] == surface]
    h_order = {h: i for i, h in enumerate(HORIZONS)}
    f_order = {f: i for i, f in enumerate(FORECASTERS)}
    return sorted(rows, key=lambda r: (r["surface"], h_order.get(r["horizon"], 99),
                                       f_order.get(r["forecaster"], 99)))


def as_json(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def plain(v: Any) -> Any:
        if isinstance(v, (dt.date, dt.datetime)):
            return v.isoformat()
        if isinstance(v, float) and math.isnan(v):
            return None
        return v

    return [{k: plain(v) for k, v in r.items()} for r in rows]
