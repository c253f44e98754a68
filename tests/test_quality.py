"""Quality gates: pass on clean data; refuse a duplicate, a NULL key, a future-dated input,
an off-calendar date, out-of-range values, misaligned targets and vanished rows."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from rich.console import Console

from cbi.config import get_settings
from cbi.quality import print_report, run_gates
from cbi.transform.features import FEATURES, features_job
from cbi.warehouse import connect
from tests.transform.test_features import (
    CONTINUOUS, FRED, T0, continuous, fred_rows, rolling_series,
)

TODAY = dt.date(2024, 6, 3)
TRAIN_1W = "training.zl_training_full_allhistory_1w"


@pytest.fixture
def settings():
    return get_settings(horizons=["1w"])


@pytest.fixture
def built(duckdb_url, settings):
    wh = connect(duckdb_url)
    wh.init()
    wh.merge(CONTINUOUS, rolling_series(60))
    features_job(wh, settings)
    yield wh
    wh.close()


def gates(wh, settings, **kw):
    return run_gates(wh, settings, horizons=["1w"], today=TODAY, **kw)


def failed(report):
    return {(r.table, r.gate) for r in report.failed}


def test_clean_data_passes_every_gate(built, settings):
    report = gates(built, settings)
    assert report.ok, report.summary()
    assert len(report.results) == 4 + 3 + 2 * (4 + 2)


def test_injected_duplicate_is_refused(built, settings):
    built.execute(f"INSERT INTO {FEATURES} (date, symbol, databento_close) VALUES (DATE '2020-01-03', 'ZL', 50.0)")
    report = gates(built, settings)
    assert failed(report) == {(FEATURES, "unique keys")}
    assert report.failed[0].samples == [{"date": dt.date(2020, 1, 3), "symbol": "ZL", "copies": 2}]


def test_null_key_is_refused(built, settings):
    # The DDL says NOT NULL; a table created elsewhere might not: lift it to inject the row.
    built.execute("ALTER TABLE features.curated_features_daily ALTER COLUMN symbol DROP NOT NULL")
    built.execute(f"INSERT INTO {FEATURES} (date, symbol) VALUES (DATE '2020-01-03', NULL)")
    assert (FEATURES, "no NULL keys") in failed(gates(built, settings))


def test_future_dated_input_is_refused(built, settings):
    built.merge(FRED, fred_rows("DFF", [TODAY], [TODAY + dt.timedelta(days=1)], [5.0]))
    report = gates(built, settings)
    assert failed(report) == {("inputs", "no future inputs")}
    assert report.failed[0].samples[0]["source"] == "fred_economic_indicators"


def test_weekend_date_gap_and_range_are_refused(built, settings):
    built.execute(f"UPDATE {FEATURES} SET rsi_14 = 120 WHERE date = DATE '2020-02-03'")
    saturday = dt.date(2020, 6, 6)  # a weekend date, months after the rest
    built.merge(CONTINUOUS, continuous([saturday], "ZL", ["ZL9"], [60.0], [0.01], [60.0],
                                       updated_at=T0 + dt.timedelta(days=1)))
    features_job(built, settings)
    report = gates(built, settings)
    assert {(FEATURES, "trading calendar"), (FEATURES, "value ranges")} <= failed(report)
    assert (TRAIN_1W, "trading calendar") in failed(report)


def test_stale_features_misaligned_targets_and_vanished_rows_are_refused(built, settings):
    built.merge(CONTINUOUS, rolling_series(61).slice(60))  # a new date, features not rebuilt
    built.execute(f"UPDATE {TRAIN_1W} SET target_date = date WHERE date = DATE '2020-01-06'")
    report = gates(built, settings, previous_counts={TRAIN_1W: 1000})
    assert {(FEATURES, "freshness"), (TRAIN_1W, "targets after date, aligned"),
            (TRAIN_1W, "row count vs last export")} <= failed(report)


def test_report_names_each_failed_gate_with_sample_rows(built, settings):
    built.execute(f"INSERT INTO {FEATURES} (date, symbol) VALUES (DATE '2020-01-03', 'ZL')")
    out = io.StringIO()
    print_report(gates(built, settings), Console(file=out, width=200))
    text = out.getvalue()
    assert "unique keys" in text and "FAIL" in text
    assert "date=2020-01-03, symbol=ZL, copies=2" in text
