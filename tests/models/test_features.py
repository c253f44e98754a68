"""Features come from one allow-list, are stationary, and use only trailing rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cbi.models.features import FEATURES, GROUPS, derive_features


def export_rows(n=400, seed=0):
    rng = np.random.default_rng(seed)
    close = 40 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    return pd.DataFrame({
        "date": pd.bdate_range("2018-01-01", periods=n).date,
        "databento_close": close, "databento_volume": rng.integers(1000, 5000, n),
        "returns_1d": np.concatenate([[np.nan], np.diff(np.log(close))]),
        "macd": rng.normal(0, 0.5, n), "macd_signal": rng.normal(0, 0.5, n), "macd_hist": rng.normal(0, 0.1, n),
        "rsi_14": rng.uniform(20, 80, n), "fred_fed_funds_rate": np.linspace(0.1, 5.0, n),
        "fred_wti": np.where(np.arange(n) == 300, -37.6, 60 + rng.normal(0, 1, n)),
        "fred_vix": 20 + rng.normal(0, 2, n),
    })


def test_only_allow_listed_features_whose_sources_exist():
    rows, names = derive_features(export_rows())
    assert names and all(n.startswith("f_") and n[2:] in FEATURES for n in names)
    assert "f_dgs10_chg_21d" not in names  # no fred_dgs10 column in this export
    for level in ("databento_close", "databento_volume", "fred_fed_funds_rate", "macd", "fred_wti"):
        assert level not in names
    _, momentum = derive_features(export_rows(), ["momentum"])
    assert momentum and all(FEATURES[n[2:]][0] == "momentum" for n in momentum)
    with pytest.raises(ValueError, match="unknown feature group"):
        derive_features(export_rows(), ["levels"])
    assert "curve" in GROUPS and "crush" in GROUPS and "heating_oil" in GROUPS


def test_levels_become_stationary_changes_and_ratios():
    raw = export_rows()
    rows, _ = derive_features(raw)
    # a steadily rising rate is a constant change, not a rising level
    chg = rows["f_fed_funds_chg_21d"].dropna()
    assert chg.std() < 1e-9 and chg.iloc[0] == pytest.approx(21 * (4.9 / 399))
    assert rows["f_macd_rel"].to_numpy() == pytest.approx((raw["macd"] / raw["databento_close"]).to_numpy())
    # WTI below zero is never logged: returns touching that day are missing, not -inf
    assert np.isnan(rows.loc[300, "f_wti_ret_5d"]) and np.isfinite(rows["f_wti_ret_5d"].dropna()).all()
    assert abs(rows["f_volume_rel_63d"].dropna()).max() < 3


def test_a_later_row_never_changes_an_earlier_feature():
    raw = export_rows()
    before, names = derive_features(raw)
    changed = raw.copy()
    changed.loc[250:, ["databento_volume", "fred_fed_funds_rate", "fred_vix", "fred_wti"]] *= 3
    after, _ = derive_features(changed)
    pd.testing.assert_frame_equal(before.loc[:249, names], after.loc[:249, names])
