"""Start local-bigquery with one lookup made cheap. Run by the emulator's own Python 3.13.

The emulator finds a table with `duckdb_tables()`, which lists every table of every attached
project and, for DuckLake, reads each one's statistics: ~1.5 ms a table, several lookups a
statement, so a session's statements slowed from 0.1 s to seconds as projects piled up. Here
a project's tables come from its DuckLake catalogue (the tables `duckdb_tables()` itself
reads: live rows have no end snapshot; `record_count` is its `estimated_size`), and a query
result table is looked up by name. Same answers, in a few milliseconds;
`EMULATOR_CHECK_LOOKUP=1` computes both and stops on the first difference
(tests/test_emulator_server.py runs a session that way). Every job also listed the
session's temporary tables with `duckdb_tables()`: the same names come from the columns of
the `temp` catalogue less its views (`CHEAP_TEMPORARY`), ~6 ms instead of ~40.
"""

from __future__ import annotations

import inspect
import os
import sys

import duckdb
from local_bigquery.engine import database

_original_objects = database.objects

CATALOGUE = """
SELECT t.table_name, 'TABLE', coalesce(st.record_count, 0)
FROM {meta}.ducklake_table t
JOIN {meta}.ducklake_schema s ON s.schema_id = t.schema_id AND s.end_snapshot IS NULL
LEFT JOIN {meta}.ducklake_table_stats st ON st.table_id = t.table_id
WHERE t.end_snapshot IS NULL AND s.schema_name = $1 AND t.table_name = coalesce($2, t.table_name)
UNION ALL
SELECT v.view_name, 'VIEW', 0
FROM {meta}.ducklake_view v
JOIN {meta}.ducklake_schema s ON s.schema_id = v.schema_id AND s.end_snapshot IS NULL
WHERE v.end_snapshot IS NULL AND s.schema_name = $1 AND v.view_name = coalesce($2, v.view_name)
ORDER BY 1
"""


def objects(project_id: str, dataset_id: str, table_id: str | None = None) -> list[tuple]:
    if project_id in database._attached:  # a project: a DuckLake database
        meta = database.quote(f"__ducklake_metadata_{project_id}")
        return database.fetch(CATALOGUE.format(meta=meta), [dataset_id, table_id])
    if project_id != "emulator":  # a project never attached holds nothing
        return []
    if table_id is not None:  # a query result (the emulator's own DuckDB file): one table
        try:
            (n,), = database.fetch(f"SELECT count(*) FROM {database.quote(project_id, dataset_id, table_id)}")
        except duckdb.CatalogException:
            return []
        return [(table_id, "TABLE", n)]
    return _original_objects(project_id, dataset_id, table_id)


def checked(project_id: str, dataset_id: str, table_id: str | None = None) -> list[tuple]:
    fast = objects(project_id, dataset_id, table_id)
    slow = _original_objects(project_id, dataset_id, table_id)
    if [tuple(r) for r in fast] != [tuple(r) for r in slow]:
        sys.stderr.write(f"LOOKUP MISMATCH {project_id}.{dataset_id}.{table_id}: {fast} != {slow}\n")
        sys.stderr.flush()
        os._exit(70)
    return slow


TEMPORARY = '"SELECT table_name FROM duckdb_tables() WHERE temporary"'
CHEAP_TEMPORARY = ('"SELECT DISTINCT table_name FROM duckdb_columns() WHERE database_name = \'temp\' '
                   'EXCEPT SELECT view_name FROM duckdb_views() WHERE database_name = \'temp\'"')


#: Check mode: the emulator's own listing, and an error when the cheap one differs from it.
CHECKED_TEMPORARY = (
    '"SELECT table_name FROM duckdb_tables() WHERE temporary UNION ALL '
    'SELECT error(\'TEMPORARY MISMATCH\') WHERE (SELECT coalesce(list(DISTINCT table_name ORDER BY table_name), []) '
    'FROM duckdb_tables() WHERE temporary) IS DISTINCT FROM (SELECT coalesce(list(table_name ORDER BY table_name), []) '
    'FROM (" + ' + CHEAP_TEMPORARY + ' + "))"')


def cheap_temporary_tables(listing: str) -> None:
    """Redefine `local_bigquery.jobs.query.execute` with another listing of temporary tables
    (its callers reach it through the module, so they get the new one)."""
    from local_bigquery.jobs import query

    source = inspect.getsource(query.execute)
    if TEMPORARY not in source:
        raise RuntimeError("local-bigquery's query.execute changed: review tests/emulator_server.py")
    exec(compile(source.replace(TEMPORARY, listing), query.__file__, "exec"), query.__dict__)


def main() -> None:
    check = bool(os.environ.get("EMULATOR_CHECK_LOOKUP"))
    database.objects = checked if check else objects
    cheap_temporary_tables(CHECKED_TEMPORARY if check else CHEAP_TEMPORARY)
    from local_bigquery.cli import main as serve

    serve(sys.argv[1:])


if __name__ == "__main__":
    main()
