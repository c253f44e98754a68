"""The real databento client against the sandbox: poll, faults, live, reconnect, SIGKILL."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import threading
import time

import databento as db
import pytest

from cbi.feeds import databento
from cbi.feeds.base import get_watermark
from cbi.feeds.validate import BarError
from cbi.sandbox import databento_data, databento_http
from cbi.warehouse import connect
from tests.feeds.databento_fixtures import OPEN_MARKET, settings_for, start_pair

TABLE = "market_data.databento_futures_ohlcv_1m"


@pytest.fixture
def servers():
    clock, http, live = start_pair()
    yield clock, http, live
    http.stop()
    live.stop()


def _keys(wh):
    return wh.query(f"SELECT ts_event, symbol, open, high, low, close, volume FROM {TABLE} "
                    "ORDER BY ts_event, symbol")


def _expected(roots, start, end):
    bars, _ = databento_data.bars(7, roots, "ohlcv-1m", int(start.timestamp() * 1e9),
                                  int(end.timestamp() * 1e9))
    return len(bars)


def test_poll_fills_bars_daily_and_series_and_moves_watermarks(wh, servers):
    clock, http, _ = servers
    settings = settings_for(http, roots=["ZL", "ES"])
    result = databento.poll_job(wh, settings, start=OPEN_MARKET - dt.timedelta(days=20))
    assert result["rows_read"] > 0 and result["simulated"]
    schemas = {r["schema"] for r in http.requests}
    assert schemas == {"ohlcv-1h", "ohlcv-1m", "statistics"}  # old history hourly, recent by minute
    assert wh.scalar("SELECT COUNT(*) FROM market_data.futures_ohlcv_1d "
                     "WHERE close_source = 'settlement'") > 0  # CME's own close where published
    assert wh.row_count(TABLE) > 1000
    spreads = wh.scalar(f"SELECT COUNT(*) FROM {TABLE} WHERE STRPOS(symbol, '-') > 0")
    assert spreads > 0
    assert wh.scalar("SELECT COUNT(DISTINCT date) FROM market_data.futures_continuous_1d "
                     "WHERE root = 'ZL'") >= 13
    assert wh.scalar("SELECT COUNT(*) FROM market_data.futures_continuous_1d "
                     "WHERE STRPOS(contract_symbol, '-') > 0") == 0
    watermark = get_watermark(wh, "databento", "ZL")
    assert OPEN_MARKET - dt.timedelta(minutes=5) < watermark <= OPEN_MARKET


def test_same_range_twice_gives_identical_table(wh, servers):
    _, http, _ = servers
    settings = settings_for(http, roots=["CL"])
    window = dict(start=OPEN_MARKET - dt.timedelta(hours=30), end=OPEN_MARKET - dt.timedelta(hours=1))
    databento.poll_job(wh, settings, **window)
    first = _keys(wh)
    databento.poll_job(wh, settings, **window)
    assert _keys(wh).equals(first)
    assert first.num_rows == _expected(["CL"], window["start"], window["end"])


@pytest.mark.parametrize("fault", ["fail_429", "fail_500", "drop"])
def test_transient_faults_are_retried(wh, servers, fault):
    _, http, _ = servers
    setattr(http.faults, fault, 1)
    settings = settings_for(http, roots=["ZL"])
    began = time.monotonic()
    databento.poll_job(wh, settings, start=OPEN_MARKET - dt.timedelta(hours=3))
    if fault == "fail_429":
        assert time.monotonic() - began >= 1.0  # waited for Retry-After: 1
    assert getattr(http.faults, fault) == 0
    assert wh.row_count(TABLE) == _expected(["ZL"], OPEN_MARKET - dt.timedelta(hours=3),
                                            _utc(http.requests[-1]["end"]))


def _utc(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_persistent_500_fails_loudly_without_the_key(wh, servers):
    _, http, _ = servers
    http.faults.fail_500 = 99
    with pytest.raises(databento.FeedError) as err:
        databento.poll_job(wh, settings_for(http, roots=["ZL"]),
                           start=OPEN_MARKET - dt.timedelta(hours=3))
    assert "after 5 attempts" in str(err.value) and "500" in str(err.value)
    assert databento_http.SANDBOX_API_KEY not in str(err.value)
    assert wh.row_count(TABLE) == 0 and get_watermark(wh, "databento", "ZL") is None


def test_other_4xx_fails_at_once_with_the_server_message(wh, servers):
    _, http, _ = servers
    with pytest.raises(databento.FeedError, match="not available in the sandbox"):
        databento.poll_job(wh, settings_for(http, databento_dataset="XNAS.ITCH"))
    assert http.requests == []


def test_malformed_record_is_quarantined_and_its_batch_not_applied(wh, servers):
    _, http, _ = servers
    http.faults.malformed = 1
    result = databento.poll_job(wh, settings_for(http, roots=["ZL"]),
                                start=OPEN_MARKET - dt.timedelta(hours=3))
    assert list(result["errors"]) == ["ZL"]
    assert re.search(r"1 record\(s\) quarantined, first ZL\w+ at .*, field high: high below",
                     result["errors"]["ZL"])
    assert wh.row_count(TABLE) == 0 and get_watermark(wh, "databento", "ZL") is None
    reasons = wh.query("SELECT reason FROM ops.quarantined_records").column(0).to_pylist()
    assert len(reasons) == 1 and reasons[0].startswith("high: high below")


def test_one_roots_bad_record_does_not_stop_the_others(wh, servers):
    _, http, _ = servers
    http.faults.malformed = 1  # the first answer: ZL's
    settings = settings_for(http, roots=["ZL", "ES", "CL"])
    start = OPEN_MARKET - dt.timedelta(hours=3)
    result = databento.poll_job(wh, settings, start=start)
    assert list(result["errors"]) == ["ZL"] and "error" in result["roots"]["ZL"]
    per_root = {r["root"]: r["n"] for r in
                wh.query(f"SELECT root, COUNT(*) AS n FROM {TABLE} GROUP BY root").to_pylist()}
    assert "ZL" not in per_root
    for root in ("ES", "CL"):
        end = get_watermark(wh, "databento", root)
        assert end is not None and per_root[root] == _expected([root], start, end)
    assert wh.row_count("ops.quarantined_records") == 1
    from cbi.ops.alerts import open_alerts

    assert [(a["kind"], a["subject"]) for a in open_alerts(wh)] == [("job_failed", "databento:ZL")]
    # the next cycle retries ZL from where it stopped: nothing of it was lost
    again = databento.poll_job(wh, settings)
    assert again["errors"] == {} and open_alerts(wh) == []
    assert wh.scalar(f"SELECT COUNT(*) FROM {TABLE} WHERE root = 'ZL'") == _expected(
        ["ZL"], start, get_watermark(wh, "databento", "ZL"))


def test_cli_exits_1_naming_the_failed_root(servers, duckdb_url, monkeypatch):
    from typer.testing import CliRunner

    from cbi.cli import app

    _, http, _ = servers
    http.faults.malformed = 1
    for name, value in {"CBI_WAREHOUSE": duckdb_url, "CBI_SANDBOX": "true",
                        "CBI_DATABENTO_GATEWAY": http.url, "CBI_DATABENTO_MINUTE_DAYS": "1",
                        "CBI_ROOTS": '["ZL","ES"]', "CBI_DATABENTO_RETRY_WAIT_S": "0.01"}.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    result = runner.invoke(app, ["ingest", "databento", "--start",
                                 (OPEN_MARKET - dt.timedelta(hours=2)).isoformat()])
    assert result.exit_code == 1, result.output
    assert "ES: " in result.output and "1 of 2 root(s) failed: ZL: " in result.output
    wh = connect(duckdb_url)
    assert wh.scalar(f"SELECT COUNT(*) FROM {TABLE} WHERE root = 'ES'") > 0
    assert wh.scalar(f"SELECT COUNT(*) FROM {TABLE} WHERE root = 'ZL'") == 0
    wh.close()


def test_real_client_refuses_a_wrong_key(servers):
    _, http, _ = servers
    client = db.Historical("db-" + "WrongKeyWrongKeyWrongKeyWrong0", gateway=http.url)
    databento._plain_http(client, http.url)
    with pytest.raises(db.BentoClientError) as err:
        client.metadata.get_dataset_range("GLBX.MDP3")
    assert err.value.http_status == 401


def _run_live(wh, settings, seconds):
    stop = threading.Event()
    thread = threading.Thread(target=databento.run_live, args=(wh, settings, stop))
    thread.start()
    time.sleep(seconds)
    stop.set()
    thread.join(20)
    assert not thread.is_alive()


def test_live_streams_and_reconnects_with_the_gap_backfilled(wh):
    clock, http, live = start_pair(speed=60, drops=1, drop_after_records=30, malformed=1)
    try:
        settings = settings_for(http, live, roots=["ZL", "ES"])
        databento.poll_job(wh, settings, start=OPEN_MARKET - dt.timedelta(hours=2))
        before = wh.row_count(TABLE)
        _run_live(wh, settings, 5)
    finally:
        http.stop()
        live.stop()
    assert live.state.connections >= 2  # dropped once, reconnected
    assert wh.row_count(TABLE) > before
    first, last = wh.query(f"SELECT MIN(ts_event), MAX(ts_event) FROM {TABLE}").to_pylist()[0].values()
    expected = _expected(["ZL", "ES"], first, last + dt.timedelta(minutes=1))
    assert wh.row_count(TABLE) == expected  # no gap, no duplicate
    quarantined = wh.query("SELECT reason FROM ops.quarantined_records").column(0).to_pylist()
    assert quarantined and "high" in quarantined[0]


KILLED_INGEST = """
import sys, datetime as dt
from cbi.config import Settings
from cbi.warehouse import connect
from cbi.feeds import databento
wh = connect(sys.argv[1]); wh.init()
s = Settings(sandbox=True, databento_gateway=sys.argv[2], databento_minute_days=8, roots=["ES"])
databento.poll_job(wh, s, start=dt.datetime.fromisoformat(sys.argv[3]))
"""


def test_sigkill_mid_ingest_then_rerun_has_no_duplicate_and_no_gap(tmp_path, duckdb_url):
    clock, http, live = start_pair()
    start = OPEN_MARKET - dt.timedelta(days=7)
    try:
        proc = subprocess.Popen([sys.executable, "-c", KILLED_INGEST, duckdb_url, http.url,
                                 start.isoformat()], env={**os.environ})
        deadline = time.monotonic() + 60
        while len(http.requests) < 3 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
        wh = connect(duckdb_url)
        partial = wh.row_count(TABLE)
        settings = settings_for(http, roots=["ES"], databento_minute_days=8)
        databento.poll_job(wh, settings, start=start if partial == 0 else None)
        end = get_watermark(wh, "databento", "ES")
        assert wh.row_count(TABLE) == _expected(["ES"], start, end)
        dupes = wh.scalar(f"SELECT COUNT(*) FROM (SELECT ts_event, symbol FROM {TABLE} "
                          "GROUP BY 1, 2 HAVING COUNT(*) > 1)")
        assert dupes == 0
        wh.close()
    finally:
        http.stop()
        live.stop()


def test_live_bars_carry_the_root_of_their_subscription(wh):
    from cbi import calendar

    clock, http, live = start_pair(speed=60)
    try:
        settings = settings_for(http, live, roots=["ZL", "ES", "CL"])
        databento.poll_job(wh, settings, start=OPEN_MARKET - dt.timedelta(hours=2))
        polled_to = get_watermark(wh, "databento", "ZL")
        _run_live(wh, settings, 4)
    finally:
        http.stop()
        live.stop()
    live_rows = wh.query(f"SELECT root, COUNT(*) AS n FROM {TABLE} WHERE ts_event > @t GROUP BY root",
                         {"t": polled_to}).to_pylist()
    assert {r["root"] for r in live_rows} == {"ZL", "ES", "CL"}
    assert get_watermark(wh, "databento", "ZL") > polled_to
    for table in (TABLE, "market_data.futures_ohlcv_1d", "market_data.futures_continuous_1d"):
        assert wh.scalar(f"SELECT COUNT(*) FROM {table} WHERE root NOT IN ('ZL', 'ES', 'CL')") == 0
    today = calendar.trading_date_of("ZL", OPEN_MARKET)
    minutes = wh.query(
        f"SELECT symbol, SUM(volume) AS volume, MIN(ts_event) AS first, MAX(ts_event) AS last "
        f"FROM {TABLE} WHERE root = 'ZL' AND trading_date = @d GROUP BY symbol", {"d": today}).to_pylist()
    daily = {r["symbol"]: r["volume"] for r in wh.query(
        "SELECT symbol, volume FROM market_data.futures_ohlcv_1d WHERE root = 'ZL' AND date = @d",
        {"d": today}).to_pylist()}
    front = max(minutes, key=lambda r: r["volume"])
    assert front["first"] <= polled_to < front["last"]  # polled and live minutes, one bar
    assert daily == {r["symbol"]: r["volume"] for r in minutes}


def test_daily_bars_close_at_cme_settlement_where_published(wh, servers):
    """Settled dates close at the settlement (the sandbox publishes the last trade + 1 tick,
    15 min after the close); today's session, not settled yet, at its last trade; spreads,
    which CME does not settle here, at their last trade."""
    clock, http, _ = servers
    settings = settings_for(http, roots=["ZL"])
    databento.poll_job(wh, settings, start=OPEN_MARKET - dt.timedelta(days=4))
    rows = wh.query("SELECT d.date, d.symbol, d.close, d.close_source, s.settlement_price "
                    "FROM market_data.futures_ohlcv_1d AS d LEFT JOIN "
                    "market_data.databento_settlements AS s USING (date, symbol) "
                    "WHERE d.root = 'ZL'").to_pylist()
    today = dt.date(2025, 3, 12)
    for r in rows:
        if r["date"] < today and "-" not in r["symbol"]:
            assert r["close_source"] == "settlement" and r["close"] == r["settlement_price"]
        else:
            assert r["close_source"] == "last_trade" and r["settlement_price"] is None
    settled = [r for r in rows if r["close_source"] == "settlement"]
    assert len(settled) >= 6  # three outrights on each of the settled dates
    minute_close = wh.scalar(
        f"SELECT close FROM {TABLE} WHERE symbol = @s AND trading_date = @d ORDER BY ts_event DESC LIMIT 1",
        {"s": settled[0]["symbol"], "d": settled[0]["date"]})
    assert settled[0]["close"] == pytest.approx(minute_close + 0.01)


# ---- kill a multi-root backfill at random points, resume with --end alone ----------------------
KILLED_BACKFILL = """
import sys, datetime as dt
from cbi.config import Settings
from cbi.warehouse import connect
from cbi.feeds import databento
wh = connect(sys.argv[1]); wh.init()
s = Settings(sandbox=True, databento_gateway=sys.argv[2], databento_minute_days=1,
             roots=["ZL", "ES", "CL"], databento_retry_wait_s=0.01)
databento.poll_job(wh, s, start=dt.datetime.fromisoformat(sys.argv[3]),
                   end=dt.datetime.fromisoformat(sys.argv[4]))
"""
BACKFILL_START = OPEN_MARKET - dt.timedelta(days=12)
BACKFILL_END = OPEN_MARKET - dt.timedelta(hours=1)
#: every table a backfill writes, by key (columns stamped with the wall clock left out)
WRITTEN = {TABLE: "ts_event, symbol", "market_data.futures_ohlcv_1d": "date, symbol",
           "market_data.futures_continuous_1d": "date, root",
           "market_data.databento_settlements": "date, symbol"}
STAMPS = ("ingest_timestamp", "updated_at", "created_at")


def _snapshot(wh) -> dict[str, list[dict]]:
    out = {}
    for table, key in WRITTEN.items():
        rows = wh.query(f"SELECT * FROM {table} ORDER BY {key}").to_pylist()
        out[table] = [{k: v for k, v in r.items() if k not in STAMPS} for r in rows]
    return out


def _settings3(http):
    return settings_for(http, roots=["ZL", "ES", "CL"], databento_minute_days=1)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The tables of one uninterrupted three-root backfill (the reference)."""
    import time_machine

    from tests.conftest import FROZEN_NOW

    with time_machine.travel(FROZEN_NOW, tick=True):  # module fixtures run before the frozen clock
        return _uninterrupted(tmp_path_factory)


def _uninterrupted(tmp_path_factory):
    clock, http, live = start_pair()
    try:
        wh = connect(f"duckdb:///{tmp_path_factory.mktemp('ref')}/ref.duckdb")
        wh.init()
        databento.poll_job(wh, _settings3(http), start=BACKFILL_START, end=BACKFILL_END)
        requests = len(http.requests)
        snapshot = _snapshot(wh)
        wh.close()
    finally:
        http.stop()
        live.stop()
    return requests, snapshot


#: kill points (requests answered before SIGKILL), drawn at random once with a fixed seed
KILL_POINTS = sorted(__import__("random").Random(17).sample(range(1, 18), 3))


@pytest.mark.parametrize("kill_after", KILL_POINTS)
def test_sigkill_a_multi_root_backfill_then_resume_with_end_only(tmp_path, uninterrupted, kill_after):
    total_requests, reference = uninterrupted
    assert kill_after < total_requests  # the kill lands inside the backfill
    url = f"duckdb:///{tmp_path}/killed.duckdb"
    clock, http, live = start_pair()
    try:
        proc = subprocess.Popen([sys.executable, "-c", KILLED_BACKFILL, url, http.url,
                                 BACKFILL_START.isoformat(), BACKFILL_END.isoformat()])
        deadline = time.monotonic() + 60
        while len(http.requests) < kill_after and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL  # killed mid-way, not finished
        wh = connect(url)
        partial = _snapshot(wh)
        assert databento.backfills(wh)  # the request outlived the process
        assert partial != reference  # the kill left work undone
        result = databento.poll_job(wh, _settings3(http), end=BACKFILL_END)  # `--end` alone
        assert result["errors"] == {}
        assert _snapshot(wh) == reference  # row for row: nothing lost, nothing duplicated
        assert databento.backfills(wh) == {}
        assert wh.scalar("SELECT COUNT(*) FROM ops.feed_cursors WHERE feed = 'rollup'") == 0
        wh.close()
    finally:
        http.stop()
        live.stop()


KILLED_BEFORE_ROLL_UP = """
import os, signal, sys, datetime as dt
from cbi.config import Settings
from cbi.warehouse import connect
from cbi.feeds import databento, rollups
def die(*args, **kwargs):  # the fault hook: killed between the minute MERGE and the roll-up
    os.kill(os.getpid(), signal.SIGKILL)
rollups.roll_up = die
wh = connect(sys.argv[1]); wh.init()
s = Settings(sandbox=True, databento_gateway=sys.argv[2], databento_minute_days=2, roots=["ZL"],
             databento_settlements=False)
databento.poll_job(wh, s, start=dt.datetime.fromisoformat(sys.argv[3]),
                   end=dt.datetime.fromisoformat(sys.argv[4]))
"""


def test_a_kill_between_the_minute_merge_and_the_roll_up_is_found_and_finished(
        tmp_path, servers, monkeypatch):
    from cbi.quality import market_gates
    from tests.feeds.test_rollups import assert_found_behind

    _, http, _ = servers
    start, end = OPEN_MARKET - dt.timedelta(hours=6), OPEN_MARKET - dt.timedelta(hours=1)
    url = f"duckdb:///{tmp_path}/killed.duckdb"
    proc = subprocess.run([sys.executable, "-c", KILLED_BEFORE_ROLL_UP, url, http.url,
                           start.isoformat(), end.isoformat()], timeout=60)
    assert proc.returncode == -signal.SIGKILL
    wh = connect(url)
    assert wh.row_count(TABLE) > 0 and wh.row_count("market_data.futures_ohlcv_1d") == 0
    wh.close()
    assert_found_behind(url, monkeypatch)
    wh = connect(url)
    settings = settings_for(http, roots=["ZL"], databento_settlements=False)
    result = databento.poll_job(wh, settings, end=end)  # the next command finishes it first
    assert result["rollups_finished"]["ZL"] > 0
    assert all(g.ok for g in market_gates(wh))
    ref = connect(f"duckdb:///{tmp_path}/ref.duckdb")
    ref.init()
    databento.poll_job(ref, settings, start=start, end=end)
    assert _snapshot(wh) == _snapshot(ref)
    wh.close()
    ref.close()


def test_a_backfill_says_its_cost_first_and_stops_above_the_cap(wh, servers):
    from cbi.feeds.databento.cost import CostLimitExceeded

    clock, http, _ = servers
    said = []
    settings = settings_for(http, roots=["ZL"], max_backfill_cost_usd=1000.0)
    databento.poll_job(wh, settings, start=OPEN_MARKET - dt.timedelta(days=10), progress=said.append)
    assert "estimated cost $" in said[0] and "ZL" in said[0]
    quoted = float(said[0].split("$")[1].replace(",", ""))
    assert quoted > 0
    assert any(r.get("schema") == "ohlcv-1m" for r in http.requests)
    fetched = len(http.requests)
    capped = settings_for(http, roots=["ES"], max_backfill_cost_usd=quoted / 1000)
    with pytest.raises(CostLimitExceeded, match="above max_backfill_cost_usd"):
        databento.poll_job(wh, capped, start=OPEN_MARKET - dt.timedelta(days=10))
    assert len(http.requests) == fetched  # nothing fetched (cost quotes are not data requests)
    assert wh.scalar(f"SELECT COUNT(*) FROM {TABLE} WHERE root = 'ES'") == 0


def test_a_watermark_never_passes_the_end_a_capped_request_covered(wh, servers, monkeypatch):
    """The available end moves back between the dataset-range answer and a get_range (422
    data_end_after_available_end): the request is capped, and the watermark goes only to
    the capped end, never to the end first planned."""
    _, http, _ = servers
    real = databento.available_end
    first = real(databento.historical(settings_for(http)), settings_for(http))
    answers = iter([first])
    monkeypatch.setattr(databento, "available_end",
                        lambda client, settings, schema="ohlcv-1m": next(answers, None) or real(client, settings, schema))
    http.state.lag_minutes = 40  # the gateway now serves 38 minutes less than it said
    settings = settings_for(http, roots=["ZL"], databento_settlements=False)
    databento.poll_job(wh, settings, start=first - dt.timedelta(hours=2))
    capped = real(databento.historical(settings), settings)
    assert capped < first
    assert get_watermark(wh, "databento", "ZL") == capped
    assert wh.scalar(f"SELECT MAX(ts_event) FROM {TABLE}") < capped
    assert databento.backfills(wh)  # the request is not done: its end is still ahead


def test_polled_prices_outside_a_roots_band_are_quarantined_and_the_others_proceed(wh, servers):
    _, http, _ = servers
    settings = settings_for(http, roots=["ZL", "ES"], databento_settlements=False,
                            price_bands={"ZL": [1.0, 10.0], "default": [-1e6, 1e6]})  # ZL trades ~45
    start = OPEN_MARKET - dt.timedelta(hours=2)
    result = databento.poll_job(wh, settings, start=start)
    assert list(result["errors"]) == ["ZL"]
    assert "outside the plausible band [1, 10] of root ZL" in result["errors"]["ZL"]
    assert wh.scalar(f"SELECT COUNT(*) FROM {TABLE} WHERE root = 'ZL'") == 0
    assert wh.scalar(f"SELECT COUNT(*) FROM {TABLE} WHERE root = 'ES'") == _expected(
        ["ES"], start, get_watermark(wh, "databento", "ES"))
    reasons = wh.query("SELECT reason FROM ops.quarantined_records").column(0).to_pylist()
    assert reasons and all("plausible band [1, 10] of root ZL" in r for r in reasons)


def _live_records(root: str, start: dt.datetime, end: dt.datetime) -> list:
    """What the Live gateway sends for `root` in [start, end): a mapping per instrument before
    its first bar, then the bars (the sandbox's own data, as databento_live serves it)."""
    import databento_dbn as dbn

    bars, symbols = databento_data.bars(7, [root], "ohlcv-1m", int(start.timestamp() * 1e9),
                                        int(end.timestamp() * 1e9))
    by_id = {i: s for s, i in symbols.items()}
    out, mapped = [], set()
    for bar in bars:
        iid, ts = int(bar["instrument_id"]), int(bar["ts_event"])
        if iid not in mapped:
            out.append(dbn.SymbolMappingMsg(
                publisher_id=databento_data.PUBLISHER_ID, instrument_id=iid, ts_event=ts,
                stype_in=dbn.SType.PARENT, stype_in_symbol=f"{root}.FUT",
                stype_out=dbn.SType.RAW_SYMBOL, stype_out_symbol=by_id[iid],
                start_ts=ts, end_ts=ts + 86_400_000_000_000))
            mapped.add(iid)
        out.append(dbn.OHLCVMsg(rtype=dbn.RType.OHLCV_1M, publisher_id=databento_data.PUBLISHER_ID,
                                instrument_id=iid, ts_event=ts, open=int(bar["open"]),
                                high=int(bar["high"]), low=int(bar["low"]),
                                close=int(bar["close"]), volume=int(bar["volume"])))
    return out


def test_backfill_poll_and_live_merge_write_the_same_on_each_engine(warehouse, servers):
    """18.4: the feed's three write paths on both engines: a backfill (minute bars, their
    roll-up, settlements), the poll that carries on from its watermark, and a Live batch's
    merge. One root, one chunk each: a chunk costs a dozen round trips on the emulator; the
    detailed cases above (faults, kills, many roots, hourly history) stay on DuckDB (`wh`)
    for that reason (the demo's BigQuery test, tests/test_demo_bigquery.py, backfills
    hourly history there)."""
    _, http, _ = servers
    settings = settings_for(http, roots=["CL"], databento_minute_days=1)
    backfill_end = OPEN_MARKET - dt.timedelta(hours=3)
    done = databento.poll_job(warehouse, settings, start=OPEN_MARKET - dt.timedelta(hours=6),
                              end=backfill_end)
    assert not done["errors"] and done["rows_written"] > 0
    assert databento.backfills(warehouse) == {}  # the whole request committed: forgotten
    backfilled = get_watermark(warehouse, "databento", "CL")
    assert backfilled == backfill_end
    minutes = warehouse.row_count(TABLE)
    assert minutes > 0 and warehouse.row_count("market_data.futures_ohlcv_1d") > 0
    assert warehouse.scalar("SELECT COUNT(*) FROM market_data.futures_continuous_1d "
                            "WHERE root = 'CL'") > 0

    poll_end = OPEN_MARKET - dt.timedelta(hours=2)
    databento.poll_job(warehouse, settings, end=poll_end)  # no start: from the watermark
    assert get_watermark(warehouse, "databento", "CL") == poll_end
    assert warehouse.row_count(TABLE) == minutes + _expected(["CL"], backfilled, poll_end)

    buffer = databento.LiveBuffer(["CL"])
    live_end = poll_end + dt.timedelta(minutes=20)
    for record in _live_records("CL", poll_end, live_end):
        buffer.add(record)
    assert buffer.flush(warehouse) > 0
    assert warehouse.row_count(TABLE) == minutes + _expected(["CL"], backfilled, live_end)
    newest = warehouse.scalar(f"SELECT MAX(ts_event) FROM {TABLE}")
    assert get_watermark(warehouse, "databento", "CL") == newest
    day = warehouse.query(  # the daily bar of the day holds the live minutes too
        f"SELECT trading_date AS d, symbol, SUM(volume) AS v FROM {TABLE} "
        "WHERE trading_date = (SELECT MAX(trading_date) FROM " + TABLE + ") "
        "GROUP BY trading_date, symbol").to_pylist()
    daily = {r["symbol"]: r["volume"] for r in warehouse.query(
        "SELECT symbol, volume FROM market_data.futures_ohlcv_1d WHERE root = 'CL' AND date = @d",
        {"d": day[0]["d"]}).to_pylist()}
    assert daily == {r["symbol"]: r["v"] for r in day}
