"""What `cbi status` shows: per-feed freshness, the latest run of each job, open alerts.

Computed where the warehouse is open (here, or in the owner through its job API), as plain
JSON-able values.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING, Any

from cbi.ops import alerts, runs

if TYPE_CHECKING:
    from cbi.config import Settings
    from cbi.warehouse.base import Warehouse


def _age_s(now: dt.datetime, at: dt.datetime | None) -> float | None:
    return None if at is None else round((now - at).total_seconds(), 1)


def _times(observed: dt.datetime | None, written: dt.datetime | None,
           now: dt.datetime) -> dict[str, Any]:
    return {"observed_at": observed, "observed_age_s": _age_s(now, observed),
            "written_at": written, "written_age_s": _age_s(now, written)}


def freshness_rows(fresh: list, wh: Warehouse, now: dt.datetime) -> list[dict[str, Any]]:
    """Each `alerts.Freshness` as a dict with `observed_at`/`written_at` and their ages;
    `last_at` is the newest observation (FRED's and news' too, never a write time). The
    times come with `fresh` (one query, `alerts.feed_times`): nothing is read again. `wh`
    stays in the signature for the callers that pass it."""
    return [{**dataclasses.asdict(f), **_times(f.last_at, f.written_at, now)} for f in fresh]


def status_report(wh: Warehouse, settings: Settings, now: dt.datetime | None = None,
                  raise_alerts: bool = False, limit: int = 10) -> dict[str, Any]:
    now = now or dt.datetime.now(dt.timezone.utc)
    check = alerts.check_staleness if raise_alerts else alerts.freshness
    fresh = check(wh, settings, now)
    latest = runs.with_abandoned(wh, runs.latest_per_job(wh))
    return {
        "freshness": freshness_rows(fresh, wh, now),
        "latest": latest,
        "recent": runs.with_abandoned(wh, runs.last_runs(wh, limit)),
        "alerts": alerts.open_alerts(wh),
        "stale": [f.subject for f in fresh if f.stale],
        "failed": [r["job"] for r in latest if r["status"] in runs.FAILED_STATUSES],
    }


def healthy(report: dict[str, Any]) -> bool:
    return not report["stale"] and not report["failed"]


def cost_report(wh: Warehouse, settings: Settings) -> dict[str, Any]:
    from cbi.ops.cost import month_to_date

    month = month_to_date(wh, settings)
    return {**dataclasses.asdict(month), "billable_bytes": month.billable_bytes,
            "estimate_usd": month.estimate_usd, "free_tier_used": month.free_tier_used}
