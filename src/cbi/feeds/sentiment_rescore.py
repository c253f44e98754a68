"""Re-score stored news articles with the current sentiment model.

`cbi features build --full` calls `rescore_articles` first, so a new scorer reaches
`market_data.news_sentiment` (a view over the stored scores) without re-fetching news. Only
rows whose score or model changes are written; an article stored without a title or
description keeps its score (there is nothing to read).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa

from cbi.feeds import sentiment

if TYPE_CHECKING:
    from cbi.warehouse.base import Warehouse

TABLE = "market_data.news_articles"


def article_text(title: str | None, description: str | None) -> str:
    """What the news feed scores: the title, then the description (as `news.normalize`)."""
    return ". ".join(t for t in (title, description) if t)


def rescore_articles(wh: Warehouse) -> int:
    """Re-score every stored article with text; returns how many rows changed."""
    rows = wh.query(f"SELECT url, published_at, title, description, query, sentiment_score, "
                    f"sentiment_model FROM {TABLE}").to_pylist()
    changed = []
    for row in rows:
        text = article_text(row["title"], row["description"])
        if not text:
            continue
        value = sentiment.score(text, row["query"])
        if value != row["sentiment_score"] or row["sentiment_model"] != sentiment.MODEL:
            changed.append((row["url"], row["published_at"], value))
    if changed:
        urls, published, values = zip(*changed)
        wh.merge(TABLE, pa.table({
            "url": pa.array(urls, pa.string()),
            "published_at": pa.array(published, pa.timestamp("us", tz="UTC")),
            "sentiment_score": pa.array(values, pa.float64()),
            "sentiment_model": pa.array([sentiment.MODEL] * len(urls), pa.string()),
        }))
    return len(changed)
