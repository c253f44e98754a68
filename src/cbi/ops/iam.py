"""Dataset access entries per role (BigQuery): who may read or write which dataset.

- collector: WRITER on market_data and features (the feeds and the SQL transform), and on
  training (the transform builds the training tables from features) and ops (run log, costs,
  cursors, alerts).
- training: READER on training; WRITER on predictions, because training writes the backtest
  tables and the predict job writes forecasts; WRITER on ops for its run log.
- dashboard: READER on predictions only.

Each role also needs `roles/bigquery.jobUser` on the project to run query jobs at all; that is
project IAM, not a dataset entry, and `cbi iam plan` prints it as a reminder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ROLE_ACCESS: dict[str, tuple[tuple[str, str], ...]] = {
    "collector": (("market_data", "WRITER"), ("features", "WRITER"), ("training", "WRITER"),
                  ("ops", "WRITER")),
    "training": (("training", "READER"), ("predictions", "WRITER"), ("ops", "WRITER")),
    "dashboard": (("predictions", "READER"),),
}


@dataclass(frozen=True)
class AccessEntry:
    dataset: str
    role: str  # READER | WRITER
    member: str  # service-account e-mail
    for_role: str  # collector | training | dashboard


def member_for(role: str, project: str, members: dict[str, str]) -> str:
    """The service account of a role: from settings, else cbi-ROLE@PROJECT.iam.gserviceaccount.com."""
    return members.get(role) or f"cbi-{role}@{project}.iam.gserviceaccount.com"


def plan(project: str, members: dict[str, str] | None = None) -> list[AccessEntry]:
    members = members or {}
    return [AccessEntry(ds, access, member_for(role, project, members), role)
            for role, grants in ROLE_ACCESS.items() for ds, access in grants]


def apply(client: Any, project: str, entries: list[AccessEntry]) -> list[AccessEntry]:
    """Add the missing entries to each dataset's access list (idempotent); return those added."""
    from google.cloud import bigquery

    added: list[AccessEntry] = []
    for dataset in sorted({e.dataset for e in entries}):
        ds = client.get_dataset(f"{project}.{dataset}")
        current = list(ds.access_entries)
        have = {(a.role, a.entity_type, a.entity_id) for a in current}
        new = [e for e in entries if e.dataset == dataset
               and (e.role, "userByEmail", e.member) not in have]
        if not new:
            continue
        ds.access_entries = current + [bigquery.AccessEntry(e.role, "userByEmail", e.member)
                                       for e in new]
        client.update_dataset(ds, ["access_entries"])
        added.extend(new)
    return added
