"""Production: Google BigQuery through `google-cloud-bigquery`, Arrow in and out.

Every query carries `maximum_bytes_billed`; every job's bytes are kept in `job_costs` for
`ops.query_costs`. Large results come through the Storage Read API. The URL's options are
`BigQueryConfig` (`config.py`): `endpoint=` points the client at an emulator (anonymous
credentials, no Google servers), `dataset_prefix=` keeps a second copy of the warehouse
beside the production one (`prefix.py` qualifies every statement's table names).
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import os
import re
import uuid
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from cbi.warehouse.base import Warehouse, WarehouseError, python_params
from cbi.warehouse.bigquery.config import BigQueryConfig
from cbi.warehouse.bigquery.prefix import with_prefix
from cbi.warehouse.catalog import DATASETS, TableSpec, bigquery_type
from cbi.warehouse.engine_config import EngineConfigError

CREDENTIALS_HELP = (
    "no BigQuery credentials found. Provide one of: Application Default Credentials "
    "(`gcloud auth application-default login`), GOOGLE_APPLICATION_CREDENTIALS (path to a "
    "service-account JSON file), or GOOGLE_APPLICATION_CREDENTIALS_BASE64 (that file, base64); "
    "per role: GOOGLE_APPLICATION_CREDENTIALS_{COLLECTOR,TRAINING,DASHBOARD,OPERATOR}[_BASE64]"
)


class CostGuardError(WarehouseError):
    pass


#: Results of more rows than this come through the Storage Read API, smaller ones by REST.
STORAGE_READ_MIN_ROWS = 2_000
#: gRPC channel options of the Storage Read client: results of any size.
GRPC_UNLIMITED = (("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1))


def statement_label(sql: str) -> str:
    """A short name for a statement in an error line: its kind and the first table it names."""
    text = " ".join(sql.split())
    kind = (text.split(" ", 1)[0] or "statement").upper()
    match = re.search(r"\b(?:FROM|INTO|MERGE|TABLE|UPDATE|JOIN)\s+`?([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)+)", text, re.I)
    target = f" on {match.group(1)}" if match else ""
    head = text if len(text) <= 80 else text[:77] + "..."
    return f"{kind}{target} ({head})"


def error_line(exc: BaseException) -> str:
    """One line of a BigQuery client error: the server's message, without the request URL."""
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    errors = getattr(exc, "errors", None) or []
    if errors and isinstance(errors[0], dict) and errors[0].get("message"):
        message = errors[0]["message"]
    line = " ".join(str(message).split())
    return line if len(line) <= 400 else line[:397] + "..."


def _client_errors() -> tuple[type[BaseException], ...]:
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as aexc

    return (gexc.GoogleAPIError, aexc.GoogleAuthError, TypeError, ValueError)


@dataclass
class JobCost:
    job_id: str
    statement_type: str | None
    bytes_processed: int
    bytes_billed: int
    dry_run: bool
    created_at: dt.datetime


def _key_problem(exc: Exception) -> str:
    """One line about a bad key, never its content (a key file holds a private key)."""
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if "PRIVATE KEY" not in text and len(text) < 200 else type(exc).__name__


def check_reachable(endpoint: str, timeout_s: float) -> None:
    """Fail in `timeout_s` with the endpoint's name, not after minutes of client retries,
    when nothing answers there (a wrong `endpoint=`, no network, a firewall)."""
    import socket
    from urllib.parse import urlparse

    parts = urlparse(endpoint if "://" in endpoint else f"https://{endpoint}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname or "", port), timeout=timeout_s).close()
    except OSError as exc:
        why = "no answer" if isinstance(exc, TimeoutError) else (exc.strerror or type(exc).__name__)
        raise WarehouseError(
            f"cannot reach BigQuery at {endpoint} ({parts.hostname}:{port}) within "
            f"{timeout_s:g}s: {why}; check the warehouse URL's endpoint and the network "
            "(setting bigquery_connect_timeout_s)") from None


def credentials_for(role: str):
    """Credentials for a role: role-specific env, then the base64 variable, then ADC."""
    from google.auth import default
    from google.auth.exceptions import DefaultCredentialsError
    from google.oauth2 import service_account

    scopes = ["https://www.googleapis.com/auth/cloud-platform"]
    for suffix in (f"_{role.upper()}", ""):
        b64 = os.environ.get(f"GOOGLE_APPLICATION_CREDENTIALS{suffix}_BASE64")
        if b64:
            try:
                info = json.loads(base64.b64decode(b64))
            except ValueError:
                raise WarehouseError(
                    f"GOOGLE_APPLICATION_CREDENTIALS{suffix}_BASE64 is not base64 of a JSON key file"
                ) from None
            try:
                return service_account.Credentials.from_service_account_info(info, scopes=scopes)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise WarehouseError(
                    f"GOOGLE_APPLICATION_CREDENTIALS{suffix}_BASE64 is not a service-account key: "
                    f"{_key_problem(exc)}") from None
        path = os.environ.get(f"GOOGLE_APPLICATION_CREDENTIALS{suffix}") if suffix else None
        if path:
            try:
                return service_account.Credentials.from_service_account_file(path, scopes=scopes)
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                raise WarehouseError(
                    f"GOOGLE_APPLICATION_CREDENTIALS{suffix}={path} is not a readable "
                    f"service-account key file: {_key_problem(exc)}") from None
    try:
        creds, _ = default(scopes=scopes)
        return creds
    except DefaultCredentialsError:
        raise WarehouseError(CREDENTIALS_HELP) from None


class BigQueryWarehouse(Warehouse):
    engine = "bigquery"
    dataset_prefix = ""  # none unless the URL names one (see __init__)
    SUPPORTS_PARTITION_OPTIONS = True
    SUPPORTS_DRY_RUN = True
    SUPPORTS_STORAGE_READ_API = True
    SUPPORTS_JOB_COSTS = True  # every job's bytes land in `job_costs` (see _record)

    def __init__(self, project: str, location: str = "us-central1", *, endpoint: str | None = None,
                 grpc_endpoint: str | None = None, read_only: bool = False, role: str = "collector",
                 maximum_bytes_billed: int = 10 * 1024**3, cost_guard_bytes: int | None = None,
                 credentials: Any = None, url: str | None = None,
                 connect_timeout_s: float | None = 10.0, dataset_prefix: str = "") -> None:
        from google.cloud import bigquery

        self._bq = bigquery
        self.project, self.location, self.role = project, location, role
        self.dataset_prefix = dataset_prefix or ""
        self.read_only = read_only
        self.url = url or f"bigquery://{project}?location={location}"
        self.maximum_bytes_billed = maximum_bytes_billed
        self.cost_guard_bytes = cost_guard_bytes
        self.job_costs: list[JobCost] = []
        options = None
        if endpoint:
            from google.auth.credentials import AnonymousCredentials

            credentials = credentials or AnonymousCredentials()
            options = {"api_endpoint": endpoint}
        elif credentials is None:
            credentials = credentials_for(role)
        if connect_timeout_s:
            check_reachable(endpoint or "https://bigquery.googleapis.com", connect_timeout_s)
        self.client = bigquery.Client(project=project, location=location,
                                      credentials=credentials, client_options=options)
        self._emulated = bool(endpoint)
        self._storage = self._storage_client(grpc_endpoint, credentials) if (grpc_endpoint or not endpoint) else None

    @staticmethod
    def _storage_client(grpc_endpoint: str | None, credentials: Any):
        from google.cloud import bigquery_storage

        if not grpc_endpoint:
            return bigquery_storage.BigQueryReadClient(credentials=credentials)
        import grpc
        from google.cloud.bigquery_storage_v1.services.big_query_read.transports import (
            BigQueryReadGrpcTransport,
        )

        # No message size limit, as Google's own channel has: a read stream's response
        # carries a whole Arrow record batch, which is over gRPC's default 4 MiB for wide or
        # long results (ResourceExhausted otherwise).
        channel = grpc.insecure_channel(grpc_endpoint, options=GRPC_UNLIMITED)
        transport = BigQueryReadGrpcTransport(channel=channel)
        return bigquery_storage.BigQueryReadClient(transport=transport)

    def close(self) -> None:
        self.client.close()

    @property
    def datasets(self) -> tuple[str, ...]:
        """The datasets this connection reads and writes, as named in the project."""
        return tuple(self.dataset_prefix + d for d in DATASETS)

    def _sql(self, sql: str) -> str:
        return with_prefix(sql, self.dataset_prefix)

    def _ref(self, fqn: str) -> str:
        """`dataset.table` (or a dataset) as the client API names it: project, prefix."""
        return f"{self.project}.{self.dataset_prefix}{fqn}"

    # ---- primitives ----------------------------------------------------------------------
    def _job_config(self, params: dict[str, Any] | None, dry_run: bool = False):
        return self._bq.QueryJobConfig(
            query_parameters=[_param(self._bq, k, v) for k, v in (params or {}).items()],
            maximum_bytes_billed=self.maximum_bytes_billed,
            dry_run=dry_run,
            use_query_cache=not dry_run,
            labels={"cbi_role": self.role},
        )

    def dry_run_bytes(self, sql: str, params: dict[str, Any] | None = None) -> int:
        try:
            job = self.client.query(self._sql(sql),
                                    job_config=self._job_config(python_params(params), dry_run=True))
        except _client_errors() as exc:
            raise WarehouseError(f"BigQuery dry run of {statement_label(sql)} failed: {error_line(exc)}") from None
        self._record(job, dry_run=True)
        return int(job.total_bytes_processed or 0)

    def _run(self, sql: str, params: dict[str, Any] | None) -> pa.Table | None:
        guard_cost(self, sql, params)
        try:
            job = self.client.query(self._sql(sql), job_config=self._job_config(params))
            rows = job.result()
        except _client_errors() as exc:
            raise WarehouseError(f"BigQuery: {statement_label(sql)} failed: {error_line(exc)}") from None
        self._record(job)
        if job.statement_type not in (None, "SELECT", "SCRIPT"):
            return None
        try:
            # A small result comes with the query's own REST answer; a Storage Read session
            # would cost two more round trips (most of the pipeline's reads are a few rows).
            big = (rows.total_rows or 0) > STORAGE_READ_MIN_ROWS
            return job.to_arrow(bqstorage_client=self._storage if big else None,
                                create_bqstorage_client=False)
        except _client_errors() as exc:
            raise WarehouseError(f"BigQuery: reading the result of {statement_label(sql)} failed: "
                                 f"{error_line(exc)}") from None

    def _record(self, job, dry_run: bool = False) -> None:
        self.job_costs.append(JobCost(
            job.job_id or "", job.statement_type, int(job.total_bytes_processed or 0),
            int(getattr(job, "total_bytes_billed", 0) or 0), dry_run, dt.datetime.now(dt.timezone.utc)))

    def _existing_columns(self, spec: TableSpec) -> dict[str, str] | None:
        from google.api_core.exceptions import NotFound

        try:
            table = self.client.get_table(self._ref(spec.fqn))
        except NotFound:
            return None
        return {f.name: bigquery_type(f.field_type) for f in table.schema}

    def _create_dataset(self, dataset: str) -> bool:
        from google.api_core.exceptions import Conflict, NotFound

        ref = self._ref(dataset)
        try:
            self.client.get_dataset(ref)
            return False
        except NotFound:
            pass
        ds = self._bq.Dataset(ref)
        ds.location = self.location
        ds.description = f"CBI {dataset}"
        try:
            self.client.create_dataset(ds)
        except Conflict:
            return False
        return True

    def _merge_staged(self, spec: TableSpec, rows: pa.Table, sql: str,
                      params: dict[str, Any]) -> tuple[int, int]:
        staging = f"ops._staging_{spec.name}_{uuid.uuid4().hex[:12]}"
        buf = io.BytesIO()
        pq.write_table(rows, buf)
        buf.seek(0)
        config = self._bq.LoadJobConfig(source_format="PARQUET", write_disposition="WRITE_TRUNCATE")
        step = f"loading the batch into {staging}"
        try:
            self.client.load_table_from_file(buf, self._ref(staging), job_config=config).result()
            # One MERGE statement is atomic in BigQuery: the batch applies whole or not at all.
            step = "MERGE"
            job = self.client.query(self._sql(sql.replace("{staging}", staging)),
                                    job_config=self._job_config(params))
            job.result()
            self._record(job)
        except WarehouseError as exc:
            raise WarehouseError(f"merge into {spec.fqn} failed, nothing written: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - rewrapped with the table's name
            raise WarehouseError(f"merge into {spec.fqn} failed ({step}), nothing written: "
                                 f"{error_line(exc)}") from None
        finally:
            try:
                self.client.delete_table(self._ref(staging), not_found_ok=True)
            except _client_errors():  # noqa: S110 - the error above (or none) is what matters
                pass
        stats = job.dml_stats
        if stats is not None:
            return int(stats.inserted_row_count), int(stats.updated_row_count)
        return int(job.num_dml_affected_rows or 0), 0

    def partitioning(self, fqn: str) -> dict[str, Any]:
        table = self.client.get_table(self._ref(fqn))
        tp = table.time_partitioning
        return {
            "column": tp.field if tp else None,
            "granularity": tp.type_ if tp else None,
            "expiration_days": (tp.expiration_ms / 86_400_000) if tp and tp.expiration_ms else None,
            "clustering": list(table.clustering_fields or []),
            "description": table.description,
            "physical": True,
        }

    def _expire_rolled_up(self, spec: TableSpec, days: int) -> int:
        # A partition expiration would drop minutes that were never rolled up (a roll-up
        # behind, a gap), and no expiration length can wait for the roll-up. So none on this
        # table (one set before is lifted) and the shared rule deletes only what the roll-up
        # holds (the daily retention job).
        if self.partitioning(spec.fqn).get("expiration_days") is not None:
            self._run(f"ALTER TABLE {spec.fqn} SET OPTIONS (partition_expiration_days = NULL)", None)
        return super()._expire_rolled_up(spec, days)

    def _set_expiration(self, spec: TableSpec, days: int) -> int:
        self._run(f"ALTER TABLE {spec.fqn} SET OPTIONS (partition_expiration_days = {int(days)})", None)
        return 0

    def _run_dml(self, sql: str, params: dict[str, Any] | None) -> int:
        guard_cost(self, sql, params)
        try:
            job = self.client.query(self._sql(sql), job_config=self._job_config(params))
            job.result()
        except _client_errors() as exc:
            raise WarehouseError(f"BigQuery: {statement_label(sql)} failed: {error_line(exc)}") from None
        self._record(job)
        return int(job.num_dml_affected_rows or 0)


def guard_cost(wh: BigQueryWarehouse, sql: str, params: dict[str, Any] | None) -> None:
    """Dry-run first when a guard is set; refuse a job above it with a clear message."""
    if not wh.cost_guard_bytes:
        return
    estimate = wh.dry_run_bytes(sql, params)
    if estimate > wh.cost_guard_bytes:
        raise CostGuardError(
            f"refused by the cost guard: this query would process {estimate:,} bytes, above the "
            f"configured cost_guard_bytes={wh.cost_guard_bytes:,}. Narrow it (a date range on the "
            "partition column) or raise CBI_COST_GUARD_BYTES."
        )


def _param(bq, name: str, value: Any):
    if isinstance(value, (list, tuple)):
        kind = _kind(value[0]) if value else "STRING"
        return bq.ArrayQueryParameter(name, kind, list(value))
    return bq.ScalarQueryParameter(name, _kind(value), value)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        return "FLOAT64"
    if isinstance(value, dt.datetime):
        return "TIMESTAMP"
    if isinstance(value, dt.date):
        return "DATE"
    return "STRING"


def from_url(url: str, *, read_only: bool = False, role: str = "collector", settings=None) -> BigQueryWarehouse:
    """`bigquery://PROJECT?location=us-central1[&endpoint=http://…][&grpc=host:port]
    [&dataset_prefix=demo_]` (`BigQueryConfig`)."""
    try:
        config = BigQueryConfig.from_url(url)
    except EngineConfigError as exc:
        raise WarehouseError(str(exc)) from None
    kwargs: dict[str, Any] = {}
    if settings is not None:
        kwargs = {"maximum_bytes_billed": settings.maximum_bytes_billed,
                  "cost_guard_bytes": settings.cost_guard_bytes,
                  "connect_timeout_s": settings.bigquery_connect_timeout_s}
    return BigQueryWarehouse(config.project, config.location, endpoint=config.endpoint,
                             grpc_endpoint=config.grpc, read_only=read_only, role=role, url=url,
                             dataset_prefix=config.dataset_prefix, **kwargs)
