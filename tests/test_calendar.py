"""The CME calendar: trading dates, holiday sessions and hours.

Expected values are written from CME Group's published holiday schedules (Globex holiday
calendars for 2021, 2022 and 2024), not from the code: e.g. Memorial Day 2021 (Mon May 31):
grains closed; CME Globex equity and energy open Sunday 17:00 CT, halt Monday 12:00 CT, and
Monday's trades are for trade date Tuesday June 1.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from cbi import calendar

CT = calendar.CHICAGO
D = dt.date


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


@pytest.mark.parametrize("holiday", [D(2024, 3, 29), D(2024, 11, 28), D(2022, 12, 26),
                                     D(2021, 5, 31), D(2021, 9, 6), D(2024, 1, 15)])
def test_holidays_are_not_trading_dates(holiday):
    for root in ("ZL", "ES", "CL"):
        assert not calendar.is_trading_date(root, holiday)


def test_closed_on_christmas_and_good_friday():
    assert not calendar.is_open("ES", at(2024, 12, 25, 10))
    assert not calendar.is_open("ZL", at(2024, 3, 29, 10))


def test_open_minutes_skip_the_weekend():
    friday_close = at(2024, 3, 8, 13, 20)
    monday_morning = at(2024, 3, 11, 9, 0)
    # Sunday 19:00–Monday 07:45 (765) + 08:30–09:00 (30)
    assert calendar.open_minutes_between("ZL", friday_close, monday_morning) == 795
    assert calendar.open_minutes_between("ZL", monday_morning, friday_close) == 0


@pytest.mark.parametrize("root,when,expected", [
    # Memorial Day 2021: ES and CL trade Sun 17:00 -> Mon 12:00 CT, booked to Tue June 1
    ("ES", at(2021, 5, 30, 17, 0), D(2021, 6, 1)),
    ("ES", at(2021, 5, 31, 11, 59), D(2021, 6, 1)),
    ("CL", at(2021, 5, 31, 9, 30), D(2021, 6, 1)),
    ("ES", at(2021, 5, 31, 17, 0), D(2021, 6, 1)),  # the Monday-evening open: Tuesday's too
    ("ES", at(2021, 6, 1, 15, 59), D(2021, 6, 1)),
    ("ES", at(2021, 6, 1, 17, 0), D(2021, 6, 2)),
    # Labor Day 2021 (Mon Sep 6) and Thanksgiving 2024 (Thu Nov 28): booked to the next day
    ("CL", at(2021, 9, 6, 10, 0), D(2021, 9, 7)),
    ("ES", at(2024, 11, 28, 9, 0), D(2024, 11, 29)),
    # grains: the Sunday-evening open before a Monday holiday is Tuesday's session
    ("ZL", at(2021, 5, 31, 19, 0), D(2021, 6, 1)),
    ("ZL", at(2021, 5, 28, 13, 19), D(2021, 5, 28)),
    # an ordinary week: the evening open belongs to the next date, Friday's to Monday
    ("ZL", at(2024, 3, 12, 19, 5), D(2024, 3, 13)),
    ("ES", at(2024, 3, 8, 15, 0), D(2024, 3, 8)),
    ("ES", at(2024, 3, 10, 17, 0), D(2024, 3, 11)),
])
def test_trading_date_of_an_instant(root, when, expected):
    assert calendar.trading_date_of(root, when) == expected
    column = pa.array([when], pa.timestamp("us", tz="UTC"))
    assert calendar.trading_dates_of(root, column).to_pylist() == [expected]


def test_holiday_session_hours_belong_to_the_next_trading_date():
    booked = calendar.sessions("ES", D(2021, 6, 1))
    assert booked[0] == (at(2021, 5, 30, 17).astimezone(calendar.UTC),
                         at(2021, 5, 31, 12).astimezone(calendar.UTC))
    assert booked[-1][1] == at(2021, 6, 1, 16).astimezone(calendar.UTC)
    assert calendar.sessions("ES", D(2021, 5, 31)) == []
    assert calendar.sessions("ZL", D(2021, 6, 1))[0][0] == at(2021, 5, 31, 19).astimezone(calendar.UTC)


def test_a_day_without_a_session_moves_to_the_next_trading_date():
    assert calendar.next_trading_date("ZL", D(2021, 5, 30)) == D(2021, 6, 1)  # Sunday before Memorial Day
    assert calendar.next_trading_date("ZL", D(2021, 9, 5)) == D(2021, 9, 7)  # Sunday before Labor Day
    assert calendar.next_trading_date("ZL", D(2021, 6, 2)) == D(2021, 6, 2)
    assert calendar.add_trading_days("ZL", D(2021, 5, 28), 1) == D(2021, 6, 1)
    assert calendar.add_trading_days("ZL", D(2024, 12, 23), 3) == D(2024, 12, 27)  # Christmas skipped


def test_dates_outside_the_calendar_span_are_refused():
    with pytest.raises(ValueError, match="span"):
        calendar.next_trading_date("ZL", D(2099, 1, 1))
    with pytest.raises(ValueError, match="span"):
        calendar.next_trading_date("ZL", D(1066, 10, 14))
