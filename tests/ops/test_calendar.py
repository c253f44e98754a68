"""CME hours and holidays: a feed may only be stale while its market is open."""

from __future__ import annotations

import datetime as dt

from cbi.ops import calendar

CT = calendar.CHICAGO


def at(y, m, d, hh, mm=0):
    return dt.datetime(y, m, d, hh, mm, tzinfo=CT)


def test_saturday_is_closed_for_every_root():
    for root in ("ZL", "ES", "CL"):
        assert not calendar.is_open(root, at(2024, 3, 9, 10))


def test_sunday_evening_opens_the_monday_session():
    assert calendar.is_open("ES", at(2024, 3, 10, 17, 30))  # DST starts that morning
    assert not calendar.is_open("ZL", at(2024, 3, 10, 18, 30))  # grains open at 19:00
    assert calendar.is_open("ZL", at(2024, 3, 10, 19, 30))


def test_grain_break_and_close():
    assert not calendar.is_open("ZL", at(2024, 3, 12, 8, 0))  # 07:45–08:30 pause
    assert calendar.is_open("ZL", at(2024, 3, 12, 9, 0))
    assert not calendar.is_open("ZL", at(2024, 3, 12, 14, 0))  # closed 13:20
    assert calendar.is_open("ES", at(2024, 3, 12, 14, 0))


def test_holidays_are_closed():
    assert dt.date(2024, 3, 29) in calendar.holidays(2024)  # Good Friday
    assert dt.date(2024, 11, 28) in calendar.holidays(2024)  # Thanksgiving
    assert dt.date(2022, 12, 26) in calendar.holidays(2022)  # Christmas on Sunday, observed Monday
    assert not calendar.is_open("ES", at(2024, 12, 25, 10))
    assert not calendar.is_open("ZL", at(2024, 3, 29, 10))


def test_open_minutes_skip_the_weekend():
    friday_close = at(2024, 3, 8, 13, 20)
    monday_morning = at(2024, 3, 11, 9, 0)
    # Sunday 19:00–Monday 07:45 (765) + 08:30–09:00 (30)
    assert calendar.open_minutes_between("ZL", friday_close, monday_morning) == 795
    assert calendar.open_minutes_between("ZL", monday_morning, friday_close) == 0
