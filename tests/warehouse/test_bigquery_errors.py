"""BigQuery's one error path (18.5): dry-run, query, load and MERGE errors become the
package's WarehouseError with one line naming the statement or table; results of any size
come through the Storage Read API."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from cbi.cli import app
from cbi.errors import EXIT_USAGE
from cbi.warehouse import WarehouseError

BARS = "market_data.databento_futures_ohlcv_1m"
UTC = dt.timezone.utc


def _bar() -> pa.Table:
    return pa.table({"ts_event": pa.array([dt.datetime(2024, 3, 8, 14, 30, tzinfo=UTC)], pa.timestamp("us", tz="UTC")),
                     "root": ["ZL"], "symbol": ["ZLK4"], "close": [50.0]})


@pytest.mark.bigquery
def test_sql_errors_are_one_line_naming_the_statement_with_and_without_the_guard(bigquery_warehouse):
    wh = bigquery_warehouse
    bad = "SELECT no_such_column FROM market_data.futures_ohlcv_1d"
    for guard in (None, 10**12):  # the guard's dry run used to sit outside the mapping
        wh.cost_guard_bytes = guard
        with pytest.raises(WarehouseError) as caught:
            wh.query(bad)
        message = str(caught.value)
        assert "\n" not in message and "market_data.futures_ohlcv_1d" in message, message
    wh.cost_guard_bytes = None


@pytest.mark.bigquery
def test_cli_prints_one_line_for_a_bigquery_error(_initialised_bigquery, monkeypatch):
    monkeypatch.setenv("CBI_COST_GUARD_BYTES", str(10**12))
    result = CliRunner().invoke(app, ["-w", _initialised_bigquery, "query",
                                      "SELECT no_such_column FROM market_data.futures_ohlcv_1d"])
    assert result.exit_code == EXIT_USAGE, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert "market_data.futures_ohlcv_1d" in lines[0] and "Traceback" not in result.output


@pytest.mark.bigquery
def test_a_result_over_4_mib_comes_through_the_storage_read_api(bigquery_warehouse):
    wh = bigquery_warehouse
    assert wh._storage is not None  # the emulator's gRPC port: the Storage Read path
    got = wh.query("SELECT n, REPEAT('x', 1000) AS s FROM UNNEST(GENERATE_ARRAY(1, 6000)) AS n")
    assert got.num_rows == 6000 and got.nbytes > 4 * 1024 * 1024
    assert set(got.column("s").to_pylist()) == {"x" * 1000}


class _FailingJob:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def result(self):
        raise self.exc


class _FakeClient:
    """Stands in for `bigquery.Client`: each call fails the way the real client does."""

    def __init__(self, load=None, query=None, dry=None) -> None:
        self.load, self.query_exc, self.dry = load, query, dry
        self.deleted: list[str] = []

    def load_table_from_file(self, *_a, **_k):
        if self.load:
            return _FailingJob(self.load)
        return _FailingJob.__new__(_Done)

    def query(self, sql, job_config=None):
        if job_config is not None and job_config.dry_run and self.dry:
            raise self.dry
        return _FailingJob(self.query_exc)

    def delete_table(self, name, not_found_ok=False):
        self.deleted.append(name)

    def close(self):
        pass


class _Done(_FailingJob):
    def result(self):
        return None


def _fake_warehouse(client):
    from cbi.warehouse.bigquery import BigQueryWarehouse

    wh = BigQueryWarehouse("p", endpoint="http://127.0.0.1:9", connect_timeout_s=None)
    wh.client = client
    return wh


def test_load_merge_and_dry_run_errors_map_to_one_line_naming_the_table():
    from google.api_core import exceptions as gexc

    multi = "Error while reading data\n  at line 1\n  more detail"
    wh = _fake_warehouse(_FakeClient(load=gexc.BadRequest(multi)))
    with pytest.raises(WarehouseError) as caught:
        wh.merge(BARS, _bar())
    text = str(caught.value)
    assert text.startswith(f"merge into {BARS} failed (loading the batch") and "\n" not in text
    assert wh.client.deleted and wh.client.deleted[0].startswith("p.ops._staging_")  # staging dropped

    wh = _fake_warehouse(_FakeClient(query=gexc.BadRequest("Query error: bad MERGE")))
    with pytest.raises(WarehouseError, match=rf"merge into {BARS} failed \(MERGE\).*bad MERGE"):
        wh.merge(BARS, _bar())

    wh = _fake_warehouse(_FakeClient(dry=gexc.BadRequest(multi)))
    wh.cost_guard_bytes = 10**9
    with pytest.raises(WarehouseError) as caught:
        wh.query("SELECT close FROM market_data.futures_ohlcv_1d")
    text = str(caught.value)
    assert "dry run" in text and "market_data.futures_ohlcv_1d" in text and "\n" not in text

    wh = _fake_warehouse(_FakeClient(query=TypeError("Object of type datetime64 is not JSON serializable")))
    with pytest.raises(WarehouseError, match="DELETE on ops.feed_cursors.*JSON serializable"):
        wh.execute("DELETE FROM ops.feed_cursors WHERE TRUE")


def test_storage_read_channel_takes_messages_of_any_size(monkeypatch):
    import grpc

    from cbi.warehouse.bigquery import BigQueryWarehouse

    seen = {}
    real = grpc.insecure_channel

    def spy(target, options=None, **kw):
        seen["options"] = dict(options or ())
        return real(target, options=options, **kw)

    monkeypatch.setattr(grpc, "insecure_channel", spy)
    BigQueryWarehouse._storage_client("127.0.0.1:9", None)
    assert seen["options"]["grpc.max_receive_message_length"] == -1
    assert seen["options"]["grpc.max_send_message_length"] == -1
