"""The example feed: one daily value per series from an in-memory service (no network)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterator

import pyarrow as pa

from cbi.feeds.base import Request, SourceBase, get_watermark, run_feed
from cbi.feeds.registry import Feed
from cbi.secrets import feed_key

NAME = "example"
TABLE = "market_data.fred_economic_indicators"  # a catalogued table: merges are allowlisted
FEED = Feed(NAME, "tests.feeds.example_feed.source:example_job", "EXAMPLE_API_KEY",
            "example0fake0key", schedule="every 1d")
START = dt.date(2024, 1, 1)
#: The "service": series -> (date -> value); a test adds days or a bad value.
SERVICE: dict[str, dict[dt.date, Any]] = {}


class ExampleClient:
    def __init__(self, key: str) -> None:
        self.key = key

    def values(self, series: str, start: dt.date, end: dt.date) -> list[tuple[dt.date, Any]]:
        return sorted((d, v) for d, v in SERVICE.get(series, {}).items() if start <= d < end)


class ExampleSource(SourceBase):
    feed, table, secret = NAME, TABLE, FEED.secret

    def __init__(self, client: ExampleClient, today: dt.date) -> None:
        self.client, self.today = client, today

    def plan(self, wh, settings, series: tuple[str, ...] = ("EX1",), **_: Any) -> Iterator[Request]:
        for name in series:
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
    return run_feed(wh, ExampleSource(ExampleClient(key), today), settings, **options)
