"""Training tables: targets h trading rows later on the continuous index, NULL for the last h
rows, prod a subset of full, incremental builds fill the targets new dates make known."""

from __future__ import annotations

import datetime as dt
import math

import pyarrow as pa
import pytest

from cbi.config import HORIZONS, get_settings
from cbi.transform.features import features_job
from cbi.transform.training import training_table
from cbi.warehouse import catalog
from tests.transform.test_features import CONTINUOUS, T0, rolling_series


@pytest.fixture
def duck(wh):
    return wh


def rows_of(wh, table):
    return wh.query(f"SELECT * FROM {table} ORDER BY date").to_pylist()


def test_target_alignment_for_every_horizon(duck):
    n = 300  # longer than the 12m horizon (252 rows), with rolls every 60 rows
    data = rolling_series(n)
    duck.merge(CONTINUOUS, data)
    features_job(duck, get_settings())
    dates, index = data["date"].to_pylist(), data["index_close"].to_pylist()
    closes = data["close"].to_pylist()
    for horizon, h in HORIZONS.items():
        full = rows_of(duck, training_table("full", horizon))
        assert [r["date"] for r in full] == dates
        for i, row in enumerate(full):
            if i + h >= n:  # the rows we predict
                assert (row["target_date"], row["target_log_return"], row["target_price"]) == (None, None, None)
                continue
            assert row["target_date"] == dates[i + h] > row["date"]
            want = math.log(index[i + h] / index[i])
            assert row["target_log_return"] == pytest.approx(want, rel=1e-12, abs=1e-15)
            assert row["target_price"] == pytest.approx(closes[i] * math.exp(want), rel=1e-12)
        prod = duck.query(f"SELECT * FROM {training_table('prod', horizon)} ORDER BY date")
        assert prod.column_names == catalog.table(training_table("prod", horizon)).column_names
        assert prod.column("target_date").to_pylist() == [r["target_date"] for r in full]


def test_target_across_a_roll_uses_the_index_not_the_price_gap(duck):
    data = rolling_series(80, roll_every=60)
    duck.merge(CONTINUOUS, data)
    features_job(duck, get_settings(horizons=["1w"]))
    row = rows_of(duck, training_table("full", "1w"))[57]  # target on row 62, after the roll
    index, closes = data["index_close"].to_pylist(), data["close"].to_pylist()
    assert row["target_log_return"] == pytest.approx(math.log(index[62] / index[57]), rel=1e-12)
    assert abs(row["target_log_return"] - math.log(closes[62] / closes[57])) > 0.03


def test_new_dates_fill_the_targets_that_were_null(duck):
    data = rolling_series(40)
    duck.merge(CONTINUOUS, data.slice(0, 30))
    settings = get_settings(horizons=["1w"])
    features_job(duck, settings)
    before = rows_of(duck, training_table("full", "1w"))
    assert [r["target_date"] is None for r in before] == [False] * 25 + [True] * 5
    later = data.slice(30).set_column(data.schema.get_field_index("updated_at"), "updated_at",
                                      pa.array([T0 + dt.timedelta(1)] * 10, pa.timestamp("us", tz="UTC")))
    duck.merge(CONTINUOUS, later)
    features_job(duck, settings)
    after = rows_of(duck, training_table("full", "1w"))
    assert [r["target_date"] is None for r in after] == [False] * 35 + [True] * 5
    assert after[29]["target_date"] == data["date"][34].as_py()
    assert after[:25] == before[:25]  # rows whose targets were known are untouched
