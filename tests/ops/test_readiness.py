"""`cbi verify --bigquery` (18.7) against a fake BigQuery client: what the emulator cannot
check (APIs enabled, each role's credentials and dataset access against `cbi iam plan`,
`maximum_bytes_billed` in a dry run, partition expiration), each failure with its fix."""

from __future__ import annotations

from types import SimpleNamespace

from google.api_core import exceptions as gexc

from cbi.config import Settings
from cbi.ops import iam
from cbi.ops.readiness import readiness

PROJECT = "cbi-prod"
DISABLED = gexc.Forbidden("BigQuery Storage API has not been used in project 42 before or it is "
                          "disabled. reason: SERVICE_DISABLED")


class FakeClient:
    def __init__(self, access: dict[str, set[tuple[str, str]]], denied: set[str] = frozenset(),
                 bytes_billed_echo: int | None = None) -> None:
        self.access, self.denied, self.echo = access, denied, bytes_billed_echo

    def list_datasets(self, max_results=None):
        return iter([SimpleNamespace(dataset_id="ops")])

    def get_dataset(self, ref):
        dataset = ref.split(".")[-1]
        if dataset in self.denied:
            raise gexc.Forbidden(f"Access Denied: Dataset {ref}: Permission bigquery.datasets.get denied")
        return SimpleNamespace(access_entries=[SimpleNamespace(role=r, entity_id=m)
                                               for r, m in self.access.get(dataset, ())])

    def query(self, sql, job_config=None):
        assert job_config.dry_run
        echoed = self.echo if self.echo is not None else job_config.maximum_bytes_billed
        return SimpleNamespace(maximum_bytes_billed=echoed, total_bytes_processed=1024)


class FakeStorage:
    def __init__(self, error=None) -> None:
        self.error = error

    def create_read_session(self, **_):
        if self.error:
            raise self.error
        return SimpleNamespace(streams=[])


def fake_warehouse(client, storage, expiration=None):
    from google.cloud import bigquery

    from cbi.warehouse.bigquery import BigQueryWarehouse

    wh = BigQueryWarehouse.__new__(BigQueryWarehouse)
    wh._bq, wh.project, wh.location, wh.role = bigquery, PROJECT, "us-central1", "operator"
    wh.client, wh._storage, wh.maximum_bytes_billed = client, storage, 5 * 1024**3
    wh.partitioning = lambda fqn: {"expiration_days": (expiration or {}).get(fqn)}
    return wh


def full_access() -> dict[str, set[tuple[str, str]]]:
    access: dict[str, set[tuple[str, str]]] = {}
    for e in iam.plan(PROJECT):
        access.setdefault(e.dataset, set()).add((e.role, e.member))
    return access


def creds_for(role):
    return SimpleNamespace(service_account_email=iam.member_for(role, PROJECT, {}))


BARS = "market_data.databento_futures_ohlcv_1m"
NEWS = "market_data.news_articles"


def test_a_ready_project_passes_every_check():
    settings = Settings(maximum_bytes_billed=5 * 1024**3, retention_days={BARS: 90, NEWS: 30})
    client = FakeClient(full_access())
    # BARS expires after its roll-up: no partition expiration, the retention job deletes
    wh = fake_warehouse(client, FakeStorage(), {BARS: None, NEWS: 30.0})
    checks = readiness(wh, settings, credentials_for=creds_for, client_for=lambda role, c: client)
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]
    kinds = {c.check for c in checks}
    assert kinds == {"api", "credentials", "access", "maximum_bytes_billed", "partition_expiration"}
    assert sum(c.check == "access" for c in checks) == len(iam.plan(PROJECT))


def test_each_problem_is_reported_with_its_fix():
    from cbi.warehouse import WarehouseError

    settings = Settings(maximum_bytes_billed=5 * 1024**3, retention_days={BARS: 90, NEWS: 30})
    access = full_access()
    access["predictions"].discard(("WRITER", iam.member_for("training", PROJECT, {})))
    client = FakeClient(access, bytes_billed_echo=None)
    dashboard_client = FakeClient(access, denied={"market_data"})

    def creds(role):
        if role == "operator":
            raise WarehouseError("no BigQuery credentials found")
        if role == "collector":
            return SimpleNamespace(service_account_email="someone@else.iam.gserviceaccount.com")
        return creds_for(role)

    # a partition expiration on BARS would drop minutes never rolled up; NEWS has none
    wh = fake_warehouse(client, FakeStorage(DISABLED), {BARS: 90.0, NEWS: None})
    checks = readiness(wh, settings, credentials_for=creds,
                       client_for=lambda role, c: dashboard_client if role == "dashboard" else client)
    bad = {(c.check, c.subject): c for c in checks if not c.ok}
    assert bad[("api", "bigquerystorage.googleapis.com")].fix == \
        f"gcloud services enable bigquerystorage.googleapis.com --project {PROJECT}"
    assert "GOOGLE_APPLICATION_CREDENTIALS_OPERATOR" in bad[("credentials", "operator")].fix
    assert "someone@else" in bad[("credentials", "collector")].detail
    assert bad[("access", "training WRITER predictions")].fix == "cbi iam apply"
    assert "denied" in bad[("access", "dashboard READER market_data")].detail
    assert "lifts" in bad[("partition_expiration", BARS)].fix
    assert "sets" in bad[("partition_expiration", NEWS)].fix
    assert ("api", "bigquery.googleapis.com") not in bad
    assert ("maximum_bytes_billed", "ops.pipeline_runs") not in bad


def test_a_dry_run_without_the_limit_fails_the_check():
    settings = Settings(maximum_bytes_billed=5 * 1024**3)
    client = FakeClient(full_access(), bytes_billed_echo=0)
    wh = fake_warehouse(client, FakeStorage())
    checks = readiness(wh, settings, credentials_for=creds_for, client_for=lambda role, c: client)
    (limit,) = [c for c in checks if c.check == "maximum_bytes_billed"]
    assert not limit.ok and "maximum_bytes_billed" in limit.fix


def test_verify_bigquery_on_duckdb_says_it_needs_bigquery(duckdb_url):
    from typer.testing import CliRunner

    from cbi.cli import app

    runner = CliRunner()
    assert runner.invoke(app, ["-w", duckdb_url, "init"]).exit_code == 0
    said = runner.invoke(app, ["-w", duckdb_url, "verify", "--bigquery"])
    assert said.exit_code == 2 and "needs a BigQuery warehouse" in said.output


def test_plan_members_come_from_settings():
    settings = Settings(iam_members={"dashboard": "dash@x.iam.gserviceaccount.com"})
    access = full_access()
    client = FakeClient(access)
    wh = fake_warehouse(client, FakeStorage())
    checks = readiness(wh, settings, credentials_for=creds_for, client_for=lambda role, c: client)
    bad = [c for c in checks if not c.ok]
    assert any(c.subject == "dashboard" and "dash@x" in c.detail for c in bad)
