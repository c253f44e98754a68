"""The warehouse seam: one protocol, shared merge/staging logic, two engines.

All SQL handed to a warehouse is BigQuery Standard SQL with `@name` parameters; the DuckDB
backend transpiles it with sqlglot. Identifiers never come from users: tables come from the
catalogue (an allowlist), values go in as query parameters.
"""

from __future__ import annotations

import contextlib

import datetime as dt
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, ClassVar, Iterator, cast, overload

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlglot
from sqlglot import exp

from cbi.errors import UsageError
from cbi.warehouse import catalog
from cbi.warehouse.catalog import TableSpec

ROW_ORDINAL = "_cbi_row"  # staging column: position in the batch; the last row of a key wins

ARROW_TYPES: dict[str, pa.DataType] = {
    "STRING": pa.string(),
    "INT64": pa.int64(),
    "FLOAT64": pa.float64(),
    "BOOL": pa.bool_(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us", tz="UTC"),
    "NUMERIC": pa.float64(),
}


def python_value(value: Any) -> Any:
    """One query-parameter value as the plain Python type both engines bind.

    The pipeline hands over numpy scalars (`np.datetime64`, `np.int64`, `np.float64`…),
    pandas ones (`Timestamp`, `NaT`, `NA`) and Arrow scalars; the BigQuery client serialises
    only Python types (a numpy date fails inside it with "not JSON serializable") and DuckDB
    binds some of them differently. A `datetime64` of day unit becomes a `date`, of a finer
    unit a UTC `datetime`; NaT/NA become NULL; arrays become lists.
    """
    if value is None or isinstance(value, (str, bytes, bool)):
        return value
    if isinstance(value, pa.Scalar):
        return python_value(value.as_py())
    if isinstance(value, (pa.Array, pa.ChunkedArray)):
        return [python_value(v) for v in value.to_pylist()]
    if isinstance(value, np.ndarray):
        return [python_value(v) for v in value]
    if isinstance(value, (list, tuple)):
        return [python_value(v) for v in value]
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            return None
        unit = np.datetime_data(value.dtype)[0]
        if unit in ("Y", "M", "W", "D"):
            return value.astype("datetime64[D]").astype(dt.date)
        micros = int(value.astype("datetime64[us]").astype(np.int64))
        return _EPOCH + dt.timedelta(microseconds=micros)
    if isinstance(value, np.timedelta64):
        return None if np.isnat(value) else dt.timedelta(
            microseconds=int(value.astype("timedelta64[us]").astype(np.int64)))
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.str_):
        return str(value)
    module = type(value).__module__
    if module.startswith("pandas"):
        import pandas as pd

        if value is pd.NaT or value is pd.NA:
            return None
        if isinstance(value, pd.Timestamp):
            return value.to_pydatetime(warn=False)
        if isinstance(value, pd.Timedelta):
            return value.to_pytimedelta()
        if isinstance(value, pd.Period):
            return value.to_timestamp().date() if value.freqstr.startswith("D") else value.start_time.to_pydatetime()
    return value


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


@overload
def python_params(params: dict[str, Any]) -> dict[str, Any]: ...
@overload
def python_params(params: dict[str, Any] | None) -> dict[str, Any] | None: ...
def python_params(params: dict[str, Any] | None) -> dict[str, Any] | None:
    """Query parameters with every value a plain Python type (see `python_value`): the one
    conversion, applied where a warehouse takes parameters, for both engines."""
    if not params:
        return params
    return {name: python_value(value) for name, value in params.items()}


class WarehouseError(UsageError, RuntimeError):
    """A warehouse operation refused or failed; the message says what and why (exit 2)."""


class ReadOnlyError(WarehouseError):
    pass


@dataclass
class MergeResult:
    table: str
    rows_in: int = 0
    rows_merged: int = 0  # after resolving duplicate keys (last row wins)
    inserted: int = 0
    updated: int = 0

    @property
    def duplicates_resolved(self) -> int:
        return self.rows_in - self.rows_merged


@dataclass
class InitReport:
    datasets_created: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    found: list[str] = field(default_factory=list)


@dataclass
class Check:
    table: str
    check: str
    ok: bool
    detail: str = ""


@lru_cache(maxsize=256)
def read_sql(package: str, name: str) -> str:
    """The text of a `.sql` file that ships beside the code (`package` is a dotted module path)."""
    return (resources.files(package) / name).read_text()


#: Statements and clauses that write, change the session or touch files: never read-only.
_WRITERS = (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create, exp.Drop, exp.Alter,
            exp.Into, exp.Copy, exp.Command, exp.Set, exp.Pragma, exp.Transaction, exp.Commit,
            exp.Rollback, exp.TruncateTable, exp.Use)
#: Functions that run SQL given as text or write files (DuckDB's; BigQuery has none of these).
_WRITING_FUNCTIONS = frozenset({"query", "query_table", "write_csv", "write_parquet",
                                "export_database", "copy_database", "install", "load",
                                "pragma", "checkpoint", "force_checkpoint", "attach", "detach",
                                "set_variable"})


def read_only_problem(sql: str, *, single: bool = False) -> str | None:
    """Why `sql` is not a pure read (None when it is): the one read-only guard.

    A pure read is a query (SELECT/WITH/UNION…, DESCRIBE, SHOW) whose parsed tree holds no
    INTO, DDL, DML, COPY, ATTACH, PRAGMA, SET, transaction control, nor a function that runs
    SQL text or writes files. `single`: exactly one statement (what `cbi query` accepts).
    """
    try:
        statements = [s for s in sqlglot.parse(sql, read="bigquery") if s is not None]
    except sqlglot.errors.ParseError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "cannot parse"
        return f"syntax error: {first}"
    except sqlglot.errors.SqlglotError as exc:  # tokenizer errors (an unclosed quote…)
        return f"syntax error: {str(exc).splitlines()[0] if str(exc) else 'cannot parse'}"
    if not statements:
        return "no statement given"
    if single and len(statements) != 1:
        return f"one statement at a time ({len(statements)} given)"
    for stmt in statements:
        if not isinstance(stmt, (exp.Query, exp.Describe, exp.Show)):
            return f"{_statement_name(stmt)} is not a read-only query (SELECT/WITH only)"
        writer = next(stmt.find_all(*_WRITERS), None)
        if writer is not None:
            return f"{_statement_name(writer)} writes: read-only queries only"
        for fn in stmt.find_all(exp.Func):
            name = (fn.name if isinstance(fn, exp.Anonymous) else fn.sql_name()).lower()
            if name in _WRITING_FUNCTIONS:
                return f"function {name}() is not allowed in a read-only query"
    return None


def _statement_name(node: exp.Expr) -> str:
    if isinstance(node, exp.Into):
        return "SELECT … INTO"
    if isinstance(node, exp.Command):
        return str(node.this).upper()
    return type(node).__name__.upper().replace("TABLE", " TABLE").strip()


@lru_cache(maxsize=1024)  # read-only connections check every query; the same files run again and again
def is_read_only_sql(sql: str) -> bool:
    """True when every statement is a pure read (see `read_only_problem`)."""
    return read_only_problem(sql) is None


def check_query(sql: str) -> None:
    """`cbi query`'s gate: exactly one pure read, else a UsageError saying why (exit 2)."""
    problem = read_only_problem(sql, single=True)
    if problem is None:
        return
    if problem.startswith(("syntax error", "no statement", "one statement")):
        raise UsageError(f"{problem}; nothing ran")
    raise ReadOnlyError(f"refused: {problem}; nothing ran")


class ReadOnlyView:
    """A read-only face of a read-write warehouse: the owner's, lent to a read-only command.

    Every query is checked by the guard and runs inside a transaction that is always rolled
    back (on engines with transactions), so even a statement the guard missed changes nothing.
    """

    read_only = True

    def __init__(self, wh: Warehouse) -> None:
        self._wh = wh

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wh, name)

    def _refuse(self, *_: Any, **__: Any) -> None:
        raise ReadOnlyError("refused: this command reads only; nothing changed")

    execute = execute_file = merge = init = apply_retention = _refuse

    def query(self, sql: str, params: dict[str, Any] | None = None) -> pa.Table:
        if not is_read_only_sql(sql):
            raise ReadOnlyError(f"refused: {read_only_problem(sql)}; nothing changed")
        result = self._wh._run_rolled_back(sql, params)
        return result if result is not None else pa.table({})

    def query_rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return self.query(sql, params).to_pylist()

    def scalar(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        table = self.query(sql, params)
        return table.column(0)[0].as_py() if table.num_rows else None

    def query_file(self, package: str, name: str, params: dict[str, Any] | None = None,
                   **identifiers: str) -> pa.Table:
        return self.query(self._wh.render(package, name, **identifiers), params)

    def read_only_view(self) -> ReadOnlyView:
        return self

    def close(self) -> None:
        pass

    def __enter__(self) -> ReadOnlyView:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class Warehouse(ABC):
    """A backend. Capabilities are class constants; tests skip by capability, not by name."""

    engine: ClassVar[str] = ""
    SUPPORTS_PARTITION_OPTIONS: ClassVar[bool] = False  # partitions/clustering are physical
    SUPPORTS_TRANSACTIONS: ClassVar[bool] = False  # multi-statement transactions
    SUPPORTS_DRY_RUN: ClassVar[bool] = False  # byte estimates before running
    SUPPORTS_STORAGE_READ_API: ClassVar[bool] = False
    SUPPORTS_JOB_COSTS: ClassVar[bool] = False  # bytes per query job (what BigQuery bills)
    ONE_PROCESS: ClassVar[bool] = False  # one process at a time holds it (DuckDB's file lock)

    read_only: bool = False
    url: str = ""
    role: str | None = None  # the access role it was opened for (BigQuery: its credentials)
    dataset_prefix: str = ""  # BigQuery: `dataset_prefix=` of the URL; none elsewhere

    @property
    def datasets(self) -> tuple[str, ...]:
        """The datasets (DuckDB: schemas) this connection reads and writes, as the engine
        names them (BigQuery adds the URL's dataset_prefix)."""
        return catalog.DATASETS

    # ---- engine abilities with a default (capability constants say which engine has them)
    @property
    def job_costs(self) -> list[Any]:
        """Costs of the query jobs run since the last drain (filled where SUPPORTS_JOB_COSTS)."""
        return self.__dict__.setdefault("_job_costs", [])

    @job_costs.setter
    def job_costs(self, costs: list[Any]) -> None:
        self.__dict__["_job_costs"] = costs

    def drain_job_costs(self) -> list[Any]:
        """The recorded job costs, handed over and forgotten (`cbi.ops.cost.flush_costs`
        stores them); always empty on an engine without job costs."""
        drained = list(self.job_costs)
        self.job_costs.clear()
        return drained

    def keep_job_costs(self, costs: list[Any]) -> None:
        """Take over costs another connection recorded (a read-only one), to be drained here."""
        self.job_costs.extend(costs)

    # ---- engine primitives ---------------------------------------------------------------
    @abstractmethod
    def _run(self, sql: str, params: dict[str, Any] | None) -> pa.Table | None:
        """Run BigQuery-dialect SQL (one or more statements); return the last result."""

    @abstractmethod
    def _run_dml(self, sql: str, params: dict[str, Any] | None) -> int:
        """Run one BigQuery-dialect DML statement (DELETE, UPDATE, INSERT); return the rows
        it changed."""

    @abstractmethod
    def _existing_columns(self, spec: TableSpec) -> dict[str, str] | None:
        """Column name -> BigQuery type of the table as it is, or None when absent."""

    @abstractmethod
    def _create_dataset(self, dataset: str) -> bool:
        """Create a dataset/schema if missing; True when created."""

    @abstractmethod
    def _merge_staged(self, spec: TableSpec, rows: pa.Table, sql: str,
                      params: dict[str, Any]) -> tuple[int, int]:
        """Stage `rows`, run the MERGE `sql` (staging table name `{staging}`) atomically,
        drop the staging; return (inserted, updated)."""

    @abstractmethod
    def partitioning(self, fqn: str) -> dict[str, Any]:
        """How the table is partitioned and clustered, as the engine reports it."""

    @abstractmethod
    def _set_expiration(self, spec: TableSpec, days: int) -> int:
        """Apply retention; return the rows deleted (0 where the engine expires partitions
        itself). A table `-- retention: after roll-up into T` never comes here: it goes
        through `_expire_rolled_up` on every engine."""

    def close(self) -> None:  # noqa: B027 - optional for backends
        pass

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- queries ---------------------------------------------------------------------------
    def query(self, sql: str, params: dict[str, Any] | None = None) -> pa.Table:
        """A read query (BigQuery SQL, `@name` parameters) as an Arrow table."""
        self._refuse_writes(sql)
        result = self._run(sql, python_params(params))
        return result if result is not None else pa.table({})

    def _refuse_writes(self, sql: str) -> None:
        if self.read_only and not is_read_only_sql(sql):
            raise ReadOnlyError(f"refused: this warehouse connection is read-only "
                                f"({read_only_problem(sql)})")

    def _run_rolled_back(self, sql: str, params: dict[str, Any] | None) -> pa.Table | None:
        """Run a read inside a transaction that is always rolled back (where there are any)."""
        params = python_params(params)
        if not self.SUPPORTS_TRANSACTIONS:
            return self._run(sql, params)
        self._run("BEGIN TRANSACTION", None)
        try:
            return self._run(sql, params)
        finally:
            self._run("ROLLBACK", None)

    def read_only_view(self) -> ReadOnlyView:
        """This warehouse as a read-only command may use it (see ReadOnlyView)."""
        return ReadOnlyView(self)

    def query_rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """`query` as row dicts (what `Table.to_pylist` gives); an engine may skip Arrow."""
        self._refuse_writes(sql)
        return self._run_rows(sql, python_params(params))

    def _run_rows(self, sql: str, params: dict[str, Any] | None) -> list[dict[str, Any]]:
        result = self._run(sql, params)
        return result.to_pylist() if result is not None else []

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        """A statement that may write (DDL, DML)."""
        self._refuse_writes(sql)
        self._run(sql, python_params(params))

    def scalar(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        table = self.query(sql, params)
        return table.column(0)[0].as_py() if table.num_rows else None

    def query_file(self, package: str, name: str, params: dict[str, Any] | None = None,
                   **identifiers: str) -> pa.Table:
        """Run a shipped `.sql` file; `{identifiers}` are filled from allowlisted names only."""
        return self.query(self.render(package, name, **identifiers), params)

    def execute_file(self, package: str, name: str, params: dict[str, Any] | None = None,
                     **identifiers: str) -> None:
        self.execute(self.render(package, name, **identifiers), params)

    @staticmethod
    def render(package: str, name: str, **identifiers: str) -> str:
        sql = read_sql(package, name)
        for key, value in identifiers.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", str(value)):
                raise WarehouseError(f"refused identifier {value!r} for {{{key}}}")
            sql = sql.replace("{" + key + "}", str(value))
        return sql

    # ---- tables ---------------------------------------------------------------------------
    def table_exists(self, fqn: str) -> bool:
        return self._existing_columns(catalog.table(fqn)) is not None

    def row_count(self, fqn: str) -> int:
        catalog.table(fqn)  # allowlist
        return int(self.scalar(f"SELECT COUNT(*) FROM {fqn}") or 0)

    def init(self) -> InitReport:
        """Create every dataset, table and view that is missing. Idempotent. A table that
        exists with other columns stops the whole init before anything is created."""
        if self.read_only:
            raise ReadOnlyError("refused: cannot init through a read-only connection")
        specs = catalog.all_tables()
        existing = {s.fqn: self._existing_columns(s) for s in specs}
        drift = [self._drift(s, columns) for s in specs
                 if not s.is_view and (columns := existing[s.fqn]) is not None]
        drift = [d for d in drift if d]
        if drift:
            raise WarehouseError(
                "init stopped, nothing changed: existing tables differ from the schema files "
                "(cbi never alters a table silently; migrate or rename them):\n  " + "\n  ".join(drift)
            )
        report = InitReport()
        for ds in catalog.DATASETS:
            if self._create_dataset(ds):
                report.datasets_created.append(ds)
        ddl = []
        for spec in specs:
            if spec.is_view:  # CREATE OR REPLACE: views follow their file on every init
                ddl.append(spec.ddl)
                (report.found if existing[spec.fqn] is not None else report.created).append(spec.fqn)
            elif existing[spec.fqn] is None:
                ddl.append(spec.ddl)
                report.created.append(spec.fqn)
            else:
                report.found.append(spec.fqn)
        # One script, not one job per table: BigQuery jobs cost a round trip each.
        if ddl:
            self._run(";\n".join(d.strip().rstrip(";") for d in ddl), None)
        return report

    @staticmethod
    def _drift(spec: TableSpec, actual: dict[str, str]) -> str:
        expected = {c.name: c.type for c in spec.columns}
        if expected == actual:
            return ""
        missing = sorted(set(expected) - set(actual))
        extra = sorted(set(actual) - set(expected))
        changed = sorted(f"{c} {actual[c]}->{t}" for c, t in expected.items()
                         if c in actual and actual[c] != t)
        parts = [f"missing {missing}" if missing else "", f"unexpected {extra}" if extra else "",
                 f"types {changed}" if changed else ""]
        return f"{spec.fqn}: " + "; ".join(p for p in parts if p)

    def verify(self) -> list[Check]:
        """Every expected table present with expected columns, types and partitioning."""
        checks: list[Check] = []
        specs = catalog.all_tables()
        existing = {s.fqn: self._existing_columns(s) for s in specs}
        for spec in specs:
            if spec.is_view:
                try:
                    self._run(f"SELECT * FROM {spec.fqn} LIMIT 0", None)
                    checks.append(Check(spec.fqn, "view", True))
                except Exception as exc:  # noqa: BLE001 - reported, not raised
                    checks.append(Check(spec.fqn, "view", False, str(exc).splitlines()[0]))
                continue
            actual = existing[spec.fqn]
            if actual is None:
                checks.append(Check(spec.fqn, "present", False, "missing: run `cbi init`"))
                continue
            drift = self._drift(spec, actual)
            checks.append(Check(spec.fqn, "columns", not drift, drift.split(": ", 1)[-1]))
            if self.SUPPORTS_PARTITION_OPTIONS:
                checks.append(self._check_partitioning(spec))
        return checks

    def _check_partitioning(self, spec: TableSpec) -> Check:
        part = self.partitioning(spec.fqn)
        want = (spec.partition_column, spec.partition_granularity, list(spec.clustering))
        got = (part.get("column"), part.get("granularity"), list(part.get("clustering") or []))
        if spec.partition_column is None:
            want = (None, None, list(spec.clustering))
        ok = want == got
        return Check(spec.fqn, "partitioning", ok, "" if ok else f"expected {want}, found {got}")

    # ---- merge ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def bounded_memory(self, limit: str) -> Iterator[None]:
        """Hold the engine's own memory to `limit` (e.g. "1GB") for a bulk write; the engine
        spills rather than caches. A no-op where the engine runs elsewhere."""
        yield

    def compact(self, fqn: str) -> None:
        """Leave a table compact after a bulk write, so the next commands do not pay for it
        (DuckDB: a checkpoint); a no-op where the engine manages its own storage."""

    def merge(self, fqn: str, rows: pa.Table) -> MergeResult:
        """Upsert `rows` into `fqn` on its natural key, whole or not at all.

        Duplicate keys inside the batch: the last row wins. The ON clause carries a range
        on the partition column taken from the rows, so BigQuery prunes partitions.
        """
        if self.read_only:
            raise ReadOnlyError(f"refused: cannot write {fqn} through a read-only connection")
        spec = catalog.table(fqn)
        if not spec.key:
            raise WarehouseError(f"{fqn} has no natural key: it cannot be merged into")
        result = MergeResult(fqn, rows_in=rows.num_rows)
        if rows.num_rows == 0:
            return result
        staged = conform(spec, rows)
        # Only engines with physical partitions gain from the range; on DuckDB the extra
        # predicate made a 1M-row upsert 6x slower (bench/warehouse.py).
        params = python_params(partition_range(spec, staged)) if self.SUPPORTS_PARTITION_OPTIONS else {}
        sql = merge_sql(spec, [n for n in staged.column_names if n != ROW_ORDINAL], bool(params))
        result.inserted, result.updated = self._merge_staged(spec, staged, sql, params)
        result.rows_merged = result.inserted + result.updated
        return result

    # ---- retention -------------------------------------------------------------------------
    def apply_retention(self, retention_days: dict[str, int]) -> dict[str, int]:
        """Expire old partitions per table; refuses tables that training needs."""
        out = {}
        for fqn, days in retention_days.items():
            spec = catalog.table(fqn)
            if spec.retention == "never":  # the DDL's `-- retention: never`
                raise WarehouseError(f"retention refused for {fqn}: training needs these rows")
            if spec.partition_column is None:
                raise WarehouseError(f"retention needs a partitioned table; {fqn} is not")
            if spec.rolled_up_into:  # `-- retention: after roll-up into T`: one rule, every engine
                out[fqn] = self._expire_rolled_up(spec, int(days))
            else:
                out[fqn] = self._set_expiration(spec, int(days))
        return out

    def _expire_rolled_up(self, spec: TableSpec, days: int) -> int:
        """`-- retention: after roll-up into T`: `expire_rolled_up.sql`, the one DELETE every
        engine runs (rows older than `days` that T holds); returns the rows deleted."""
        cutoff = dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=days)
        column = cast(str, spec.partition_column)  # `apply_retention` refuses an unpartitioned table
        if {c.name: c.type for c in spec.columns}[column] != "TIMESTAMP":
            raise WarehouseError(f"retention after roll-up needs a TIMESTAMP partition column; "
                                 f"{spec.fqn}.{column} is not")
        sql = self.render("cbi.warehouse", "expire_rolled_up.sql", table=spec.fqn,
                          rollup=cast(str, spec.rolled_up_into), column=column)
        self._refuse_writes(sql)
        return self._run_dml(sql, python_params({"cutoff": cutoff}))


def conform(spec: TableSpec, rows: pa.Table) -> pa.Table:
    """Cast a batch to the table's column types, check keys, add the row ordinal."""
    types = {c.name: c.type for c in spec.columns}
    unknown = [n for n in rows.column_names if n not in types]
    if unknown:
        raise WarehouseError(f"{spec.fqn}: unknown column(s) {unknown}; expected some of {list(types)}")
    missing_keys = [k for k in spec.key if k not in rows.column_names]
    if missing_keys:
        raise WarehouseError(f"{spec.fqn}: batch lacks key column(s) {missing_keys}")
    arrays, names = [], []
    for name in rows.column_names:
        col = rows.column(name)
        target = ARROW_TYPES.get(types[name])
        if target is not None and col.type != target:
            try:
                col = _cast(col, target)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise WarehouseError(
                    f"{spec.fqn}: column {name!r} of type {col.type} cannot become {types[name]}: {exc}"
                ) from None
        if name in spec.key and col.null_count:
            first = pc.index(pc.is_null(col), True).as_py()
            raise WarehouseError(f"{spec.fqn}: key column {name!r} is NULL in {col.null_count} row(s), first at row {first}")
        arrays.append(col)
        names.append(name)
    arrays.append(pa.array(np.arange(rows.num_rows, dtype=np.int64)))
    names.append(ROW_ORDINAL)
    return pa.table(arrays, names=names)


def _cast(col: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray:
    if pa.types.is_timestamp(target) and pa.types.is_timestamp(col.type) and col.type.tz is None:
        col = col.cast(pa.timestamp(col.type.unit, tz="UTC"))  # naive timestamps are UTC here
    if pa.types.is_timestamp(target) and pa.types.is_timestamp(col.type) and col.type.unit == "ns":
        return pc.cast(col, target, safe=False)  # ns -> us truncation: Databento ts are whole minutes
    return col.cast(target)


def partition_range(spec: TableSpec, rows: pa.Table) -> dict[str, Any]:
    """`@_part_lo`/`@_part_hi`: the partition dates the batch touches (empty: unpartitioned)."""
    if not spec.partition_column:
        return {}
    col = rows.column(spec.partition_column)
    lo, hi = pc.min(col).as_py(), pc.max(col).as_py()
    if lo is None:
        return {}
    if isinstance(lo, dt.datetime):
        lo, hi = lo.astimezone(dt.timezone.utc).date(), hi.astimezone(dt.timezone.utc).date()
    return {"_part_lo": lo, "_part_hi": hi}


def merge_sql(spec: TableSpec, columns: list[str], with_range: bool) -> str:
    """The MERGE statement (BigQuery SQL) from `{staging}` into the table. Column names are
    quoted: a column may be a reserved word in BigQuery (`rows`)."""
    key = [_q(k) for k in spec.key]
    on = " AND ".join(f"T.{k} = S.{k}" for k in key)
    if with_range:
        part_col = cast(str, spec.partition_column)  # a range only for a partitioned table
        col_type = {c.name: c.type for c in spec.columns}[part_col]
        part = _q(part_col)
        part = f"DATE(T.{part})" if col_type == "TIMESTAMP" else f"T.{part}"
        on += f" AND {part} BETWEEN @_part_lo AND @_part_hi"
    non_key = [_q(c) for c in columns if c not in spec.key]
    source = (
        f"(SELECT * EXCEPT({ROW_ORDINAL}) FROM {{staging}} WHERE TRUE "
        f"QUALIFY ROW_NUMBER() OVER (PARTITION BY {', '.join(key)} ORDER BY {ROW_ORDINAL} DESC) = 1)"
    )
    sql = f"MERGE {spec.fqn} T USING {source} S ON {on}"
    if non_key:
        sql += " WHEN MATCHED THEN UPDATE SET " + ", ".join(f"{c} = S.{c}" for c in non_key)
    quoted = [_q(c) for c in columns]
    sql += (f" WHEN NOT MATCHED THEN INSERT ({', '.join(quoted)}) "
            f"VALUES ({', '.join('S.' + c for c in quoted)})")
    return sql


def _q(name: str) -> str:
    return f"`{name}`"
