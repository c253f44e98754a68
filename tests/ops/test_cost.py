"""Cost: the guard dry-runs and refuses above its threshold (a fake job result: emulators
report 0 bytes), every query carries maximum_bytes_billed, the month's estimate."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from cbi.config import Settings
from cbi.ops.cost import TIB, flush_costs, month_to_date
from cbi.warehouse.bigquery import BigQueryWarehouse, CostGuardError, JobCost


class FakeClient:
    """Answers dry runs with `estimate` bytes; records every job config it was given."""

    def __init__(self, estimate: int) -> None:
        self.estimate, self.configs, self.ran = estimate, [], []

    def query(self, sql, job_config=None):
        self.configs.append(job_config)
        if not job_config.dry_run:
            self.ran.append(sql)
        return SimpleNamespace(job_id=f"job{len(self.configs)}", statement_type="SELECT",
                               total_bytes_processed=self.estimate, total_bytes_billed=self.estimate,
                               result=lambda: SimpleNamespace(total_rows=0), to_arrow=lambda **kw: None)


def fake_bigquery(estimate: int, guard: int) -> BigQueryWarehouse:
    from google.cloud import bigquery

    wh = BigQueryWarehouse.__new__(BigQueryWarehouse)
    wh._bq, wh.role, wh.read_only, wh.job_costs = bigquery, "collector", False, []
    wh.project = "fake-project"
    wh.maximum_bytes_billed, wh.cost_guard_bytes = 10 * 1024**3, guard
    wh.client, wh._storage = FakeClient(estimate), None
    return wh


def test_guard_refuses_a_job_above_its_threshold_without_running_it():
    wh = fake_bigquery(estimate=5 * 1024**3, guard=2 * 1024**3)
    with pytest.raises(CostGuardError, match=r"5,368,709,120 bytes.*cost_guard_bytes=2,147,483,648"):
        wh.query("SELECT * FROM market_data.databento_futures_ohlcv_1m")
    assert wh.client.ran == []  # only the dry run went out
    assert [c.dry_run for c in wh.job_costs] == [True]


def test_under_the_guard_the_query_runs_and_carries_maximum_bytes_billed():
    wh = fake_bigquery(estimate=1024, guard=2 * 1024**3)
    wh.query("SELECT 1")
    assert len(wh.client.ran) == 1
    assert all(c.maximum_bytes_billed == 10 * 1024**3 for c in wh.client.configs)


def test_month_to_date_estimate_against_the_free_tier(duckdb_url):
    from cbi.warehouse import connect

    settings = Settings(bigquery_free_tier_bytes=TIB, bigquery_price_per_tib=6.25)
    now = dt.datetime.now(dt.timezone.utc)
    with connect(duckdb_url) as wh:
        wh.init()
        wh.role = "training"
        last_month = now.replace(day=1) - dt.timedelta(days=3)
        wh.job_costs = [JobCost("a", "SELECT", 3 * TIB, 3 * TIB, False, now),
                        JobCost("b", "SELECT", 9 * TIB, 9 * TIB, True, now),  # dry run: free
                        JobCost("c", "SELECT", TIB, TIB, False, last_month)]
        flush_costs(wh, job="train")
        month = month_to_date(wh, settings, now)
    assert month.bytes_billed == 3 * TIB and month.jobs == 1
    assert month.billable_bytes == 2 * TIB and month.estimate_usd == 12.5
    assert month.by_job == [{"job": "train", "bytes_billed": 3 * TIB, "queries": 1}]
