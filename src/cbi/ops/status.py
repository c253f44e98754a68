"""What `cbi status` shows: per-feed freshness, the latest run of each job, open alerts.

Computed where the warehouse is open (here, or in the owner through its job API), as plain
JSON-able values.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from cbi.ops import alerts, runs


def status_report(wh, settings, now: dt.datetime | None = None, raise_alerts: bool = False,
                  limit: int = 10) -> dict[str, Any]:
    check = alerts.check_staleness if raise_alerts else alerts.freshness
    fresh = check(wh, settings, now)
    latest = runs.latest_per_job(wh)
    return {
        "freshness": [dataclasses.asdict(f) for f in fresh],
        "latest": latest,
        "recent": runs.last_runs(wh, limit),
        "alerts": alerts.open_alerts(wh),
        "stale": [f.subject for f in fresh if f.stale],
        "failed": [r["job"] for r in latest if r["status"] == "failed"],
    }


def healthy(report: dict[str, Any]) -> bool:
    return not report["stale"] and not report["failed"]


def cost_report(wh, settings) -> dict[str, Any]:
    from cbi.ops.cost import month_to_date

    month = month_to_date(wh, settings)
    return {**dataclasses.asdict(month), "billable_bytes": month.billable_bytes,
            "estimate_usd": month.estimate_usd, "free_tier_used": month.free_tier_used}
