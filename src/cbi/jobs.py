"""The pipeline's jobs by name: what `cbi serve`, `cbi run` and `cbi cron` schedule.

Each entry is "module:function"; the function is `fn(wh, settings, **options) -> dict` and
returns at least `rows_read` and `rows_written` (the run log records them).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any, Callable

from cbi.feeds import registry

if TYPE_CHECKING:
    from cbi.config import Settings
    from cbi.warehouse.base import Warehouse

#: The jobs after the feeds, in the cycle's order.
PIPELINE: dict[str, str] = {
    "features": "cbi.jobs:features_job",
    "export": "cbi.export:export_job",
    "train": "cbi.models.train:train_job",
    "predict": "cbi.predict:predict_job",
    "retention": "cbi.ops.retention:retention_job",
}


def all_jobs() -> dict[str, str]:
    """Every job by name: the feeds' (from their registry lines), then the pipeline's."""
    return {**registry.feed_jobs(), **PIPELINE}


JOBS: dict[str, str] = all_jobs()  # as registered when cbi.jobs was first imported


def job(name: str) -> Callable[..., dict[str, Any]]:
    known = {**all_jobs(), **JOBS}  # a feed registered since import, and JOBS as it is now
    if name not in known:
        raise KeyError(f"unknown job {name!r}; jobs: {', '.join(known)}")
    module, fn = known[name].split(":")
    return getattr(import_module(module), fn)


def features_job(wh: Warehouse, settings: Settings, **options: Any) -> dict[str, Any]:
    """The `features` job: a full build first re-scores the stored news with the current
    sentiment scorer (news_sentiment is a view of the stored scores), then builds the
    features (`cbi.transform.features.features_job`). Composed here, not in transform: the
    transform reads the warehouse and never reaches into the feeds."""
    from cbi.transform.features import features_job as build

    if options.get("full"):
        from cbi.feeds.sentiment_rescore import rescore_articles

        rescore_articles(wh)
    return build(wh, settings, **options)
