"""Which tables this test process wrote (DML or MERGE) in each BigQuery project, so the suite
can share one initialised emulator project and empty only what a test touched.

Kept on the test side: the engine's two write paths are wrapped here when this module is
first imported (by the `bigquery_warehouse` fixture); production code knows nothing of it.
"""

from __future__ import annotations

import re
from typing import Any

from cbi.warehouse.bigquery import BigQueryWarehouse

#: project (with "/prefix" for a prefixed copy) -> tables written by this process.
TABLES_WRITTEN: dict[str, set[str]] = {}
_DML = re.compile(r"\b(?:INSERT\s+INTO|MERGE(?:\s+INTO)?|UPDATE|DELETE\s+FROM)\s+`?"
                  r"([A-Za-z_][\w]*\.[A-Za-z_][\w]*)", re.I)


def key_of(wh: Any) -> str:
    """The project, or the project and dataset prefix (another copy in the same project)."""
    prefix = getattr(wh, "dataset_prefix", "")
    return wh.project if not prefix else f"{wh.project}/{prefix}"


def _note(wh: Any, tables: list[str]) -> None:
    TABLES_WRITTEN.setdefault(key_of(wh), set()).update(tables)


def _install() -> None:
    run, merge_staged = BigQueryWarehouse._run, BigQueryWarehouse._merge_staged
    if getattr(run, "_notes_writes", False):
        return

    def _run(self: BigQueryWarehouse, sql: str, params: Any) -> Any:
        result = run(self, sql, params)
        _note(self, _DML.findall(sql))
        return result

    def _merge(self: BigQueryWarehouse, spec: Any, rows: Any, sql: str, params: Any) -> Any:
        result = merge_staged(self, spec, rows, sql, params)
        _note(self, [spec.fqn])
        return result

    _run._notes_writes = True  # type: ignore[attr-defined]
    BigQueryWarehouse._run, BigQueryWarehouse._merge_staged = _run, _merge  # type: ignore[method-assign]


_install()
