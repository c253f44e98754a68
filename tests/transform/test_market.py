"""Daily bars by CME trading date (both DST changes) and the continuous series (rolls)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from cbi.transform import market

UTC = dt.timezone.utc


def _minute_rows(stamps: list[dt.datetime], symbol: str = "ZLK5") -> pa.Table:
    n = len(stamps)
    return pa.table({
        "ts_event": pa.array(stamps, pa.timestamp("us", tz="UTC")), "root": ["ZL"] * n,
        "symbol": [symbol] * n, "instrument_id": [1] * n, "open": [10.0 + i for i in range(n)],
        "high": [20.0 + i for i in range(n)], "low": [1.0 + i for i in range(n)],
        "close": [11.0 + i for i in range(n)], "volume": [1] * n, "source": ["databento"] * n,
    })


def _merge_minutes(wh, rows: pa.Table) -> None:
    wh.merge("market_data.databento_futures_ohlcv_1m", market.stamp_trading_dates(rows))


# (bar start UTC, trading date): 17:00 CT opens the next date; CST = UTC-6, CDT = UTC-5.
DST_CASES = [
    (dt.datetime(2025, 3, 4, 22, 59, tzinfo=UTC), dt.date(2025, 3, 4)),   # Tue 16:59 CST
    (dt.datetime(2025, 3, 4, 23, 0, tzinfo=UTC), dt.date(2025, 3, 5)),    # Tue 17:00 CST
    (dt.datetime(2025, 3, 9, 22, 0, tzinfo=UTC), dt.date(2025, 3, 10)),   # Sun 17:00 CDT, DST day
    (dt.datetime(2025, 3, 11, 21, 59, tzinfo=UTC), dt.date(2025, 3, 11)), # Tue 16:59 CDT
    (dt.datetime(2025, 3, 11, 22, 0, tzinfo=UTC), dt.date(2025, 3, 12)),  # Tue 17:00 CDT
    (dt.datetime(2025, 10, 28, 21, 59, tzinfo=UTC), dt.date(2025, 10, 28)),
    (dt.datetime(2025, 11, 2, 23, 0, tzinfo=UTC), dt.date(2025, 11, 3)),  # Sun 17:00 CST, DST end
    (dt.datetime(2025, 11, 4, 22, 59, tzinfo=UTC), dt.date(2025, 11, 4)),
    (dt.datetime(2025, 11, 4, 23, 0, tzinfo=UTC), dt.date(2025, 11, 5)),
    (dt.datetime(2025, 11, 7, 21, 59, tzinfo=UTC), dt.date(2025, 11, 7)), # Fri 15:59 CST
]


def test_trading_dates_across_both_dst_changes_in_python_and_arrow():
    from cbi import calendar

    stamps = [ts for ts, _ in DST_CASES]
    assert [calendar.trading_date_of("ES", ts) for ts in stamps] == [d for _, d in DST_CASES]
    rows = market.stamp_trading_dates(_minute_rows(stamps).set_column(1, "root", pa.array(["ES"] * len(stamps))))
    assert rows.column("trading_date").to_pylist() == [d for _, d in DST_CASES]


def test_daily_rollup_by_trading_date_on_both_engines(warehouse):
    stamps = [ts for ts, _ in DST_CASES]
    for i, ts in enumerate(stamps):  # one symbol per bar: each bar is its own daily bar
        _merge_minutes(warehouse, _minute_rows([ts], f"ES{i:02d}").set_column(
            1, "root", pa.array(["ES"])))
    market.roll_up_daily(warehouse, "ES", dt.date(2025, 3, 1), dt.date(2025, 11, 30))
    got = warehouse.query("SELECT symbol, date FROM market_data.futures_ohlcv_1d ORDER BY symbol")
    assert got.column("date").to_pylist() == [d for _, d in DST_CASES]


def test_daily_bar_takes_first_open_last_close_extremes_and_sum(warehouse):
    base = dt.datetime(2025, 3, 11, 14, 0, tzinfo=UTC)
    _merge_minutes(warehouse, _minute_rows([base + dt.timedelta(minutes=m) for m in range(3)]))
    market.roll_up_daily(warehouse, "ZL", dt.date(2025, 3, 11), dt.date(2025, 3, 11))
    row = warehouse.query("SELECT * FROM market_data.futures_ohlcv_1d").to_pylist()[0]
    assert (row["open"], row["high"], row["low"], row["close"], row["volume"]) == (10.0, 22.0, 1.0, 13.0, 3)
    assert row["source"] == "databento" and row["close_source"] == "last_trade"


def _daily(rows):
    dates, symbols, closes, volumes = zip(*rows)
    n = len(rows)
    return pa.table({"date": pa.array(dates, pa.date32()), "root": ["ZL"] * n, "symbol": list(symbols),
                     "open": list(closes), "high": list(closes), "low": list(closes),
                     "close": list(closes), "volume": list(volumes), "source": ["file"] * n})


def test_roll_day_return_is_the_within_contract_return(warehouse):
    d = [dt.date(2025, 3, day) for day in (3, 4, 5, 6)]
    warehouse.merge("market_data.futures_ohlcv_1d", _daily([
        (d[0], "ZLK5", 40.0, 900), (d[0], "ZLN5", 42.0, 100),
        (d[1], "ZLK5", 41.0, 800), (d[1], "ZLN5", 43.0, 300),
        (d[2], "ZLK5", 40.0, 100), (d[2], "ZLN5", 44.0, 900),  # roll: ZLN5 leads by volume
        (d[3], "ZLN5", 44.0, 950), (d[3], "ZLK5-ZLN5", -4.0, 5000),  # a spread never leads
    ]))
    market.update_continuous(warehouse, "ZL", d[0], confirm_days=1)
    rows = warehouse.query("SELECT * FROM market_data.futures_continuous_1d ORDER BY date").to_pylist()
    assert [r["contract_symbol"] for r in rows] == ["ZLK5", "ZLK5", "ZLN5", "ZLN5"]
    assert [r["is_roll"] for r in rows] == [False, False, True, False]
    assert rows[0]["return_1d"] is None
    assert rows[2]["return_1d"] == pytest.approx(44.0 / 43.0 - 1)  # not 44/41: no roll gap
    assert rows[1]["index_close"] == pytest.approx(41.0)
    assert rows[2]["index_close"] == pytest.approx(41.0 * 44.0 / 43.0)
    assert rows[3]["index_close"] == pytest.approx(rows[2]["index_close"])


def test_series_without_rolls_has_index_equal_to_close(duckdb_url):
    from cbi.warehouse import connect

    wh = connect(duckdb_url)
    wh.init()
    closes = [50.0, 51.5, 49.25, 52.0, 52.0, 48.75]
    wh.merge("market_data.futures_ohlcv_1d", _daily(
        [(dt.date(2025, 1, 6) + dt.timedelta(days=i), "ZLH5", c, 10) for i, c in enumerate(closes)]))
    market.update_continuous(wh, "ZL", dt.date(2025, 1, 1))
    got = wh.query("SELECT index_close FROM market_data.futures_continuous_1d ORDER BY date")
    assert got.column(0).to_pylist() == pytest.approx(closes, rel=1e-12)
    wh.close()


def test_hourly_bars_roll_up_to_the_same_daily_bar_as_minutes():
    from cbi.sandbox import databento_data as data
    from cbi.feeds.databento import to_arrow

    d = dt.date(2025, 3, 12)
    minutes = data.session_bars(7, "ZL", d)
    symbols = {i: (s, "ZL") for s, i in data.symbols_on("ZL", d).items()}
    from_minutes = market.daily_from_bars(to_arrow(minutes, symbols)).sort_by("symbol")
    from_hours = market.daily_from_bars(to_arrow(data.hourly(minutes, "ZL", d), symbols)).sort_by("symbol")
    for col in ("date", "symbol", "open", "high", "low", "close", "volume"):
        assert from_hours.column(col).to_pylist() == from_minutes.column(col).to_pylist()
    assert set(from_minutes.column("date").to_pylist()) == {d}


def _series(wh, rows, since, **kw):
    wh.merge("market_data.futures_ohlcv_1d", _daily(rows))
    market.update_continuous(wh, "ZL", since, **kw)
    return wh.query("SELECT * FROM market_data.futures_continuous_1d ORDER BY date").to_pylist()


def test_roll_day_return_never_spans_two_days_of_the_new_contract(wh):
    # ZLN5 did not trade on the 4th: its roll-day close (44.0, the 5th) against its close of
    # the 3rd would book +4.76% and double count the 4th's move, which ZLK5 already booked.
    # The roll-day return is ZLK5's own return over the 5th: 41.41 / 41.00 - 1 = +1.00%.
    d = [dt.date(2025, 3, day) for day in (3, 4, 5)]
    rows = _series(wh, [
        (d[0], "ZLK5", 40.0, 900), (d[0], "ZLN5", 42.0, 100),
        (d[1], "ZLK5", 41.0, 800),
        (d[2], "ZLK5", 41.41, 100), (d[2], "ZLN5", 44.0, 900),
    ], d[0], confirm_days=1)
    assert [r["contract_symbol"] for r in rows] == ["ZLK5", "ZLK5", "ZLN5"]
    assert rows[2]["return_1d"] == pytest.approx(0.01, abs=1e-12)
    assert rows[2]["index_close"] == pytest.approx(41.41)
    assert rows[2]["close"] == 44.0  # the origin price is the contract held: the new one


def test_a_leader_flipping_daily_rolls_once_and_never_back(wh):
    # volumes swap every day between the front (K) and the next month (N)
    days = [dt.date(2025, 4, 1) + dt.timedelta(days=i) for i in (0, 1, 2, 3, 6, 7)]
    bars = []
    for i, day in enumerate(days):
        k, n = (900, 100) if i % 2 == 0 else (100, 900)
        bars += [(day, "ZLK5", 40.0 + i, k), (day, "ZLN5", 42.0 + i, n)]
    rows = _series(wh, bars, days[0], confirm_days=1)
    held = [r["contract_symbol"] for r in rows]
    assert held == ["ZLK5", "ZLN5", "ZLN5", "ZLN5", "ZLN5", "ZLN5"]
    assert sum(r["is_roll"] for r in rows) == 1


def test_a_roll_waits_for_the_leader_to_lead_on_consecutive_days(wh):
    days = [dt.date(2025, 4, 1) + dt.timedelta(days=i) for i in range(5)]
    leads = ["K", "N", "K", "N", "N"]  # N leads on the 2nd, then the 4th and 5th in a row
    bars = []
    for i, (day, lead) in enumerate(zip(days, leads)):
        bars += [(day, "ZLK5", 40.0, 900 if lead == "K" else 100),
                 (day, "ZLN5", 42.0, 900 if lead == "N" else 100)]
    rows = _series(wh, bars, days[0], confirm_days=2)
    assert [r["contract_symbol"] for r in rows] == ["ZLK5", "ZLK5", "ZLK5", "ZLK5", "ZLN5"]


def test_an_incremental_build_equals_a_full_one(wh, duckdb_url, tmp_path):
    from cbi.warehouse import connect

    days = [dt.date(2025, 4, 1) + dt.timedelta(days=i) for i in range(8)]
    leads = ["K", "K", "N", "K", "N", "N", "N", "K"]
    bars = []
    for i, (day, lead) in enumerate(zip(days, leads)):
        bars += [(day, "ZLK5", 40.0 + 0.5 * i, 900 if lead == "K" else 100),
                 (day, "ZLN5", 42.0 + 0.25 * i, 900 if lead == "N" else 100)]
    full = _series(wh, bars, days[0])
    other = connect(f"duckdb:///{tmp_path}/other.duckdb")
    other.init()
    _series(other, bars[:10], days[0])  # the first five days
    step = _series(other, bars[10:], days[5])  # then the rest, resuming mid-challenge
    other.close()
    keep = ("date", "contract_symbol", "close", "return_1d", "index_close", "is_roll")
    assert [{k: r[k] for k in keep} for r in step] == [{k: r[k] for k in keep} for r in full]


def test_a_monday_holiday_session_rolls_up_into_tuesdays_bar(wh):
    """Memorial Day 2021: ES trades Sunday 17:00 -> Monday 12:00 CT and CME books it to
    Tuesday June 1, together with Monday evening's open and Tuesday's day session."""
    CT = dt.timezone(dt.timedelta(hours=-5))  # CDT
    stamps = [dt.datetime(2021, 5, 30, 17, 0, tzinfo=CT), dt.datetime(2021, 5, 31, 11, 59, tzinfo=CT),
              dt.datetime(2021, 5, 31, 17, 0, tzinfo=CT), dt.datetime(2021, 6, 1, 15, 59, tzinfo=CT)]
    rows = _minute_rows(stamps, "ESM1").set_column(1, "root", pa.array(["ES"] * 4))
    _merge_minutes(wh, rows)
    market.roll_up_daily(wh, "ES", dt.date(2021, 5, 28), dt.date(2021, 6, 2))
    got = wh.query("SELECT date, open, close, volume FROM market_data.futures_ohlcv_1d").to_pylist()
    assert got == [{"date": dt.date(2021, 6, 1), "open": 10.0, "close": 14.0, "volume": 4}]
