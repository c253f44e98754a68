"""The example feed: one daily value per series from an in-memory service (no network)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterator

import pyarrow as pa
from pydantic import BaseModel, Field

from cbi.feeds.base import Request, SourceBase, get_watermark, run_feed
from cbi.feeds.registry import Feed
from cbi.secrets import feed_key

NAME = "example"
TABLE = "market_data.fred_economic_indicators"  # a catalogued table: merges are allowlisted


class ExampleSettings(BaseModel):
    """The feed's own settings: fields of `cbi.config.Settings` once the feed is registered
    (CBI_EXAMPLE_BASE_URL, `example_base_url = ...` in cbi.toml, `cbi config`)."""

    example_base_url: str = Field("https://example.invalid", description="Example service URL.")
    example_series: list[str] = Field(default_factory=lambda: ["EX1"],
                                      description="Example series to collect.")


FEED = Feed(NAME, "tests.feeds.example_feed.source:example_job", "EXAMPLE_API_KEY",
            "example0fake0key", schedule="every 1d", settings=ExampleSettings,
            commands="tests.feeds.example_feed.commands:register")
START = dt.date(2024, 1, 1)
#: The "service": series -> (date -> value); a test adds days or a bad value.
SERVICE: dict[str, dict[dt.date, Any]] = {}


class ExampleClient:
    def __init__(self, key: str, base_url: str = "https://example.invalid") -> None:
        self.key, self.base_url = key, base_url

    def values(self, series: str, start: dt.date, end: dt.date) -> list[tuple[dt.date, Any]]:
        return sorted((d, v) for d, v in SERVICE.get(series, {}).items() if start <= d < end)


class ExampleSource(SourceBase):
    feed, table, secret = NAME, TABLE, FEED.secret

    def __init__(self, client: ExampleClient, today: dt.date) -> None:
        self.client, self.today = client, today

    def plan(self, wh, settings, series: list[str] | None = None, **_: Any) -> Iterator[Request]:
        for name in series or settings.example_series:
            mark = get_watermark(wh, NAME, name)
            yield Request(name, mark.date() if mark else START, self.today)

    def fetch(self, request: Request) -> list[tuple[dt.date, Any]]:
        return self.client.values(request.cursor_key, request.start, request.end)

    def normalize(self, request: Request, raw: list[tuple[dt.date, Any]]) -> pa.Table:
        for date, value in raw:
            if not isinstance(value, (int, float)):
                raise ValueError(f"{request.cursor_key} {date}: value {value!r} is not a number")
        n = len(raw)
        return pa.table({
            "series_id": [request.cursor_key] * n, "date": pa.array([d for d, _ in raw], pa.date32()),
            "realtime_start": pa.array([d for d, _ in raw], pa.date32()),
            "value": pa.array([float(v) for _, v in raw], pa.float64()), "source": [NAME] * n})


def example_job(wh, settings, today: dt.date = dt.date(2024, 1, 10), **options: Any) -> dict[str, Any]:
    key = feed_key(settings, FEED.secret)
    if key is None:
        raise RuntimeError(f"{FEED.secret} is not set")
    client = ExampleClient(key, settings.example_base_url)
    return run_feed(wh, ExampleSource(client, today), settings, **options)
