"""The generator: deterministic, CME sessions, holidays, rolls, spreads, minutes without trades."""

from __future__ import annotations

import datetime as dt

import numpy as np

from cbi.sandbox import databento_data as data


def test_same_seed_same_bars_other_seed_other_bars():
    d = dt.date(2025, 3, 12)
    a, b = data.session_bars(7, "ZL", d), data.session_bars.__wrapped__(7, "ZL", d)
    assert a.tobytes() == b.tobytes()
    assert data.session_bars(8, "ZL", d).tobytes() != a.tobytes()


def test_session_is_23_hours_from_17_ct_with_gaps_and_spreads():
    d = dt.date(2025, 3, 12)  # after the March DST change: opens 22:00 UTC the day before
    bars = data.session_bars(7, "ES", d)
    first = dt.datetime.fromtimestamp(int(bars["ts_event"].min()) / 1e9, dt.timezone.utc)
    assert first >= dt.datetime(2025, 3, 11, 22, 0, tzinfo=dt.timezone.utc)
    assert int(bars["ts_event"].max()) < data.session_start_ns("ES", d) + 23 * 60 * data.MINUTE_NS
    front = data.instrument_id("ESH5")
    assert 0 < (bars["instrument_id"] == front).sum() < 23 * 60  # minutes without trades
    assert (bars["instrument_id"] == data.instrument_id("ESH5-ESM5")).sum() > 0
    assert len(data.session_bars(7, "ES", dt.date(2025, 12, 25))) == 0  # holiday
    assert len(data.session_bars(7, "ES", dt.date(2025, 3, 15))) == 0  # Saturday


def test_volume_leads_the_roll_before_expiry():
    def leader(d):
        bars = data.session_bars(7, "CL", d)
        ids, volume = bars["instrument_id"], bars["volume"]
        by_id = {i: volume[ids == i].sum() for i in np.unique(ids)}
        names = {i: s for s, i in data.symbols_on("CL", d).items()}
        return names[max(by_id, key=by_id.get)]
    assert leader(dt.date(2025, 3, 3)) == "CLH5"
    assert leader(dt.date(2025, 3, 10)) == "CLJ5"


def test_grain_sessions_follow_the_cme_calendar_with_the_morning_break():
    d = dt.date(2025, 3, 12)
    bars = data.session_bars(7, "ZL", d)
    local = [dt.datetime.fromtimestamp(int(t) / 1e9, data.CHICAGO) for t in bars["ts_event"]]
    assert min(local) >= dt.datetime(2025, 3, 11, 19, 0, tzinfo=data.CHICAGO)
    assert max(local) < dt.datetime(2025, 3, 12, 13, 20, tzinfo=data.CHICAGO)
    in_break = [t for t in local if dt.time(7, 45) <= t.time() < dt.time(8, 30)]
    assert in_break == []


def test_a_monday_holiday_session_is_booked_to_tuesday():
    # Memorial Day 2025 (May 26): ES trades Sun 17:00 -> Mon 12:00 CT for trade date Tuesday
    assert len(data.session_bars(7, "ES", dt.date(2025, 5, 26))) == 0
    tuesday = data.session_bars(7, "ES", dt.date(2025, 5, 27))
    first = dt.datetime.fromtimestamp(int(tuesday["ts_event"].min()) / 1e9, data.CHICAGO)
    assert first.date() == dt.date(2025, 5, 25) and first.hour == 17
