"""The emulator's cheap table lookup (tests/emulator_server.py) answers what local-bigquery's
own answers: a session that creates, fills, reads, lists and drops tables runs with both
computed side by side, and the server stops on the first difference; the same for its
listing of a session's temporary tables (a job fails with TEMPORARY MISMATCH)."""

from __future__ import annotations

import datetime as dt

import pytest
from google.api_core.exceptions import NotFound
from google.cloud import bigquery

from cbi.warehouse import connect
from tests.builders import minute_bars
from tests.conftest import require
from tests.emulator import Emulator, emulator_python

BARS = "market_data.databento_futures_ohlcv_1m"


@pytest.mark.bigquery
def test_the_cheap_lookup_answers_as_the_emulators_own(tmp_path):
    require(emulator_python() is not None, "BigQuery emulator not installed (run `make emulator`)")
    emu = Emulator(tmp_path, check_lookup=True)
    try:
        url = emu.url()
        with connect(url) as wh:
            wh.init()
            assert all(c.ok for c in wh.verify())
            start = dt.datetime(2024, 3, 8, 14, 30, tzinfo=dt.timezone.utc)
            wh.merge(BARS, minute_bars([50.0, 50.5, 51.0], start=start))
            assert wh.row_count(BARS) == 3
            assert wh.query(f"SELECT close FROM {BARS} ORDER BY ts_event").column(0).to_pylist() \
                == [50.0, 50.5, 51.0]
            assert wh.table_exists(BARS)
            # a session's temporary table is found by its bare name in the session's next job
            # (the session's temporary tables are what the cheap listing lists)
            first = wh.client.query("CREATE TEMP TABLE picked AS SELECT 7 AS x",
                                    job_config=bigquery.QueryJobConfig(create_session=True))
            first.result()
            session = [bigquery.ConnectionProperty("session_id", first.session_info.session_id)]
            again = wh.client.query("SELECT x FROM picked", job_config=bigquery.QueryJobConfig(
                connection_properties=session))
            assert [row.x for row in again.result()] == [7]
            with pytest.raises(NotFound):
                wh.client.get_table(f"{wh.project}.market_data.no_such_table")
            tables = {t.table_id for t in wh.client.list_tables(f"{wh.project}.market_data")}
            assert "databento_futures_ohlcv_1m" in tables
            wh.client.delete_dataset(f"{wh.project}.market_data", delete_contents=True)
            assert not wh.table_exists(BARS)
        with connect(emu.url()) as other:  # a second project beside the first
            assert not other.table_exists(BARS)
        assert emu.proc.poll() is None, "the emulator stopped: see its log"
    finally:
        emu.stop()
    log = (tmp_path / "emulator.log").read_text()
    assert "LOOKUP MISMATCH" not in log
    assert log.count('HTTP/1.1" 200') > 50  # the session went through the server
