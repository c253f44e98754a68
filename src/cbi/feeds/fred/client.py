"""FRED's `/fred/series/observations` over httpx: every vintage (ALFRED real-time periods),
paged, with backoff. FRED puts the API key in the URL (`api_key=`): URLs are redacted before
any log or error, and httpx's own request log passes through the same redaction."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any, Iterator

from cbi.config import Settings
from cbi.feeds.base import endpoint
from cbi.feeds.http_json import FeedHTTPError, JsonClient
from cbi.secrets import RedactingFilter, remember

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


@contextlib.contextmanager
def fred_client(settings: Settings, page_limit: int = PAGE_LIMIT, backoff_s: float = 1.0,
                attempts: int = 6) -> Iterator[tuple[FredClient, str]]:
    """A client for the endpoint the settings name (the live API or a sandbox stand-in)."""
    key, url, label = endpoint(settings, secret="FRED_API_KEY", url_setting="fred_base_url",
                               label="fred", error=FredError)
    client = FredClient(url, key, page_limit=page_limit, backoff_s=backoff_s, attempts=attempts)
    try:
        yield client, label
    finally:
        client.close()
