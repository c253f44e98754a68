"""The embedded default engine: one DuckDB file (`engine`), its typed config (`config`)."""

from cbi.warehouse.duckdb.config import DuckDBConfig
from cbi.warehouse.duckdb.engine import DuckDBWarehouse, WarehouseLockedError, from_url, to_duckdb

__all__ = ["DuckDBConfig", "DuckDBWarehouse", "WarehouseLockedError", "from_url", "to_duckdb"]
