"""NewsAPI `/v2/everything` -> market_data.news_articles, scored by `cbi.feeds.sentiment`.

- `client`: `/v2/everything` over httpx (key in the X-Api-Key header), the daily budget.
- `source`: `NewsSource` on the feed seam (`cbi.feeds.base.run_feed`), `news_job` (the
  registry's job) and `normalize`.
"""

from __future__ import annotations

from cbi.feeds import sentiment
from cbi.feeds.news.client import (EVERYTHING, FEED, PAGE_SIZE, REQUESTS, Budget, BudgetExhausted,
                                   NewsClient, NewsError, news_client, news_error)
from cbi.feeds.news.source import (NEWS_EARLIEST, REACH, TABLE, NewsSource, news_job, normalize,
                                   windows)

__all__ = ["EVERYTHING", "FEED", "NEWS_EARLIEST", "PAGE_SIZE", "REACH", "REQUESTS", "TABLE",
           "Budget", "BudgetExhausted", "NewsClient", "NewsError", "NewsSource", "news_client",
           "news_error", "news_job", "normalize", "sentiment", "windows"]
