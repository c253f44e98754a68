"""Start local-bigquery with one lookup made cheap. Run by the emulator's own Python 3.13.

The emulator finds a table with `duckdb_tables()`, which lists every table of every attached
project and, for DuckLake, reads each one's statistics: ~1.5 ms a table, several lookups a
statement, so a session's statements slowed from 0.1 s to seconds as projects piled up. Here
a project's tables come from its DuckLake catalogue (the tables `duckdb_tables()` itself
reads: live rows have no end snapshot; `record_count` is its `estimated_size`), and a query
result table is looked up by name. Same answers, in a few milliseconds;
`EMULATOR_CHECK_LOOKUP=1` computes both and stops on the first difference
(tests/test_emulator.py runs a session that way).
"""

from __future__ import annotations

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


def main() -> None:
    database.objects = checked if os.environ.get("EMULATOR_CHECK_LOOKUP") else objects
    from local_bigquery.cli import main as serve

    serve(sys.argv[1:])


if __name__ == "__main__":
    main()
