"""NewsAPI `/v2/everything` -> market_data.news_articles, scored by `cbi.feeds.sentiment`.

Each configured query walks forward from its watermark (or one month back, the developer
plan's reach) in windows of `window_hours`, oldest first, so a window's 100-result cap
(HTTP 426 `maximumResultsReached` on the developer plan) loses as little as possible. Pages
of 100; a 426 ends that window cleanly. Every request is recorded in ops.api_requests and
counted against `news_daily_request_budget` (UTC day) before it is made. Articles are
deduplicated by URL; the watermark moves to a window's end only after its MERGE commits.
The key travels in the X-Api-Key header, never in the URL.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Iterator

import pyarrow as pa

from cbi import calendar
from cbi.config import Settings
from cbi.feeds import sentiment
from cbi.feeds.base import Request, SourceBase, get_watermark, run_feed
from cbi.feeds.news.client import FEED, UTC, Budget, BudgetExhausted, NewsClient, news_client
from cbi.warehouse.base import MergeResult, Warehouse

log = logging.getLogger(__name__)

TABLE = "market_data.news_articles"
REACH = dt.timedelta(days=29)  # developer plan: one month back


# ---- normalise ---------------------------------------------------------------------------
def normalize(query: str, articles: list[dict], source: str = "newsapi", root: str = "ZL") -> pa.Table:
    """Articles -> rows of market_data.news_articles, deduplicated by URL (last wins).
    `source` is the endpoint's label: rows store 'sandbox' or 'newsapi' as their provenance.
    `trading_date`: the first CME trading date of `root` whose close follows publication."""
    by_url: dict[str, dict] = {}
    for i, a in enumerate(articles):
        url = a.get("url")
        if not url:
            raise ValueError(f"NewsAPI article {i} for {query!r}: field 'url' is empty")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")) or not url.isprintable():
            raise ValueError(f"NewsAPI article {i} for {query!r}: field 'url' is {str(url)[:80]!r} "
                             "(rule: an http(s) URL without control characters)")
        by_url[url] = {**a, "_published": _published(a, i, query)}
    rows = list(by_url.values())
    texts = [". ".join(t for t in (r.get("title"), r.get("description")) if t) for r in rows]
    n, now = len(rows), dt.datetime.now(UTC)
    return pa.table({
        "url": pa.array(list(by_url), pa.string()),
        "published_at": pa.array([r["_published"] for r in rows], pa.timestamp("us", tz="UTC")),
        "publisher": pa.array([(r.get("source") or {}).get("name") for r in rows], pa.string()),
        "author": pa.array([r.get("author") for r in rows], pa.string()),
        "title": pa.array([r.get("title") for r in rows], pa.string()),
        "description": pa.array([r.get("description") for r in rows], pa.string()),
        "content": pa.array([r.get("content") for r in rows], pa.string()),
        "query": pa.array([query] * n, pa.string()),
        "trading_date": pa.array([calendar.trading_date_moved_by(root, r["_published"]) for r in rows],
                                 pa.date32()),
        "sentiment_score": pa.array(sentiment.score_many(texts, query), pa.float64()),
        "sentiment_model": pa.array([sentiment.MODEL] * n, pa.string()),
        "source": pa.array(["sandbox" if source.endswith("sandbox") else "newsapi"] * n, pa.string()),
        "ingest_timestamp": pa.array([now] * n, pa.timestamp("us", tz="UTC")),
    })


def _published(article: dict, i: int, query: str) -> dt.datetime:
    raw = article.get("publishedAt")
    try:
        when = dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        raise ValueError(f"NewsAPI article {i} for {query!r}: field 'publishedAt' is {raw!r}") from None
    latest = dt.datetime.now(UTC) + dt.timedelta(days=1)
    if not NEWS_EARLIEST <= when <= latest:
        raise ValueError(f"NewsAPI article {i} for {query!r}: field 'publishedAt' is {raw!r}, outside "
                         f"the plausible dates [{NEWS_EARLIEST:%Y-%m-%d}, {latest:%Y-%m-%d}] "
                         "(rule: published after the web began, at most a day ahead)")
    return when


#: No NewsAPI article predates the web.
NEWS_EARLIEST = dt.datetime(1991, 1, 1, tzinfo=dt.timezone.utc)


# ---- the job -----------------------------------------------------------------------------
def windows(start: dt.datetime, end: dt.datetime, hours: float) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    step = dt.timedelta(hours=hours)
    while start < end:
        yield start, min(start + step, end)
        start += step


class NewsSource(SourceBase):
    """The feed seam (`cbi.feeds.base.Source`): one request per query and time window, from
    each query's watermark (at most `REACH` back). A spent daily budget ends the plan; the
    window it interrupted keeps its watermark."""

    feed = FEED
    table = TABLE
    secret: str | None = "NEWSAPI_KEY"

    def __init__(self, client: NewsClient, label: str, root: str, now: dt.datetime,
                 hours: float) -> None:
        self.client, self.label, self.root, self.now, self.hours = client, label, root, now, hours
        self.exhausted, self.truncated, self.truncated_windows = False, False, 0

    def plan(self, wh: Warehouse, settings: Settings, queries: list[str] | None = None, **_: Any) -> Iterator[Request]:
        for query in queries or settings.news_queries:
            mark = get_watermark(wh, FEED, query)
            start = max(mark, self.now - REACH) if mark else self.now - REACH
            for lo, hi in windows(start, self.now, self.hours):
                if self.exhausted:
                    return
                yield Request(query, lo, hi)

    def fetch(self, request: Request) -> list[dict]:
        assert isinstance(request.start, dt.datetime) and isinstance(request.end, dt.datetime)
        try:
            articles, self.truncated = self.client.window(request.cursor_key, request.start,
                                                          request.end)
        except BudgetExhausted as exc:
            log.warning("%s; stopping until tomorrow (UTC)", exc)
            self.exhausted = True
            return []
        return articles

    def normalize(self, request: Request, raw: list[dict]) -> pa.Table:
        return normalize(request.cursor_key, raw, self.label, self.root)

    def records(self, raw: list[dict], rows: pa.Table) -> int:
        return len(raw)  # the stand-in (and NewsAPI) may serve a URL twice: rows are fewer

    def after_merge(self, wh: Warehouse, request: Request, rows: pa.Table,
                    result: MergeResult) -> None:
        self.truncated_windows += int(self.truncated and not self.exhausted)

    def watermark(self, request: Request, rows: pa.Table) -> dt.datetime | None:
        assert request.end is None or isinstance(request.end, dt.datetime)
        return None if self.exhausted else request.end

    def details(self, request: Request, rows: pa.Table) -> dict[str, Any]:
        return {"articles": rows.num_rows, "truncated": self.truncated}


def news_job(wh: Warehouse, settings: Settings, queries: list[str] | None = None, window_hours: float = 24,
             now: dt.datetime | None = None, **options: Any) -> dict[str, Any]:
    """Every configured query from its watermark, within the daily request budget."""
    now = now or dt.datetime.now(UTC)
    budget = Budget(wh, settings.news_daily_request_budget)
    with news_client(settings, budget, **options) as (client, label):
        source = NewsSource(client, label, settings.target_root, now, window_hours)
        out = run_feed(wh, source, settings, queries=queries)
    out.pop("cursors")
    out.update(requests=len(budget.made), budget_exhausted=source.exhausted,
               truncated_windows=source.truncated_windows, source=label)
    return out
