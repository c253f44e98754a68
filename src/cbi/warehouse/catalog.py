"""Every table of the warehouse, read from the DDL files in `schema/` (BigQuery SQL).

A DDL file's header comments declare what SQL cannot: `-- key: a, b` (the natural key every
MERGE matches on), `-- template: horizon` (one table per horizon), `-- view`.
Columns, partitioning and clustering are parsed from the DDL itself with sqlglot, so the
file is the single source of truth for both engines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import sqlglot
from sqlglot import exp

from cbi.config import HORIZONS

DATASETS = ("market_data", "features", "training", "predictions", "ops")
_HEADER = re.compile(r"^--\s*(key|template|view)\s*:?\s*(.*)$", re.M)


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # BigQuery type name: STRING, INT64, FLOAT64, BOOL, DATE, TIMESTAMP
    required: bool = False


@dataclass(frozen=True)
class TableSpec:
    dataset: str
    name: str
    ddl: str  # BigQuery Standard SQL
    key: tuple[str, ...] = ()
    columns: tuple[Column, ...] = ()
    partition_column: str | None = None
    partition_granularity: str | None = None  # DAY or MONTH
    clustering: tuple[str, ...] = ()
    description: str = ""
    is_view: bool = False
    source: str = field(default="", compare=False)

    @property
    def fqn(self) -> str:
        return f"{self.dataset}.{self.name}"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


_TYPE_NAMES = {
    "TEXT": "STRING", "VARCHAR": "STRING", "BIGINT": "INT64", "INT": "INT64", "DOUBLE": "FLOAT64",
    "FLOAT": "FLOAT64", "BOOLEAN": "BOOL", "TIMESTAMPTZ": "TIMESTAMP", "DATE": "DATE",
    "DECIMAL": "NUMERIC", "TIMESTAMP": "TIMESTAMP", "DATETIME": "DATETIME", "INTEGER": "INT64",
}


def bigquery_type(type_sql: str) -> str:
    """Normalise a type name from either engine to the BigQuery name."""
    t = type_sql.upper().strip()
    if t.startswith("TIMESTAMP WITH TIME ZONE"):
        return "TIMESTAMP"
    if t == "TIMESTAMP":  # DuckDB's naive TIMESTAMP is BigQuery DATETIME; ours are all TZ-aware
        return "TIMESTAMP"
    return _TYPE_NAMES.get(t, t)


def _parse(ddl: str, source: str) -> TableSpec:
    headers = {k: v.strip() for k, v in _HEADER.findall(ddl)}
    tree = sqlglot.parse_one(ddl, read="bigquery")
    table = tree.find(exp.Table)
    dataset, name = table.db, table.name
    if "view" in headers or (tree.args.get("kind") or "").upper() == "VIEW":
        return TableSpec(dataset, name, ddl, is_view=True, source=source)
    columns = []
    for cdef in tree.find_all(exp.ColumnDef):
        required = any(isinstance(c.kind, exp.NotNullColumnConstraint) for c in cdef.constraints)
        columns.append(Column(cdef.name, bigquery_type(cdef.args["kind"].sql("bigquery")), required))
    part_col, gran = _partitioning(tree)
    cluster = tree.find(exp.ClusterProperty)
    clustering = tuple(e.name for e in cluster.expressions) if cluster else ()
    desc = ""
    for prop in tree.find_all(exp.Property):
        if prop.name.lower() == "description":
            desc = prop.args["value"].name
    key = tuple(k.strip() for k in headers.get("key", "").split(",") if k.strip())
    missing = [k for k in key if k not in {c.name for c in columns}]
    if missing:
        raise ValueError(f"{source}: key column(s) {missing} are not columns of {dataset}.{name}")
    return TableSpec(dataset, name, ddl, key, tuple(columns), part_col, gran, clustering, desc,
                     source=source)


def _partitioning(tree: exp.Expression) -> tuple[str | None, str | None]:
    prop = tree.find(exp.PartitionedByProperty)
    if prop is None:
        return None, None
    expr = prop.this
    if isinstance(expr, (exp.Column, exp.Identifier)):
        return expr.name, "DAY"
    col = expr.find(exp.Column)
    sql = expr.sql("bigquery").upper()
    return (col.name if col else None), ("MONTH" if "MONTH" in sql else "DAY")


def _schema_files() -> list[tuple[str, str]]:
    root = resources.files("cbi.warehouse") / "schema"
    out = []
    for ds in DATASETS:
        folder = root / ds
        for entry in sorted(folder.iterdir(), key=lambda p: p.name):
            if entry.name.endswith(".sql"):
                out.append((f"{ds}/{entry.name}", entry.read_text()))
    return out


@lru_cache(maxsize=1)
def all_tables() -> tuple[TableSpec, ...]:
    """Every table and view, templates expanded (one table per horizon)."""
    specs: list[TableSpec] = []
    for source, text in _schema_files():
        if re.search(r"^--\s*template:\s*horizon", text, re.M):
            for horizon, days in HORIZONS.items():
                ddl = text.replace("{horizon}", horizon).replace("{days}", str(days))
                specs.append(_parse(ddl, source))
        else:
            specs.append(_parse(text, source))
    # Views last: they may select from tables.
    return tuple(sorted(specs, key=lambda s: s.is_view))


def table(fqn: str) -> TableSpec:
    """The spec of one table, by `dataset.name`; unknown names are refused (an allowlist)."""
    for spec in all_tables():
        if spec.fqn == fqn:
            return spec
    raise KeyError(f"unknown table {fqn!r}")


def schema_dir() -> Path:
    return Path(str(resources.files("cbi.warehouse") / "schema"))
