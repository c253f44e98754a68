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

import contextlib
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any, Iterator

import pyarrow as pa

from cbi.feeds.base import Request, SourceBase, endpoint, get_watermark, run_feed
from cbi.feeds.http_json import FeedHTTPError, JsonClient
from cbi.feeds.validate import (check_date, check_series_id, collapse_duplicates, date_range,
                                finite_value)
from cbi.secrets import RedactingFilter, remember

log = logging.getLogger(__name__)

FEED = "fred"
TABLE = "market_data.fred_economic_indicators"
OBSERVATIONS = "/fred/series/observations"
REALTIME_START, REALTIME_END = "1776-07-04", "9999-12-31"  # FRED's "every vintage"
PAGE_LIMIT = 100_000  # FRED's maximum `limit`

for _name in ("httpx", "httpcore"):  # httpx logs each request URL (with api_key=) at INFO
    logging.getLogger(_name).addFilter(RedactingFilter())


class FredError(FeedHTTPError):
    """FRED refused or failed; the message is FRED's `error_message`."""


def fred_error(status: int, body: Any, url: str) -> str:
    if isinstance(body, dict) and "error_message" in body:
        return f"FRED error {body.get('error_code', status)}: {body['error_message']} ({url})"
    return f"FRED HTTP {status} ({url})"


@dataclass
class FredClient:
    """`/fred/series/observations`, paged by limit/offset, with backoff on 429/5xx/timeouts."""

    base_url: str
    api_key: str
    page_limit: int = PAGE_LIMIT
    attempts: int = 6
    backoff_s: float = 1.0
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        remember(self.api_key)
        self._http = JsonClient(self.base_url, error_message=fred_error, error_class=FredError,
                                attempts=self.attempts, backoff_s=self.backoff_s,
                                timeout_s=self.timeout_s)

    def observations(self, series_id: str, observation_start: dt.date | None = None) -> list[dict]:
        """Every vintage of every observation of `series_id` from `observation_start`."""
        rows: list[dict] = []
        offset = 0
        while True:
            page = self._page(series_id, observation_start, offset)
            batch = page.get("observations")
            if not isinstance(batch, list):
                raise FredError(f"FRED answer for {series_id} has no 'observations' list")
            rows.extend(batch)
            offset += len(batch)
            if not batch or offset >= int(page.get("count", 0)):
                return rows

    def _page(self, series_id: str, start: dt.date | None, offset: int) -> dict:
        params = {
            "series_id": series_id, "api_key": self.api_key, "file_type": "json",
            "realtime_start": REALTIME_START, "realtime_end": REALTIME_END,
            "sort_order": "asc", "limit": self.page_limit, "offset": offset,
        }
        if start is not None:
            params["observation_start"] = start.isoformat()
        return self._http.get(OBSERVATIONS, params)

    def close(self) -> None:
        self._http.close()


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
    secret = "FRED_API_KEY"

    def __init__(self, client: FredClient, source_label: str,
                 bounds: tuple[dt.date, dt.date] | None = None) -> None:
        self.client, self.source_label, self.bounds = client, source_label, bounds

    def plan(self, wh, settings, series: list[str] | None = None, full: bool = False,
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


def fred_job(wh, settings, series: list[str] | None = None, full: bool = False,
             **options: Any) -> dict[str, Any]:
    """Every configured series, every vintage, from each watermark; moves each watermark to
    the series' last observation date only after its MERGE commits (`run_feed`)."""
    with fred_client(settings, **options) as (client, label):
        source = FredSource(client, label, date_range(settings, "fred"))
        totals = run_feed(wh, source, settings, series=series, full=full)
    totals["series"] = totals.pop("cursors")
    totals["source"] = label
    return totals


@contextlib.contextmanager
def fred_client(settings, page_limit: int = PAGE_LIMIT, backoff_s: float = 1.0,
                attempts: int = 6) -> Iterator[tuple[FredClient, str]]:
    """A client for the endpoint the settings name (the live API or a sandbox stand-in)."""
    key, url, label = endpoint(settings, secret="FRED_API_KEY", url_setting="fred_base_url",
                               label="fred", error=FredError)
    client = FredClient(url, key, page_limit=page_limit, backoff_s=backoff_s, attempts=attempts)
    try:
        yield client, label
    finally:
        client.close()


def as_of(wh, series_id: str, as_of_date: dt.date) -> pa.Table:
    """What was known about `series_id` at the close of `as_of_date` (one value a date)."""
    return wh.query_file("cbi.feeds", "fred_as_of.sql", {"series_id": series_id, "as_of": as_of_date})

