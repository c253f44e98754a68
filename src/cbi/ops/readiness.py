"""`cbi verify --bigquery`: is a real BigQuery project ready for CBI? (18.7)

It checks what the emulator cannot: the APIs enabled (BigQuery, BigQuery Storage), each role's
credentials and its dataset access against `cbi iam plan`, `maximum_bytes_billed` carried and
honoured by a dry run, and partition expiration as the `retention_days` setting says (none
on a table that expires after its roll-up). Each check reports what it found and, when it
fails, the fix. Nothing is written; dry runs and read sessions cost nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, cast

from cbi.ops import iam

if TYPE_CHECKING:
    from cbi.config import Settings
    from cbi.warehouse.base import Warehouse
    from cbi.warehouse.bigquery import BigQueryWarehouse

#: The table every probe reads (small, present once `cbi init` ran).
PROBE_TABLE = "ops.pipeline_runs"


@dataclass
class Readiness:
    check: str
    subject: str
    ok: bool
    detail: str = ""
    fix: str = ""


def _line(exc: BaseException) -> str:
    from cbi.warehouse.bigquery import error_line

    return error_line(exc)


def _disabled(exc: BaseException) -> bool:
    text = _line(exc).lower()
    return "service_disabled" in text or "has not been used in project" in text or \
        "is disabled" in text or "api has not been used" in text


def check_apis(wh: BigQueryWarehouse) -> list[Readiness]:
    """BigQuery API: a dataset listing answers; BigQuery Storage API: a read session opens."""
    out = []
    enable = "gcloud services enable {api} --project " + wh.project
    try:
        list(wh.client.list_datasets(max_results=1))
        out.append(Readiness("api", "bigquery.googleapis.com", True, "answers"))
    except Exception as exc:  # noqa: BLE001 - reported with its fix
        out.append(Readiness("api", "bigquery.googleapis.com", False, _line(exc),
                             enable.format(api="bigquery.googleapis.com") if _disabled(exc)
                             else "check the project id and the network"))
    try:
        _open_read_session(wh)
        out.append(Readiness("api", "bigquerystorage.googleapis.com", True, "a read session opens"))
    except Exception as exc:  # noqa: BLE001
        fix = (enable.format(api="bigquerystorage.googleapis.com") if _disabled(exc) else
               f"grant roles/bigquery.readSessionUser on {wh.project} (`cbi iam plan`)")
        out.append(Readiness("api", "bigquerystorage.googleapis.com", False, _line(exc), fix))
    return out


def _open_read_session(wh: BigQueryWarehouse) -> None:
    from google.cloud.bigquery_storage import DataFormat, ReadSession

    if wh._storage is None:
        raise RuntimeError("no Storage Read client (an emulator URL without grpc=)")
    dataset, table = PROBE_TABLE.split(".")
    session = ReadSession(table=f"projects/{wh.project}/datasets/{dataset}/tables/{table}",
                          data_format=DataFormat.ARROW)
    wh._storage.create_read_session(parent=f"projects/{wh.project}", read_session=session,
                                    max_stream_count=1)


def check_roles(wh: BigQueryWarehouse, settings: Settings, credentials_for: Callable[[str], Any],
                client_for: Callable[[str, Any], Any]) -> list[Readiness]:
    """Each role: its credentials load, they are the account `cbi iam plan` grants, and
    each dataset of the plan lists that grant and opens with them."""
    out = []
    members = getattr(settings, "iam_members", {}) or {}
    entries = iam.plan(wh.project, members)
    granted: dict[str, set[tuple[str, str]]] = {}
    for dataset in sorted({e.dataset for e in entries}):
        try:
            ds = wh.client.get_dataset(f"{wh.project}.{dataset}")
            granted[dataset] = {(a.role, a.entity_id) for a in ds.access_entries}
        except Exception as exc:  # noqa: BLE001
            out.append(Readiness("dataset", dataset, False, _line(exc), "run `cbi init`"))
    for role in iam.ROLE_ACCESS:
        member = iam.member_for(role, wh.project, members)
        try:
            creds = credentials_for(role)
        except Exception as exc:  # noqa: BLE001
            out.append(Readiness("credentials", role, False, _line(exc),
                                 f"set GOOGLE_APPLICATION_CREDENTIALS_{role.upper()} to {member}'s key "
                                 f"(or _BASE64); see `cbi iam plan`"))
            continue
        email = getattr(creds, "service_account_email", None)
        if email and email != member:
            out.append(Readiness("credentials", role, False, f"the key is {email}, the plan grants {member}",
                                 f"use {member}'s key, or set iam_members.{role} = \"{email}\" and "
                                 "run `cbi iam apply`"))
        else:
            out.append(Readiness("credentials", role, True, email or "loaded"))
        client = None
        for entry in (e for e in entries if e.for_role == role):
            subject = f"{role} {entry.role} {entry.dataset}"
            if entry.dataset in granted and (entry.role, entry.member) not in granted[entry.dataset]:
                out.append(Readiness("access", subject, False, f"{entry.member} not in the dataset's access list",
                                     "cbi iam apply"))
                continue
            try:
                client = client or client_for(role, creds)
                client.get_dataset(f"{wh.project}.{entry.dataset}")
                out.append(Readiness("access", subject, True, "granted and opens"))
            except Exception as exc:  # noqa: BLE001
                out.append(Readiness("access", subject, False, _line(exc), "cbi iam apply"))
    return out


def check_bytes_billed(wh: BigQueryWarehouse, settings: Settings) -> Readiness:
    """A dry run carries `maximum_bytes_billed` (BigQuery echoes the job's configuration)."""
    want = int(settings.maximum_bytes_billed)
    try:
        job = wh.client.query(f"SELECT * FROM {PROBE_TABLE}", job_config=wh._job_config(None, dry_run=True))
    except Exception as exc:  # noqa: BLE001
        return Readiness("maximum_bytes_billed", PROBE_TABLE, False, _line(exc), "run `cbi init`")
    got = getattr(job, "maximum_bytes_billed", None)
    estimate = int(getattr(job, "total_bytes_processed", 0) or 0)
    if got is None or int(got) != want:
        return Readiness("maximum_bytes_billed", PROBE_TABLE, False,
                         f"the dry run carried {got}, the settings say {want}",
                         "set maximum_bytes_billed in cbi.toml (or CBI_MAXIMUM_BYTES_BILLED)")
    return Readiness("maximum_bytes_billed", PROBE_TABLE, True,
                     f"{want:,} bytes carried; the probe would process {estimate:,}")


def check_expiration(wh: BigQueryWarehouse, settings: Settings) -> list[Readiness]:
    """Each `retention_days` table expires its partitions after those days, except a table
    `-- retention: after roll-up into T`: it has no partition expiration (which would drop
    minutes never rolled up); the retention job deletes what the roll-up holds."""
    from cbi.warehouse import catalog

    out = []
    for fqn, days in sorted((getattr(settings, "retention_days", {}) or {}).items()):
        try:
            got = wh.partitioning(fqn).get("expiration_days")
        except Exception as exc:  # noqa: BLE001
            out.append(Readiness("partition_expiration", fqn, False, _line(exc), "run `cbi init`"))
            continue
        if catalog.table(fqn).rolled_up_into:
            ok = got is None
            out.append(Readiness("partition_expiration", fqn, ok,
                                 f"{got if got is not None else 'none'} day(s); settings say {days} "
                                 "after the roll-up (rows deleted by the retention job)",
                                 "" if ok else "cbi job retention (lifts partition_expiration_days)"))
            continue
        ok = got is not None and abs(float(got) - days) < 1e-9
        out.append(Readiness("partition_expiration", fqn, ok,
                             f"{got if got is not None else 'none'} day(s); settings say {days}",
                             "" if ok else "cbi job retention (sets partition_expiration_days)"))
    return out


def readiness(wh: Warehouse, settings: Settings, *,
              credentials_for: Callable[[str], Any] | None = None,
              client_for: Callable[[str, Any], Any] | None = None) -> list[Readiness]:
    """Every check, in the order a set-up meets them."""
    if wh.engine != "bigquery":
        from cbi.errors import UsageError

        raise UsageError("`cbi verify --bigquery` needs a BigQuery warehouse "
                         "(warehouse = \"bigquery://PROJECT\"); nothing checked")
    bq = cast("BigQueryWarehouse", wh)  # its engine says so
    if credentials_for is None:
        from cbi.warehouse.bigquery import credentials_for as default_credentials

        credentials_for = default_credentials
    if client_for is None:
        def client_for(role: str, creds: Any) -> Any:
            from google.cloud import bigquery

            return bigquery.Client(project=bq.project, location=bq.location, credentials=creds)
    return [*check_apis(bq), *check_roles(bq, settings, credentials_for, client_for),
            check_bytes_billed(bq, settings), *check_expiration(bq, settings)]
