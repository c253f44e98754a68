"""The pipeline's jobs by name: what `cbi serve`, `cbi run` and `cbi cron` schedule.

Each entry is "module:function"; the function is `fn(wh, settings, **options) -> dict` and
returns at least `rows_read` and `rows_written` (the run log records them).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, Callable

JOBS: dict[str, str] = {
    "databento": "cbi.feeds.databento:poll_job",
    "fred": "cbi.feeds.fred:fred_job",
    "news": "cbi.feeds.news:news_job",
    "features": "cbi.transform.features:features_job",
    "export": "cbi.export:export_job",
    "train": "cbi.models.train:train_job",
    "predict": "cbi.predict:predict_job",
    "retention": "cbi.ops.retention:retention_job",
}


def job(name: str) -> Callable[..., dict[str, Any]]:
    if name not in JOBS:
        raise KeyError(f"unknown job {name!r}; jobs: {', '.join(JOBS)}")
    module, fn = JOBS[name].split(":")
    return getattr(import_module(module), fn)
