"""The features a learner sees: chosen by name from one allow-list, all stationary.

Levels (rates, the dollar index, WTI, volume, MACD in price units) act as calendar
indicators in trees: a split on 2008's fed funds rate never fires again. Every feature here
is a change, a return, a ratio or a bounded oscillator, derived from the export's columns
with trailing windows only (a row uses its own date and earlier rows: point-in-time).

`FEATURES` maps each feature to its group and derivation; a feature whose source column is
not in the export (the prod surface lacks some; crush and heating-oil roots are optional)
is left out. `feature_groups` (a setting) picks groups, for ablations.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

Derive = Callable[[pd.DataFrame], pd.Series]


def _col(name: str) -> Derive:
    return lambda rows: rows[name].astype(float)


def _change(name: str, lag: int) -> Derive:
    return lambda rows: rows[name].astype(float).ffill(limit=10).diff(lag)


def _log_return(name: str, lag: int) -> Derive:
    def derive(rows: pd.DataFrame) -> pd.Series:
        level = rows[name].astype(float).ffill(limit=10)
        level = level.where(level > 0)  # WTI was negative on 2020-04-20: never log it
        return np.log(level).diff(lag)
    return derive


def _per_close(name: str) -> Derive:
    return lambda rows: rows[name].astype(float) / rows["databento_close"].astype(float)


def _relative_volume(rows: pd.DataFrame) -> pd.Series:
    volume = rows["databento_volume"].astype(float)
    mean = volume.rolling(63, min_periods=21).mean().shift(1)
    return np.log((volume + 1) / (mean + 1))


def _zscore(name: str, window: int = 252) -> Derive:
    def derive(rows: pd.DataFrame) -> pd.Series:
        x = np.log(rows[name].astype(float).where(rows[name] > 0).ffill(limit=10))
        mean = x.rolling(window, min_periods=63).mean()
        std = x.rolling(window, min_periods=63).std()
        return (x - mean) / std
    return derive


#: name -> (group, source columns, derivation). The one place features are chosen.
FEATURES: dict[str, tuple[str, tuple[str, ...], Derive]] = {
    "returns_1d": ("momentum", ("returns_1d",), _col("returns_1d")),
    "returns_5d": ("momentum", ("returns_5d",), _col("returns_5d")),
    "returns_21d": ("momentum", ("returns_21d",), _col("returns_21d")),
    "rsi_14": ("momentum", ("rsi_14",), _col("rsi_14")),
    "macd_rel": ("momentum", ("macd",), _per_close("macd")),
    "macd_signal_rel": ("momentum", ("macd_signal",), _per_close("macd_signal")),
    "macd_hist_rel": ("momentum", ("macd_hist",), _per_close("macd_hist")),
    "volatility_30d": ("volatility", ("volatility_30d",), _col("volatility_30d")),
    "volume_rel_63d": ("volume", ("databento_volume",), _relative_volume),
    "fed_funds_chg_5d": ("rates", ("fred_fed_funds_rate",), _change("fred_fed_funds_rate", 5)),
    "fed_funds_chg_21d": ("rates", ("fred_fed_funds_rate",), _change("fred_fed_funds_rate", 21)),
    "fed_funds_chg_63d": ("rates", ("fred_fed_funds_rate",), _change("fred_fed_funds_rate", 63)),
    "dgs10_chg_5d": ("rates", ("fred_dgs10",), _change("fred_dgs10", 5)),
    "dgs10_chg_21d": ("rates", ("fred_dgs10",), _change("fred_dgs10", 21)),
    "dgs10_chg_63d": ("rates", ("fred_dgs10",), _change("fred_dgs10", 63)),
    "dollar_ret_5d": ("dollar_oil", ("fred_dollar_index",), _log_return("fred_dollar_index", 5)),
    "dollar_ret_21d": ("dollar_oil", ("fred_dollar_index",), _log_return("fred_dollar_index", 21)),
    "wti_ret_5d": ("dollar_oil", ("fred_wti",), _log_return("fred_wti", 5)),
    "wti_ret_21d": ("dollar_oil", ("fred_wti",), _log_return("fred_wti", 21)),
    "vix_z_252d": ("vix", ("fred_vix",), _zscore("fred_vix")),
    "vix_chg_21d": ("vix", ("fred_vix",), _log_return("fred_vix", 21)),
    "es_returns_1d": ("cross_asset", ("es_returns_1d",), _col("es_returns_1d")),
    "cl_returns_1d": ("cross_asset", ("cl_returns_1d",), _col("cl_returns_1d")),
    # The curve: annualised log spread of the second over the front contract, and its change.
    "carry": ("curve", ("carry",), _col("carry")),
    "carry_chg_21d": ("curve", ("carry",), _change("carry", 21)),
    # Soybean crush inputs and heating oil (optional roots: present when the export has them).
    "zs_returns_5d": ("crush", ("zs_returns_1d",), lambda r: r["zs_returns_1d"].astype(float).rolling(5).sum()),
    "zm_returns_5d": ("crush", ("zm_returns_1d",), lambda r: r["zm_returns_1d"].astype(float).rolling(5).sum()),
    "ho_returns_5d": ("heating_oil", ("ho_returns_1d",), lambda r: r["ho_returns_1d"].astype(float).rolling(5).sum()),
    "news_sentiment_mean_5d": ("news", ("news_sentiment_mean_5d",), _col("news_sentiment_mean_5d")),
}
GROUPS: tuple[str, ...] = tuple(dict.fromkeys(g for g, _, _ in FEATURES.values()))


def derive_features(rows: pd.DataFrame, groups: list[str] | tuple[str, ...] | None = None
                    ) -> tuple[pd.DataFrame, list[str]]:
    """`rows` (date order) with the allowed features added as `f_<name>` columns, and their
    column names. Features whose source columns are absent are left out."""
    chosen = set(groups) if groups is not None else set(GROUPS)
    unknown = chosen - set(GROUPS)
    if unknown:
        raise ValueError(f"unknown feature group(s) {sorted(unknown)}; groups: {list(GROUPS)}")
    out = rows.copy()
    names = []
    for name, (group, sources, derive) in FEATURES.items():
        if group not in chosen or any(s not in rows.columns for s in sources):
            continue
        column = f"f_{name}"
        with np.errstate(divide="ignore", invalid="ignore"):
            values = pd.Series(derive(rows), index=rows.index).astype(float)
        out[column] = values.replace([np.inf, -np.inf], np.nan)
        names.append(column)
    return out, names
