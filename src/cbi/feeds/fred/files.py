"""FRED CSV downloads -> market_data.fred_economic_indicators.

FRED's download button has produced two header styles: `DATE,ID` with "." for a missing
value (older), and `observation_date,ID` with an empty field (newer). The series id is the
second header. A download carries no vintage, so `realtime_start` is set by the series'
publication rule: a weekly release (`fred_weekly_release`, e.g. H.10's broad dollar index)
is first known on the given weekday after the observation's week; any other series the
observation date plus `fred_publication_lag_days[series]` US federal business days (the
'default' entry for others; 1 = the next business day). `realtime_end` stays NULL (open).
That is an assumption, and the import says so in its result.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.tseries.holiday import USFederalHolidayCalendar
from pandas.tseries.offsets import CustomBusinessDay

from cbi.config import Settings
from cbi.feeds.fred.source import TABLE, parse_date, parse_value
from cbi.feeds.validate import BarError, check_columns, check_date, check_series_id
from cbi.warehouse.base import Warehouse

DATE_HEADERS = ("DATE", "observation_date")


@dataclass
class FredFile:
    path: Path
    series_id: str
    header_style: str  # "DATE" (old, '.' missing) or "observation_date" (new, empty missing)
    rows: pa.Table
    lag_days: int
    weekly_release: str | None = None

    @property
    def missing(self) -> int:
        return self.rows.column("value").null_count


WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI")
#: US federal business days: when the Fed, the Treasury and the EIA publish.
FEDERAL_DAY = CustomBusinessDay(calendar=USFederalHolidayCalendar())


def add_business_days(d: dt.date, n: int) -> dt.date:
    return (pd.Timestamp(d) + n * FEDERAL_DAY).date()


def weekly_known_on(d: dt.date, weekday: str) -> dt.date:
    """The given weekday of the week after the one holding `d` (weeks start on Monday)."""
    if weekday.upper() not in WEEKDAYS:
        raise ValueError(f"weekly release day {weekday!r}: use one of {', '.join(WEEKDAYS)}")
    next_monday = d + dt.timedelta(days=7 - d.weekday())
    return next_monday + dt.timedelta(days=WEEKDAYS.index(weekday.upper()))


def known_on(series_id: str, dates: list[dt.date], lags: dict[str, int],
             weekly: dict[str, str] | None = None) -> list[dt.date]:
    """When each observation of a series was first published (its `realtime_start`)."""
    if weekly and series_id in weekly:
        return [weekly_known_on(d, weekly[series_id]) for d in dates]
    if not dates:
        return []
    # a weekend observation (calendar-daily series) counts from the Friday before
    days = np.busday_offset(np.array(dates, dtype="datetime64[D]"), lag_for(series_id, lags),
                            roll="backward", holidays=_federal_holidays())
    return days.astype(dt.date).tolist()


def _federal_holidays() -> np.ndarray:
    return np.array(USFederalHolidayCalendar().holidays("1950-01-01", "2045-12-31"),
                    dtype="datetime64[D]")


def lag_for(series_id: str, lags: dict[str, int]) -> int:
    return int(lags.get(series_id, lags.get("default", 1)))


def read_fred_csv(path: str | Path, lags: dict[str, int],
                  weekly: dict[str, str] | None = None,
                  bounds: tuple[dt.date, dt.date] | None = None) -> FredFile:
    """Parse one download; a bad header, date or value raises naming file, row and field.
    `bounds`: the plausible observation dates. A date given twice with the same value
    collapses; with different values the file is refused naming both rows."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            return _read(path, csv.reader(fh), lags, weekly, bounds)
    except UnicodeDecodeError as exc:
        raise BarError(f"{path}: byte {exc.start}, field encoding: not UTF-8 text "
                       "(rule: FRED downloads are UTF-8 CSV)") from None


def _read(path: Path, reader: Any, lags: dict[str, int], weekly: dict[str, str] | None,
          bounds: tuple[dt.date, dt.date] | None) -> FredFile:
    header = next(reader, None)
    series_id, style = _header(path, header)
    assert header is not None  # `_header` refuses a file without one
    lag = lag_for(series_id, lags)
    dates, values = [], []
    seen: dict[dt.date, tuple[int, float | None]] = {}
    for line, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) != 2:
            raise ValueError(f"{path}: row {line}: expected 2 fields (date, {series_id}), got {len(row)}")
        where = f"{path}: row {line}"
        day = parse_date(row[0].strip(), where, header[0])
        check_date(day, bounds, where, header[0].strip(), "fred_min_date, future_skew_days")
        value = parse_value(row[1].strip(), where, series_id)
        if day in seen:
            first, before = seen[day]
            if before == value:
                continue  # an identical duplicate collapses
            raise BarError(f"{path}: row {first} and row {line}, field {series_id}: {day} given "
                           f"twice with different values ({before!r} vs {value!r}) (rule: one "
                           "value per date; identical duplicates collapse); nothing written")
        seen[day] = (line, value)
        dates.append(day)
        values.append(value)
    published = known_on(series_id, dates, lags, weekly)
    return FredFile(path, series_id, style, _table(series_id, dates, values, published), lag,
                    (weekly or {}).get(series_id))


def _header(path: Path, header: list[str] | None) -> tuple[str, str]:
    if header:
        check_columns([h.strip() for h in header], str(path), required=[])
    if not header or len(header) != 2 or header[0].strip() not in DATE_HEADERS:
        raise ValueError(f"{path}: row 1: expected a FRED header 'DATE,SERIES' or "
                         f"'observation_date,SERIES', got {header!r}")
    series_id = header[1].strip()
    if not series_id:
        raise ValueError(f"{path}: row 1: the series id (second header) is empty")
    if series_id in DATE_HEADERS:
        raise BarError(f"{path}: line 1, field {series_id}: a date column where the series id "
                       "belongs (rule: header DATE,SERIES or observation_date,SERIES)")
    check_series_id(series_id, f"{path}: row 1, field series id")
    return series_id, header[0].strip()


def _table(series_id: str, dates: list[dt.date], values: list[float | None],
           published: list[dt.date]) -> pa.Table:
    n = len(dates)
    now = dt.datetime.now(dt.timezone.utc)
    return pa.table({
        "series_id": pa.array([series_id] * n, pa.string()),
        "date": pa.array(dates, pa.date32()),
        "realtime_start": pa.array(published, pa.date32()),
        "realtime_end": pa.array([None] * n, pa.date32()),
        "value": pa.array(values, pa.float64()),
        "source": pa.array(["file"] * n, pa.string()),  # provenance: a vendor-file import
        "ingest_timestamp": pa.array([now] * n, pa.timestamp("us", tz="UTC")),
    })


def import_files(wh: Warehouse, settings: Settings, paths: Iterable[str | Path],
                 progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Parse every file first (nothing is written if any is bad), then merge each;
    `progress(step)` after each file read and each file merged."""
    from cbi.feeds.validate import date_range

    bounds = date_range(settings, "fred")
    step = progress or (lambda label: None)
    files = []
    for p in paths:
        files.append(read_fred_csv(p, settings.fred_publication_lag_days,
                                   settings.fred_weekly_release, bounds))
        step(f"{Path(p).name} read")
    out: dict[str, Any] = {"rows_read": 0, "rows_written": 0, "files": []}
    for f in files:
        result = wh.merge(TABLE, f.rows)
        step(f"{f.path.name} merged")
        out["rows_read"] += f.rows.num_rows
        out["rows_written"] += result.inserted + result.updated
        out["files"].append({
            "file": str(f.path), "series_id": f.series_id, "header": f.header_style,
            "rows": f.rows.num_rows, "missing": f.missing, "inserted": result.inserted,
            "updated": result.updated, "lag_business_days": f.lag_days,
            "weekly_release": f.weekly_release,
        })
    return out
