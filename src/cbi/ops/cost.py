"""BigQuery cost: every job's bytes go to `ops.query_costs`; `cbi cost` sums the month.

The BigQuery backend (`SUPPORTS_JOB_COSTS`) keeps a `JobCost` per query job it ran, dry runs
included; `flush_costs` drains them (`wh.drain_job_costs()`) into the table after each
pipeline job. The guard itself
(dry-run first, refuse above `cost_guard_bytes`) lives in `cbi.warehouse.bigquery.guard_cost`.
DuckDB costs nothing and keeps no job costs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    from cbi.config import Settings
    from cbi.warehouse.base import Warehouse

COSTS = "ops.query_costs"
TIB = 1024**4
UTC = dt.timezone.utc

_SCHEMA = pa.schema([
    ("job_id", pa.string()), ("created_at", pa.timestamp("us", tz="UTC")), ("role", pa.string()),
    ("job", pa.string()), ("statement_type", pa.string()), ("bytes_processed", pa.int64()),
    ("bytes_billed", pa.int64()), ("dry_run", pa.bool_()),
])


def flush_costs(wh: Warehouse, job: str | None = None) -> int:
    """Persist the warehouse's pending job costs; return the bytes they processed (not dry runs)."""
    pending = wh.drain_job_costs()  # before the merge: its own job lands in the next flush
    if not pending:
        return 0
    rows = [{"job_id": c.job_id or f"unknown-{i}", "created_at": c.created_at,
             "role": wh.role, "job": job, "statement_type": c.statement_type,
             "bytes_processed": c.bytes_processed, "bytes_billed": c.bytes_billed,
             "dry_run": c.dry_run} for i, c in enumerate(pending)]
    wh.merge(COSTS, pa.Table.from_pylist(rows, schema=_SCHEMA))
    return sum(c.bytes_processed for c in pending if not c.dry_run)


@dataclass
class MonthCost:
    month_start: dt.datetime
    bytes_processed: int
    bytes_billed: int
    jobs: int
    free_tier_bytes: int
    price_per_tib: float
    by_job: list[dict]

    @property
    def billable_bytes(self) -> int:
        return max(0, self.bytes_billed - self.free_tier_bytes)

    @property
    def estimate_usd(self) -> float:
        return round(self.billable_bytes / TIB * self.price_per_tib, 2)

    @property
    def free_tier_used(self) -> float:
        return self.bytes_billed / self.free_tier_bytes if self.free_tier_bytes else 0.0


def month_to_date(wh: Warehouse, settings: Settings, now: dt.datetime | None = None) -> MonthCost:
    now = now or dt.datetime.now(UTC)
    start = dt.datetime(now.year, now.month, 1, tzinfo=UTC)
    total = wh.query_file("cbi.ops.sql", "costs_month.sql", {"month_start": start}).to_pylist()[0]
    by_job = wh.query_file("cbi.ops.sql", "costs_by_job.sql", {"month_start": start}).to_pylist()
    return MonthCost(start, int(total["bytes_processed"]), int(total["bytes_billed"]),
                     int(total["jobs"]), settings.bigquery_free_tier_bytes,
                     settings.bigquery_price_per_tib, by_job)


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.2f} {unit}"
        n /= 1024
    return str(n)
