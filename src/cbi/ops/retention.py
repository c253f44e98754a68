"""Retention: expire old partitions per `retention_days`, never what training needs.

Settings refuse a retention for training inputs up front (`cbi.config.NEVER_EXPIRE`), the
warehouse refuses again, and raw 1-minute bars expire only once rolled up into daily bars.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cbi.config import Settings
    from cbi.warehouse.base import Warehouse

log = logging.getLogger(__name__)


def retention_job(wh: Warehouse, settings: Settings, **options: Any) -> dict[str, Any]:
    """Apply `settings.retention_days`; on DuckDB old rows are deleted, on BigQuery the
    table's partition_expiration_days is set and BigQuery expires them itself. A table that
    expires after its roll-up has its old rows deleted on both engines, only those the
    roll-up holds (`expire_rolled_up.sql`)."""
    days = dict(settings.retention_days)
    if not days:
        log.info("retention: nothing configured (retention_days is empty)")
        return {"rows_read": 0, "rows_written": 0, "rows_deleted": 0, "tables": {}}
    deleted = wh.apply_retention(days)
    for fqn, n in deleted.items():
        log.info("retention: %s keeps %d days, %d row(s) expired", fqn, days[fqn], n)
    return {"rows_read": 0, "rows_written": 0, "rows_deleted": int(sum(deleted.values())),
            "tables": deleted}
