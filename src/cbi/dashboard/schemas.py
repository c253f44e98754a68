"""Response models of every dashboard route: what `/openapi.json` (and `/docs`) describes.

The handlers answer pre-encoded, cached JSON (see `cache.py`), so these models document the
bodies rather than build them; `tests/dashboard/test_api.py` validates real answers against
them. Prices are in the root's quoted units (`/api/meta` `units`), rounded to its tick;
timestamps are UTC ISO 8601 with `Z`, dates ISO.
"""

from __future__ import annotations

import datetime as dt
from typing import Optional

from pydantic import BaseModel, Field


class Model(BaseModel):
    model_config = {"extra": "forbid"}


class ErrorResponse(Model):
    error: str = Field(description="What was wrong, in one line.")


class Health(Model):
    status: str = Field(description="Always `ok` while the process answers.")


class Meta(Model):
    root: str = Field(description="The root the models forecast (settings `target_root`).")
    roots: list[str] = Field(description="Roots with prices (settings `roots`).")
    horizons: list[str] = Field(description="Forecast horizons served.")
    surface: str = Field(description="Predictions surface served: prod or full.")
    interval_level: float = Field(description="Nominal level of the prediction intervals.")
    units: str = Field(description="Quoted price units of `root`.")
    tick: float = Field(description="Tick of `root`: prices are rounded to it.")
    cache_seconds: int = Field(description="s-maxage of the cached routes.")
    live_poll_seconds: float = Field(description="How often the live stream checks for bars.")


class Flagged(Model):
    simulated: bool = Field(description="True when any row behind this answer (or, for derived "
                            "answers, any data the page shows) came from the sandbox.")


class ForecastRow(Model):
    date: dt.date = Field(description="Origin: the close the forecast was made from.")
    target_date: Optional[dt.date] = None
    model_name: Optional[str] = Field(None, description="`served`, or a learner or baseline.")
    served_by: Optional[str] = Field(None, description="tree | neural | random_walk.")
    model_version: Optional[str] = None
    origin_close: Optional[float] = None
    predicted_value: Optional[float] = None
    confidence_interval_lower: Optional[float] = None
    confidence_interval_upper: Optional[float] = None
    interval_level: Optional[float] = None
    created_at: Optional[dt.datetime] = Field(None, description="When the row was written.")


class ForecastResponse(Flagged):
    horizon: str
    surface: str
    forecaster: str = Field(description="`served` (default) or `all`.")
    rows: list[ForecastRow]
    empty: Optional[str] = Field(None, description="Set when there are no rows: what fills them.")


class TrackWords(Model):
    text: str = Field(description='e.g. "covered 88% of 1,240 past forecasts; worst year 81%".')
    coverage: Optional[float] = None
    n: Optional[int] = None
    coverage_worst_year: Optional[float] = None
    worst_year: Optional[int] = None


class HeadlineHorizon(Model):
    horizon: str
    available: bool
    note: Optional[str] = Field(None, description="Why there is no forecast, and what fills it.")
    origin: Optional[dt.date] = None
    target_date: Optional[dt.date] = None
    origin_close: Optional[float] = None
    predicted_value: Optional[float] = None
    change: Optional[float] = Field(None, description="predicted_value - origin_close, in units.")
    change_pct: Optional[float] = Field(None, description="The change in % of origin_close.")
    lower: Optional[float] = None
    upper: Optional[float] = None
    interval_level: Optional[float] = None
    served_by: Optional[str] = None
    model_version: Optional[str] = None
    created_at: Optional[dt.datetime] = None
    served_text: Optional[str] = Field(None, description="Who served it, in words.")
    track_record: Optional[TrackWords] = None


class HeadlineResponse(Flagged):
    root: str
    units: str
    tick: float
    origin: Optional[dt.date] = Field(None, description="The one origin of every horizon shown.")
    horizons: list[HeadlineHorizon]
    empty: Optional[str] = None


class TrackRow(Model):
    date: dt.date = Field(description="Origin of the forecast.")
    target_date: Optional[dt.date] = None
    served_by: Optional[str] = None
    predicted_value: Optional[float] = None
    confidence_interval_lower: Optional[float] = None
    confidence_interval_upper: Optional[float] = None
    actual_value: Optional[float] = None
    hit: Optional[bool] = Field(None, description="The realised price fell inside the interval.")


class TrackRecordResponse(Flagged):
    horizon: str
    rows: list[TrackRow]
    hits: int
    misses: int
    coverage: Optional[float] = None
    empty: Optional[str] = None


class ReportRow(Model):
    horizon: str
    forecaster: str = Field(description="served | tree | neural | random_walk | drift.")
    model_version: Optional[str] = None
    served_by: Optional[str] = None
    n: Optional[int] = Field(None, description="Forecasts scored (`rows` of the report).")
    periods: Optional[int] = Field(None, description="Non-overlapping periods among them.")
    mase: Optional[float] = None
    dm_stat: Optional[float] = None
    dm_pvalue: Optional[float] = Field(None, description="One-sided Diebold-Mariano p-value "
                                       "for \"beats the random walk\".")
    coverage: Optional[float] = None
    coverage_worst_year: Optional[float] = None
    worst_year: Optional[int] = None
    mean_width: Optional[float] = None
    winkler_rel_rw: Optional[float] = None
    pinball: Optional[float] = None
    directional_accuracy: Optional[float] = None
    nonzero_share: Optional[float] = None
    created_at: Optional[dt.datetime] = None
    verdict: str = Field(description="Against the random walk: baseline (it is the random walk), "
                         "better (MASE < 1, p < 0.05), worse (MASE > 1, p > 0.95) or same.")


class MetricsResponse(Flagged):
    surface: str
    interval_level: float
    rows: list[ReportRow]
    empty: Optional[str] = None


class LiveBar(Model):
    ts_event: dt.datetime
    symbol: str
    close: Optional[float] = None
    volume: Optional[int] = None


class LiveDataResponse(Flagged):
    root: str
    since: Optional[dt.datetime] = None
    bars: list[LiveBar]


class LastPrice(Model):
    symbol: str
    close: Optional[float] = None
    ts_event: dt.datetime


class CurvePoint(Model):
    symbol: str
    close: Optional[float] = None
    at: dt.datetime
    from_: str = Field(alias="from", description="1m (a minute bar) or 1d (a daily close).")


class LivePanel(Flagged):
    root: str
    bars: list[LiveBar]
    last: Optional[LastPrice] = None
    curve: list[CurvePoint]
    empty: Optional[str] = None


class HistoryRow(Model):
    date: dt.date
    close: Optional[float] = None
    index_close: Optional[float] = None
    contract_symbol: Optional[str] = None


class HistoryResponse(Flagged):
    root: str
    days: int
    rows: list[HistoryRow]
    empty: Optional[str] = None


class FreshnessRow(Model):
    feed: str
    subject: str
    last_at: Optional[dt.datetime] = Field(None, description="= observed_at.")
    observed_at: Optional[dt.datetime] = Field(None, description="Time of the newest observation.")
    observed_age_s: Optional[float] = None
    written_at: Optional[dt.datetime] = Field(None, description="When rows were last written.")
    written_age_s: Optional[float] = None
    open_minutes_since: Optional[float] = None
    stale: bool
    note: str = ""


class RunRow(Model):
    job: str
    run_id: str
    status: Optional[str] = None
    started_at: Optional[dt.datetime] = None
    finished_at: Optional[dt.datetime] = None
    rows_read: Optional[int] = None
    rows_written: Optional[int] = None
    error: Optional[str] = None


class StatusEmpty(Model):
    freshness: Optional[str] = None
    runs: Optional[str] = None


class StatusResponse(Flagged):
    warehouse: str
    checked_at: dt.datetime
    freshness: list[FreshnessRow]
    runs: list[RunRow]
    sandbox_data: list[str] = Field(description="Which data on the page came from the sandbox.")
    data_as_of: Optional[dt.datetime] = Field(None, description="The newest observation of any feed.")
    empty: StatusEmpty
