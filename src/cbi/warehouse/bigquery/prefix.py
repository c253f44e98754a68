"""`dataset_prefix=` (e.g. `demo_`): a second copy of the warehouse beside the production one
in the same project. Every dataset is named with the prefix (`demo_market_data`...) and every
statement's table names are qualified with it here, in one place, so the SQL files keep naming
`market_data.x`.
"""

from __future__ import annotations

import re

from cbi.warehouse.catalog import DATASETS

#: A table name in a statement: `dataset.table` not preceded by a name part (a project or a
#: column path); string literals and comments are split off first (see `with_prefix`): an
#: apostrophe in a comment must not open a "literal".
_TABLE_NAME = re.compile(r"(?<![\w.])(" + "|".join(DATASETS) + r")\.([A-Za-z_]\w*)")
_STRINGS = re.compile(r"""(--[^\n]*|#[^\n]*|/\*.*?\*/|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""", re.S)


def with_prefix(sql: str, prefix: str) -> str:
    """`sql` with every catalogue table (and staging table) in the prefixed datasets:
    `market_data.x` -> `demo_market_data.x`. Names only: string literals, aliases and column
    paths (`T.col`) are left alone; a name that is not a catalogue table is not a table."""
    if not prefix:
        return sql
    known = _known_tables()

    def qualify(match: re.Match) -> str:
        dataset, name = match.group(1), match.group(2)
        if f"{dataset}.{name}" in known or name.startswith("_staging_"):
            return f"{prefix}{dataset}.{name}"
        return match.group(0)

    parts = _STRINGS.split(sql)  # odd indices: literals and comments, kept as they are
    return "".join(p if i % 2 else _TABLE_NAME.sub(qualify, p) for i, p in enumerate(parts))


def _known_tables() -> frozenset[str]:
    from cbi.warehouse.catalog import all_tables

    return frozenset(spec.fqn for spec in all_tables())
