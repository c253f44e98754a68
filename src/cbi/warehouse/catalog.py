"""Every table of the warehouse, read from the DDL files in `schema/` (BigQuery SQL).

A DDL file's header comments declare what SQL cannot: `-- key: a, b` (the natural key every
MERGE matches on), `-- template: horizon` (one table per horizon) or `-- template: surface,
horizon` (one per surface and horizon), `-- retention: never` (retention refused: training
needs every row) or `-- retention: after roll-up into DATASET.TABLE` (a row expires only once
the roll-up holds it), `-- view`. Columns, partitioning and clustering are parsed from the DDL
itself with sqlglot, so the file is the single source of truth for both engines.

The catalogue also owns the names built from templates: `training_table`,
`predictions_table`, `backtest_table` and `export_path`; no other module spells them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import cast

import sqlglot
from sqlglot import exp

from cbi.config import HORIZONS, SURFACES

DATASETS = ("market_data", "features", "training", "predictions", "ops")
_HEADER = re.compile(r"^--\s*(key|template|retention|view)\s*:?\s*(.*)$", re.M)
_ROLLED_UP = re.compile(r"after roll-up into ([a-z_]+\.[a-z0-9_]+)")


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
    #: `-- retention:` "never" (refused), "after roll-up" (see `rolled_up_into`) or "" (free)
    retention: str = ""
    rolled_up_into: str | None = None  # the table whose rows must exist before these expire

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
    table = cast(exp.Table, tree.find(exp.Table))  # a CREATE statement names its table
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
    retention, rolled_up_into = _retention(headers.get("retention", ""), source)
    return TableSpec(dataset, name, ddl, key, tuple(columns), part_col, gran, clustering, desc,
                     source=source, retention=retention, rolled_up_into=rolled_up_into)


def _retention(header: str, source: str) -> tuple[str, str | None]:
    if not header:
        return "", None
    if header.split()[0] == "never":
        return "never", None
    rolled = _ROLLED_UP.match(header)
    if rolled:
        return "after roll-up", rolled.group(1)
    raise ValueError(f"{source}: unknown retention rule {header!r}; use 'never' or "
                     "'after roll-up into DATASET.TABLE'")


def _partitioning(tree: exp.Expr) -> tuple[str | None, str | None]:
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
        specs.extend(_parse(ddl, source) for ddl in _expand(text))
    # Views last: they may select from tables.
    return tuple(sorted(specs, key=lambda s: s.is_view))


def _expand(text: str) -> list[str]:
    """The DDL of each table a file declares: one, or one per horizon (and surface)."""
    template = re.search(r"^--\s*template:\s*(.*)$", text, re.M)
    axes = [a.strip() for a in template.group(1).split(",")] if template else []
    surfaces = SURFACES if "surface" in axes else (None,)
    horizons = HORIZONS.items() if "horizon" in axes else [(None, None)]
    out = []
    for surface in surfaces:
        for horizon, days in horizons:
            ddl = text if surface is None else text.replace("{surface}", surface)
            if horizon is not None:
                ddl = ddl.replace("{horizon}", horizon).replace("{days}", str(days))
            out.append(ddl)
    return out


def table(fqn: str) -> TableSpec:
    """The spec of one table, by `dataset.name`; unknown names are refused (an allowlist)."""
    for spec in all_tables():
        if spec.fqn == fqn:
            return spec
    raise KeyError(f"unknown table {fqn!r}")


def schema_dir() -> Path:
    return Path(str(resources.files("cbi.warehouse") / "schema"))


# ---- names built from templates (the only place they are spelled) ----------------------------
def training_table(surface: str, horizon: str) -> str:
    """`training.zl_training_{surface}_allhistory_{horizon}` (unknown surface/horizon: KeyError)."""
    return table(f"training.zl_training_{surface}_allhistory_{horizon}").fqn


def predictions_table(surface: str, horizon: str) -> str:
    """`predictions.zl_predictions_{surface}_allhistory_{horizon}`."""
    return table(f"predictions.zl_predictions_{surface}_allhistory_{horizon}").fqn


def backtest_table(surface: str, horizon: str) -> str:
    """`predictions.zl_backtest_{surface}_allhistory_{horizon}`."""
    return table(f"predictions.zl_backtest_{surface}_allhistory_{horizon}").fqn


def export_path(export_dir: str | Path, surface: str, horizon: str) -> Path:
    """The Parquet export of a training table: `{export_dir}/{its table name}.parquet`."""
    return Path(export_dir) / f"{training_table(surface, horizon).split('.')[1]}.parquet"


def never_expire() -> frozenset[str]:
    """Every table whose DDL says `-- retention: never`."""
    return frozenset(s.fqn for s in all_tables() if s.retention == "never")
