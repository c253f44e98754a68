"""FRED CSV downloads -> market_data.fred_economic_indicators.

FRED's download button has produced two header styles: `DATE,ID` with "." for a missing
value (older), and `observation_date,ID` with an empty field (newer). The series id is the
second header. A download carries no vintage, so `realtime_start` is set by a publication
lag: the observation date plus `fred_publication_lag_days[series]` business days (the
'default' entry for others; 1 = the next business day). `realtime_end` stays NULL (open).
That is an assumption, and the import says so in its result.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import pyarrow as pa

from cbi.feeds.fred import TABLE, parse_date, parse_value

DATE_HEADERS = ("DATE", "observation_date")


@dataclass
class FredFile:
    path: Path
    series_id: str
    header_style: str  # "DATE" (old, '.' missing) or "observation_date" (new, empty missing)
    rows: pa.Table
    lag_days: int

    @property
    def missing(self) -> int:
        return self.rows.column("value").null_count


def add_business_days(d: dt.date, n: int) -> dt.date:
    while n > 0:
        d += dt.timedelta(days=1)
        if d.weekday() < 5:
            n -= 1
    return d


def lag_for(series_id: str, lags: dict[str, int]) -> int:
    return int(lags.get(series_id, lags.get("default", 1)))


def read_fred_csv(path: str | Path, lags: dict[str, int]) -> FredFile:
    """Parse one download; a bad header, date or value raises naming file, row and field."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        series_id, style = _header(path, header)
        lag = lag_for(series_id, lags)
        dates, values = [], []
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != 2:
                raise ValueError(f"{path}: row {line}: expected 2 fields (date, {series_id}), got {len(row)}")
            where = f"{path}: row {line}"
            dates.append(parse_date(row[0].strip(), where, header[0]))
            values.append(parse_value(row[1].strip(), where))
    return FredFile(path, series_id, style, _table(series_id, dates, values, lag, path.name), lag)


def _header(path: Path, header: list[str] | None) -> tuple[str, str]:
    if not header or len(header) != 2 or header[0].strip() not in DATE_HEADERS:
        raise ValueError(f"{path}: row 1: expected a FRED header 'DATE,SERIES' or "
                         f"'observation_date,SERIES', got {header!r}")
    series_id = header[1].strip()
    if not series_id:
        raise ValueError(f"{path}: row 1: the series id (second header) is empty")
    return series_id, header[0].strip()


def _table(series_id: str, dates: list[dt.date], values: list[float | None], lag: int,
           name: str) -> pa.Table:
    n = len(dates)
    now = dt.datetime.now(dt.timezone.utc)
    return pa.table({
        "series_id": pa.array([series_id] * n, pa.string()),
        "date": pa.array(dates, pa.date32()),
        "realtime_start": pa.array([add_business_days(d, lag) for d in dates], pa.date32()),
        "realtime_end": pa.array([None] * n, pa.date32()),
        "value": pa.array(values, pa.float64()),
        "source": pa.array([f"file:{name}"] * n, pa.string()),
        "ingest_timestamp": pa.array([now] * n, pa.timestamp("us", tz="UTC")),
    })


def import_files(wh, settings, paths: Iterable[str | Path]) -> dict[str, Any]:
    """Parse every file first (nothing is written if any is bad), then merge each."""
    files = [read_fred_csv(p, settings.fred_publication_lag_days) for p in paths]
    out: dict[str, Any] = {"rows_read": 0, "rows_written": 0, "files": []}
    for f in files:
        result = wh.merge(TABLE, f.rows)
        out["rows_read"] += f.rows.num_rows
        out["rows_written"] += result.inserted + result.updated
        out["files"].append({
            "file": str(f.path), "series_id": f.series_id, "header": f.header_style,
            "rows": f.rows.num_rows, "missing": f.missing, "inserted": result.inserted,
            "updated": result.updated, "lag_business_days": f.lag_days,
        })
    return out
