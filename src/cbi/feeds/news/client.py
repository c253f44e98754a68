"""NewsAPI `/v2/everything` over httpx: pages of 100 with backoff, the key in the X-Api-Key
header (never in the URL); the daily request budget, counted in ops.api_requests."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterator

import pyarrow as pa

from cbi.config import Settings
from cbi.feeds.base import endpoint
from cbi.feeds.http_json import FeedHTTPError, JsonClient
from cbi.secrets import remember
from cbi.warehouse.base import Warehouse

log = logging.getLogger(__name__)

FEED = "news"
REQUESTS = "ops.api_requests"
EVERYTHING = "/v2/everything"
PAGE_SIZE = 100
UTC = dt.timezone.utc


class NewsError(FeedHTTPError):
    """NewsAPI refused or failed: `code` is NewsAPI's (apiKeyInvalid, rateLimited, ...)."""


def news_error(status: int, body: Any, url: str) -> str:
    if isinstance(body, dict) and body.get("status") == "error":
        return f"NewsAPI {status} {body.get('code')}: {body.get('message')} ({url})"
    return f"NewsAPI HTTP {status} ({url})"


def _code(body: Any) -> str | None:
    return body.get("code") if isinstance(body, dict) else None


class BudgetExhausted(Exception):
    pass


@dataclass
class NewsClient:
    """/v2/everything with backoff; `before_request` runs before every attempt (the budget)."""

    base_url: str
    api_key: str
    attempts: int = 5
    backoff_s: float = 1.0
    before_request: Any = None
    after_response: Any = None

    def __post_init__(self) -> None:
        remember(self.api_key)
        self._http = JsonClient(self.base_url, error_message=news_error, error_class=NewsError,
                                code_of=_code, headers={"X-Api-Key": self.api_key},
                                attempts=self.attempts, backoff_s=self.backoff_s)

    def window(self, query: str, start: dt.datetime, end: dt.datetime) -> tuple[list[dict], bool]:
        """Every article of [start, end), newest first; True when the result cap cut it short."""
        articles: list[dict] = []
        page = 1
        while True:
            try:
                body = self._page(query, start, end, page)
            except NewsError as exc:
                if exc.code == "maximumResultsReached":  # 426: the plan's 100-result cap
                    log.warning("NewsAPI %r %s..%s: result cap reached, kept %d", query, start, end, len(articles))
                    return articles, True
                raise
            batch = body.get("articles") or []
            articles.extend(batch)
            if not batch or len(articles) >= int(body.get("totalResults", 0)):
                return articles, False
            page += 1

    def _page(self, query: str, start: dt.datetime, end: dt.datetime, page: int) -> dict:
        params = {"q": query, "from": _iso(start), "to": _iso(end), "sortBy": "publishedAt",
                  "pageSize": PAGE_SIZE, "page": page, "language": "en"}
        return self._http.get(EVERYTHING, params, on_response=self.after_response,
                              before_request=self.before_request)

    def close(self) -> None:
        self._http.close()


def _iso(t: dt.datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- budget ------------------------------------------------------------------------------
@dataclass
class Budget:
    """Requests left today (UTC), counted in ops.api_requests."""

    wh: Warehouse
    limit: int
    used: int = 0
    made: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        day = dt.datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        self.used = int(self.wh.scalar(
            "SELECT COUNT(*) FROM ops.api_requests WHERE feed = @feed AND requested_at >= @day",
            {"feed": FEED, "day": day}) or 0)

    def spend(self) -> None:
        if self.used >= self.limit:
            raise BudgetExhausted(f"NewsAPI daily budget of {self.limit} requests is spent")
        self.used += 1

    def record(self, status: int) -> None:
        self.wh.merge(REQUESTS, pa.table({
            "request_id": [str(uuid.uuid4())], "feed": [FEED],
            "requested_at": pa.array([dt.datetime.now(UTC)], pa.timestamp("us", tz="UTC")),
            "endpoint": [EVERYTHING], "status_code": pa.array([status], pa.int64()),
        }))


@contextlib.contextmanager
def news_client(settings: Settings, budget: Budget, backoff_s: float = 1.0,
                attempts: int = 5) -> Iterator[tuple[NewsClient, str]]:
    """A client for the endpoint the settings name (the live API or a sandbox stand-in)."""

    def after(status: int) -> None:
        budget.made.append(str(status))
        budget.record(status)

    key, url, label = endpoint(settings, secret="NEWSAPI_KEY", url_setting="news_base_url",
                               label="newsapi", error=NewsError)
    client = NewsClient(url, key, attempts=attempts, backoff_s=backoff_s,
                        before_request=budget.spend, after_response=after)
    try:
        yield client, label
    finally:
        client.close()
