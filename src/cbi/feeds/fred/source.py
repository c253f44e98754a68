"""FRED observations with every vintage (ALFRED real-time periods), over httpx.

Each run asks `/fred/series/observations` for the whole real-time range (1776-07-04 to
9999-12-31), so every revision comes back with its own `realtime_start` and FRED does not
clip vintages to the request. Incremental by observation date: a run starts
`fred_revision_lookback_days` before the series' watermark, so late revisions are re-read;
the MERGE on (series_id, date, realtime_start) makes the overlap harmless.

FRED puts the API key in the URL (`api_key=`): URLs are redacted before any log or error,
and httpx's own request log passes through the same redaction.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Iterator

import pyarrow as pa

from cbi.config import Settings
from cbi.feeds.base import Request, SourceBase, get_watermark, run_feed
from cbi.feeds.fred.client import FredClient, fred_client
from cbi.feeds.validate import (check_date, check_series_id, collapse_duplicates, date_range,
                                finite_value)
from cbi.warehouse.base import Warehouse

log = logging.getLogger(__name__)

FEED = "fred"
TABLE = "market_data.fred_economic_indicators"


# ---- normalise ---------------------------------------------------------------------------
def parse_value(raw: Any, where: str, field: str = "value") -> float | None:
    """FRED values are strings; "." (and empty) mean missing: NULL, never 0. Anything else
    must be a finite number: `NaN`, `inf` and `1e400` are refused naming where and the field."""
    if raw is None or raw in (".", ""):
        return None
    return finite_value(raw, where, field)


def parse_date(raw: Any, where: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(raw))
    except ValueError:
        raise ValueError(f"{where}: field {field!r} is {raw!r}, not a YYYY-MM-DD date") from None


def provenance(label: str) -> str:
    """The `source` column of a row from the endpoint labelled `label`: 'sandbox' for the
    simulated stand-in, else 'fred' (the live service)."""
    return "sandbox" if label.endswith("sandbox") else FEED


def normalize(series_id: str, observations: list[dict], source: str,
              bounds: tuple[dt.date, dt.date] | None = None) -> pa.Table:
    """FRED observations -> rows of market_data.fred_economic_indicators; `source` is the
    endpoint's label, stored as its provenance ('fred' or 'sandbox'). `bounds`: the plausible
    observation dates (`validate.date_range(settings, "fred")`); a date outside is refused.
    Identical repeated observations collapse; differing ones are refused naming both."""
    check_series_id(series_id, f"FRED {series_id!r}")
    cols: dict[str, list] = {k: [] for k in ("date", "realtime_start", "realtime_end", "value")}
    for i, obs in enumerate(observations):
        where = f"FRED {series_id} observation {i}"
        cols["date"].append(parse_date(obs.get("date"), where, "date"))
        check_date(cols["date"][-1], bounds, where, "date", "fred_min_date, future_skew_days")
        cols["realtime_start"].append(parse_date(obs.get("realtime_start"), where, "realtime_start"))
        cols["realtime_end"].append(parse_date(obs.get("realtime_end"), where, "realtime_end"))
        cols["value"].append(parse_value(obs.get("value"), where))
    n = len(observations)
    now = dt.datetime.now(dt.timezone.utc)
    rows = pa.table({
        "series_id": pa.array([series_id] * n, pa.string()),
        "date": pa.array(cols["date"], pa.date32()),
        "realtime_start": pa.array(cols["realtime_start"], pa.date32()),
        "realtime_end": pa.array(cols["realtime_end"], pa.date32()),
        "value": pa.array(cols["value"], pa.float64()),
        "source": pa.array([provenance(source)] * n, pa.string()),
        "ingest_timestamp": pa.array([now] * n, pa.timestamp("us", tz="UTC")),
    })
    return collapse_duplicates(rows, ["date", "realtime_start"], f"FRED {series_id}",
                               row_offset=0, row_label="observation")


# ---- the source and the job --------------------------------------------------------------
class FredSource(SourceBase):
    """The feed seam (`cbi.feeds.base.Source`): one request per series; the watermark is the
    series' last observation date."""

    feed = FEED
    table = TABLE
    secret: str | None = "FRED_API_KEY"

    def __init__(self, client: FredClient, source_label: str,
                 bounds: tuple[dt.date, dt.date] | None = None) -> None:
        self.client, self.source_label, self.bounds = client, source_label, bounds

    def plan(self, wh: Warehouse, settings: Settings, series: list[str] | None = None, full: bool = False,
             **_: Any) -> Iterator[Request]:
        lookback = dt.timedelta(days=settings.fred_revision_lookback_days)
        for series_id in series or settings.fred_series:
            check_series_id(series_id, "--series" if series else "setting fred_series")
            mark = None if full else get_watermark(wh, FEED, series_id)
            start = (mark.date() - lookback) if mark else None
            yield Request(series_id, start, None)

    def fetch(self, request: Request) -> list[dict]:
        return self.client.observations(request.cursor_key, request.start)

    def normalize(self, request: Request, raw: list[dict]) -> pa.Table:
        return normalize(request.cursor_key, raw, self.source_label, self.bounds)

    def watermark(self, request: Request, rows: pa.Table) -> dt.date | None:
        return max(rows.column("date").to_pylist()) if rows.num_rows else None

    def details(self, request: Request, rows: pa.Table) -> dict[str, Any]:
        return {"source": self.source_label}


def fred_job(wh: Warehouse, settings: Settings, series: list[str] | None = None, full: bool = False,
             **options: Any) -> dict[str, Any]:
    """Every configured series, every vintage, from each watermark; moves each watermark to
    the series' last observation date only after its MERGE commits (`run_feed`)."""
    with fred_client(settings, **options) as (client, label):
        source = FredSource(client, label, date_range(settings, "fred"))
        totals = run_feed(wh, source, settings, series=series, full=full)
    totals["series"] = totals.pop("cursors")
    totals["source"] = label
    return totals


def as_of(wh: Warehouse, series_id: str, as_of_date: dt.date) -> pa.Table:
    """What was known about `series_id` at the close of `as_of_date` (one value a date)."""
    return wh.query_file("cbi.feeds.fred", "fred_as_of.sql", {"series_id": series_id, "as_of": as_of_date})
