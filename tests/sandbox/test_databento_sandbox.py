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
    assert int(bars["ts_event"].max()) < data.session_start_ns(d) + 23 * 60 * data.MINUTE_NS
    front = data.instrument_id("ESH5")
    assert 0 < (bars["instrument_id"] == front).sum() < data.SESSION_MINUTES  # minutes w/o trades
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
