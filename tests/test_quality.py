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
    assert len(report.results) == 2 + 4 + 3 + 2 * (4 + 2)


def test_gates_pass_clean_data_and_refuse_a_duplicate_on_each_engine(warehouse, settings):
    """18.4: every gate's SQL on both engines, on the same small build: every gate passes but
    the one an injected duplicate breaks, which names its sample row. The detailed refusals below use
    DuckDB (`built`): each needs its own build, a dozen round trips on the emulator."""
    warehouse.merge(CONTINUOUS, rolling_series(60))
    features_job(warehouse, settings)
    warehouse.execute(f"INSERT INTO {FEATURES} (date, symbol, databento_close) "
                      "VALUES (DATE '2020-01-03', 'ZL', 50.0)")
    report = gates(warehouse, settings)  # one run: each gate is a query on the emulator
    assert len(report.results) == 2 + 4 + 3 + 2 * (4 + 2)
    assert failed(report) == {(FEATURES, "unique keys")}  # every other gate passed
    assert report.failed[0].samples == [{"date": dt.date(2020, 1, 3), "symbol": "ZL", "copies": 2}]


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


MINUTES = "market_data.databento_futures_ohlcv_1m"


def _minutes(day: dt.date, n: int = 3):
    import pyarrow as pa

    ts = [dt.datetime(day.year, day.month, day.day, 15, i, tzinfo=dt.timezone.utc) for i in range(n)]
    return pa.table({
        "ts_event": pa.array(ts, pa.timestamp("us", tz="UTC")), "root": ["ZL"] * n,
        "symbol": ["ZLN4"] * n, "instrument_id": [1] * n, "open": [45.0] * n,
        "high": [45.5] * n, "low": [44.5] * n, "close": [45.2] * n, "volume": [10] * n,
        "trading_date": pa.array([day] * n, pa.date32()), "source": ["file"] * n})


def test_minutes_without_daily_bars_and_a_pending_roll_up_fail_until_finished(built, settings):
    from cbi.feeds import rollups

    day = dt.date(2024, 5, 29)
    built.merge(MINUTES, _minutes(day))  # as a run killed right after the minute MERGE leaves it
    rollups.mark(built, "ZL", day, day)
    report = gates(built, settings)
    assert failed(report) == {(MINUTES, "minutes rolled up to daily bars"),
                              ("market_data.futures_ohlcv_1d", "no pending roll-up")}
    sample = report.failed[0].samples[0]
    assert (sample["symbol"], sample["trading_date"], sample["minutes"]) == ("ZLN4", day, 3)
    done = rollups.finish_pending(built)  # what the next feed command does first
    assert done["ZL"] >= 1 and rollups.pending(built) == {}
    assert built.scalar("SELECT close FROM market_data.futures_ohlcv_1d "
                        "WHERE symbol = 'ZLN4' AND date = @d", {"d": day}) == 45.2
    report = gates(built, settings)
    assert not {g for g in failed(report) if g[1] in ("minutes rolled up to daily bars",
                                                      "no pending roll-up")}


def test_a_marker_widens_and_is_kept_when_it_grew_beyond_the_roll_up(built):
    from cbi.feeds import rollups

    a, b, c = dt.date(2024, 5, 28), dt.date(2024, 5, 29), dt.date(2024, 5, 31)
    rollups.mark(built, "ZL", b, b)
    rollups.mark(built, "ZL", a, c)
    assert rollups.pending(built)["ZL"]["first"] == a and rollups.pending(built)["ZL"]["last"] == c
    rollups.clear(built, "ZL", b, b)  # a narrower roll-up must not drop the wider marker
    assert "ZL" in rollups.pending(built)
    rollups.clear(built, "ZL", a, c)
    assert rollups.pending(built) == {}
