"""The skill gate: Diebold–Mariano with Newey–West variance on errors known at each origin;
the served forecaster is the random walk for a learner fed noise, the learner for a signal."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cbi.models.gate import GATE, dm_test, rolling_dm
from cbi.models.train import train_job
from cbi.predict import predict_job
from cbi.warehouse import connect
from tests.models.conftest import FAST


def test_dm_statistic_matches_a_hand_computed_newey_west_variance():
    d = np.array([0.5, -0.2, 0.9, 0.1, 0.4, -0.3, 0.8, 0.2])
    n, lags, m = len(d), 2, d.mean()  # days = 3: h - 1 = 2 lags
    c = d - m
    gamma = [float(c[: n - j] @ c[j:]) / n for j in range(lags + 1)]
    var = gamma[0] + 2 * (2 / 3) * gamma[1] + 2 * (1 / 3) * gamma[2]
    hln = math.sqrt((n + 1 - 2 * 3 + 3 * 2 / n) / n)
    stat, p = dm_test(d, 3)
    assert stat == pytest.approx(m / math.sqrt(var / n) * hln)
    assert p == pytest.approx(0.5 * math.erfc(stat / math.sqrt(2)))
    assert dm_test(np.array([1.0, 1.0]), 1) == (None, None)  # too few pairs


def test_rolling_dm_uses_only_pairs_known_at_the_origin_and_the_window():
    rng = np.random.default_rng(4)
    n, days = 200, 5
    d = rng.normal(0.2, 1, n)
    origin = np.array([np.datetime64("2020-01-01") + i for i in range(n)])
    target = origin + days
    stat, p = rolling_dm(d, origin, target, days, window=60, min_known=40)
    for i in (0, 44, 45, 100, 199):
        known = [k for k in range(n) if target[k] <= origin[i]][-60:]
        if len(known) < 40:
            assert math.isnan(stat[i])
        else:
            want = dm_test(d[known], days)
            assert (stat[i], p[i]) == pytest.approx(want)


def planted_export(settings, signal: bool, n: int = 1000, seed: int = 8):
    """A 1w export whose only features are momentum ones; with `signal`, `rsi_14` holds the
    future 1w return (plus noise): a learner can skill; without, it is pure noise."""
    from tests.builders import synthetic_bars, write_exports

    path = write_exports(synthetic_bars(n, seed=seed), settings.export_dir, ["1w"])["1w"]
    table = pq.read_table(path)
    rows = table.to_pandas()
    rng = np.random.default_rng(seed)
    target = rows["target_log_return"].to_numpy()
    planted = np.where(np.isnan(target), 0.0, target) + rng.normal(0, 0.005, len(rows))
    rows["rsi_14"] = planted if signal else rng.normal(0, 1, len(rows))
    out = pa.Table.from_pandas(rows, preserve_index=False).replace_schema_metadata(table.schema.metadata)
    pq.write_table(out, path)


@pytest.mark.parametrize("signal", [False, True], ids=["noise", "planted-signal"])
def test_gate_serves_the_random_walk_for_noise_and_the_learner_for_a_signal(settings, signal):
    settings = settings.model_copy(update={"feature_groups": ["momentum"]})
    planted_export(settings, signal)
    with connect(settings.warehouse) as wh:
        wh.init()
        result = train_job(wh, settings, model="tree", horizons=["1w"], **FAST)
        served = result["served"]["1w"]
        rows = wh.query("SELECT date, served_by, predicted_value, origin_close FROM "
                        "predictions.zl_backtest_prod_allhistory_1w WHERE model_name = 'served' "
                        "ORDER BY date").to_pandas()
        predicted = predict_job(wh, settings, horizons=["1w"])
        today = wh.query("SELECT * FROM predictions.zl_predictions_prod_allhistory_1w "
                         "WHERE model_name = 'served'").to_pylist()
    share_tree = float((rows["served_by"] == "tree").mean())
    gate = served["gate"]["tree"]
    assert len(today) == 5 and all(r["served_by"] == served["served_by"] for r in today)
    if signal:
        assert served["served_by"] == "tree" and gate["dm_pvalue"] < GATE.alpha
        assert served["shrink"] > 0.5
        # once enough pairs are known, the learner is served at (nearly) every origin
        late = rows.iloc[len(rows) // 2:]
        assert (late["served_by"] == "tree").mean() > 0.95
        assert predicted["served_by"]["1w"] == "tree"
        assert any(abs(r["predicted_value"] - r["origin_close"]) > 1e-9 for r in today)
    else:
        assert served["served_by"] == "random_walk" and served["shrink"] == 0.0
        assert share_tree < 0.2  # a test at 5% opens now and then on noise, rarely
        assert all(r["predicted_value"] == pytest.approx(r["origin_close"]) for r in today)
        # served rows where the random walk is served forecast no change
        rw = rows[rows["served_by"] == "random_walk"]
        assert np.allclose(rw["predicted_value"], rw["origin_close"])


def test_rolling_dm_with_fewer_pairs_than_lags_gives_no_figure_instead_of_failing():
    # a horizon with barely enough labelled rows (a short demo): 2 pairs, 20 lags
    origin = np.array(["2026-01-05", "2026-01-06"], dtype="datetime64[D]")
    target = np.array(["2026-02-02", "2026-02-03"], dtype="datetime64[D]")
    stat, p = rolling_dm(np.array([0.1, -0.2]), origin, target, days=21, window=100, min_known=1)
    assert np.isnan(stat).all() and np.isnan(p).all()
