"""Dataset access entries per role (BigQuery): who may read or write which dataset.

Each command runs as the role whose grants cover what it reads and writes
(`cbi.ops.runs.JOB_ROLES`, and `cbi query` as `operator`); `tests/ops/test_iam.py` derives
the tables each role's code touches and checks them against this plan.

- collector (feeds, features, export, retention): WRITER on market_data, features, training
  (the transform builds the training tables) and ops (run log, costs, cursors, alerts).
- training (`cbi train`, `cbi predict`): READER on training and features (the latest rows to
  forecast from); WRITER on predictions (backtests, forecasts, the model report) and ops.
- dashboard: READER on predictions, market_data (prices, live bars) and ops (feed status,
  last runs): what its pages show.
- operator (`cbi query`, recovery): READER on every dataset.

Project IAM (not dataset entries; `cbi iam plan` prints them): every role needs
`roles/bigquery.jobUser` to run queries, and the reading roles `roles/bigquery.readSessionUser`
for the Storage Read API (Arrow downloads); the project needs the BigQuery and BigQuery
Storage APIs enabled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ROLE_ACCESS: dict[str, tuple[tuple[str, str], ...]] = {
    "collector": (("market_data", "WRITER"), ("features", "WRITER"), ("training", "WRITER"),
                  ("ops", "WRITER")),
    "training": (("training", "READER"), ("features", "READER"), ("predictions", "WRITER"),
                 ("ops", "WRITER")),
    "dashboard": (("predictions", "READER"), ("market_data", "READER"), ("ops", "READER")),
    "operator": (("market_data", "READER"), ("features", "READER"), ("training", "READER"),
                 ("predictions", "READER"), ("ops", "READER")),
}
#: Project-level roles per role (project IAM, printed by `cbi iam plan`, not applied).
PROJECT_ROLES: dict[str, tuple[str, ...]] = {
    role: ("roles/bigquery.jobUser", "roles/bigquery.readSessionUser") for role in ROLE_ACCESS
}
#: APIs the project must have enabled.
APIS = ("bigquery.googleapis.com", "bigquerystorage.googleapis.com")


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
