"""Production: Google BigQuery (`engine`), its typed config (`config`), the dataset-prefix
rewrite (`prefix`). The names below are re-exported; patch a name in the module that reads
it (`cbi.warehouse.bigquery.engine.STORAGE_READ_MIN_ROWS`), never here."""

from cbi.warehouse.bigquery.config import BigQueryConfig
from cbi.warehouse.bigquery.engine import (
    CREDENTIALS_HELP,
    STORAGE_READ_MIN_ROWS,
    BigQueryWarehouse,
    CostGuardError,
    JobCost,
    check_reachable,
    credentials_for,
    error_line,
    from_url,
    guard_cost,
    statement_label,
)
from cbi.warehouse.bigquery.prefix import with_prefix

__all__ = ["CREDENTIALS_HELP", "STORAGE_READ_MIN_ROWS", "BigQueryConfig", "BigQueryWarehouse",
           "CostGuardError", "JobCost", "check_reachable", "credentials_for", "error_line",
           "from_url", "guard_cost", "statement_label", "with_prefix"]
