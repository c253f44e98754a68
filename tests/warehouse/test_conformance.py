"""The same cases on every engine: DuckDB and the BigQuery emulator via the real client."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from cbi.warehouse import WarehouseError, catalog, connect
from tests.builders import minute_bars as bars

BARS = "market_data.databento_futures_ohlcv_1m"
UTC = dt.timezone.utc


def snapshot(wh, fqn=BARS):
    return wh.query(f"SELECT * FROM {fqn} ORDER BY ts_event, symbol").to_pylist()


def test_merge_same_batch_twice_is_identical(warehouse):
    batch = bars([50.0, 50.5, 51.0])
    r1 = warehouse.merge(BARS, batch)
    before = snapshot(warehouse)
    r2 = warehouse.merge(BARS, batch)
    assert (r1.inserted, r1.updated) == (3, 0)
    assert (r2.inserted, r2.updated) == (0, 3)
    assert snapshot(warehouse) == before
    assert warehouse.row_count(BARS) == 3


def test_update_changes_values(warehouse):
    warehouse.merge(BARS, bars([50.0, 50.5]))
    warehouse.merge(BARS, bars([60.0, 50.5]))
    assert [r["close"] for r in snapshot(warehouse)] == [60.0, 50.5]


def test_duplicate_keys_in_one_batch_last_row_wins(warehouse):
    batch = pa.concat_tables([bars([50.0]), bars([55.0]), bars([57.0])])
    result = warehouse.merge(BARS, batch)
    assert result.rows_in == 3 and result.rows_merged == 1 and result.duplicates_resolved == 2
    assert [r["close"] for r in snapshot(warehouse)] == [57.0]


def test_query_parameters(warehouse):
    warehouse.merge(BARS, bars([50.0, 51.0, 52.0]))
    got = warehouse.query(
        f"SELECT close FROM {BARS} WHERE close >= @lo AND DATE(ts_event) = @d AND symbol = @s ORDER BY close",
        {"lo": 51.0, "d": dt.date(2024, 3, 8), "s": "ZLK4"},
    )
    assert got.column("close").to_pylist() == [51.0, 52.0]


def test_failing_batch_leaves_target_unchanged(warehouse):
    warehouse.merge(BARS, bars([50.0, 51.0]))
    before = snapshot(warehouse)
    bad = bars([70.0, 71.0])
    bad = bad.set_column(bad.schema.get_field_index("symbol"), "symbol", pa.array(["ZLK4", None]))
    with pytest.raises(WarehouseError, match="key column 'symbol' is NULL"):
        warehouse.merge(BARS, bad)
    wrong_type = bars([70.0]).append_column("not_a_column", pa.array([1]))
    with pytest.raises(WarehouseError, match="unknown column"):
        warehouse.merge(BARS, wrong_type)
    assert snapshot(warehouse) == before


def test_read_only_refuses_writes(warehouse):
    warehouse.merge(BARS, bars([50.0]))
    if warehouse.engine == "duckdb":
        warehouse.close()  # DuckDB: one process holds the file; read-only opens it afresh
    ro = connect(warehouse.url, read_only=True)
    with pytest.raises(WarehouseError, match="read-only"):
        ro.merge(BARS, bars([99.0]))
    with pytest.raises(WarehouseError, match="read-only"):
        ro.execute(f"DELETE FROM {BARS} WHERE TRUE")
    assert ro.row_count(BARS) == 1


@pytest.mark.bigquery
def test_partition_and_cluster_options_visible_on_bigquery(bigquery_warehouse):
    wh = bigquery_warehouse
    bars_part = wh.partitioning(BARS)
    assert (bars_part["column"], bars_part["granularity"]) == ("ts_event", "DAY")
    assert bars_part["clustering"] == ["root", "symbol"]
    fred = wh.partitioning("market_data.fred_economic_indicators")
    assert (fred["column"], fred["granularity"], fred["clustering"]) == ("date", "MONTH", ["series_id"])
    preds = wh.partitioning("predictions.zl_predictions_prod_allhistory_1m")
    assert (preds["column"], preds["clustering"]) == ("date", ["horizon"])


def test_cli_init_init_verify_query(warehouse_url):
    from typer.testing import CliRunner

    from cbi.cli import app

    runner = CliRunner()
    first = runner.invoke(app, ["--warehouse", warehouse_url, "init"])
    assert first.exit_code == 0, first.output
    assert f"created {len(catalog.all_tables())} table(s)" in first.output.replace("\n", " ")
    second = runner.invoke(app, ["--warehouse", warehouse_url, "init"])
    assert second.exit_code == 0 and "created 0 table(s)" in second.output
    verify = runner.invoke(app, ["--warehouse", warehouse_url, "verify"])
    assert verify.exit_code == 0, verify.output
    report = connect(warehouse_url).init()
    assert not report.created and BARS in report.found
    listing = runner.invoke(app, ["--warehouse", warehouse_url, "query",
                                  "SELECT table_schema||'.'||table_name AS t FROM information_schema.tables",
                                  "--format", "csv"]) if warehouse_url.startswith("duckdb") else None
    if listing is not None:
        assert listing.exit_code == 0, listing.output
        assert listing.output.splitlines()[0].strip('"') == "t"
        assert {s.fqn for s in catalog.all_tables()} <= {line.strip('"') for line in listing.output.splitlines()}


def test_init_stops_on_drift_and_changes_nothing(warehouse):
    warehouse.execute("DROP TABLE ops.alerts")
    warehouse.execute("CREATE TABLE ops.alerts (alert_id STRING, something_else INT64)")
    try:
        with pytest.raises(WarehouseError, match=r"ops.alerts: missing .*unexpected \['something_else'\]"):
            warehouse.init()
        assert [c for c in warehouse.verify() if not c.ok][0].table == "ops.alerts"
    finally:  # the emulator project is shared: put the table back
        warehouse.execute("DROP TABLE ops.alerts")
        warehouse.init()
    assert not warehouse._drift(catalog.table("ops.alerts"), warehouse._existing_columns(catalog.table("ops.alerts")))


def test_retention_expires_old_partitions_only_where_allowed(warehouse):
    """Raw minutes expire only once rolled up, on both engines (`expire_rolled_up.sql`): an
    old minute whose daily bar exists goes; an old minute of a symbol or a date the roll-up
    does not hold yet stays (BigQuery sets no partition expiration there, which would drop
    it); a recent one stays. Other tables' old partitions simply expire."""
    jan6 = dt.datetime(2020, 1, 6, 15, 0, tzinfo=UTC)
    def day(d: dt.date) -> dict:
        return {"trading_date": pa.array([d], pa.date32())}

    rolled = bars([50.0], start=jan6, **day(jan6.date()))
    other_symbol = bars([49.0], ["ZLN4"], start=jan6, **day(jan6.date()))  # no daily bar of ZLN4
    later_day = bars([52.0], start=jan6 + dt.timedelta(days=2))  # no daily bar of Jan 8
    # Jan 3 was never rolled up: the daily bar of a later day (Jan 6) does not stand for it
    gap_day = bars([48.0], start=jan6 - dt.timedelta(days=3), **day(dt.date(2020, 1, 3)))
    recent = bars([51.0], start=dt.datetime(2099, 1, 5, 15, 0, tzinfo=UTC))  # after any cutoff
    warehouse.merge(BARS, pa.concat_tables([rolled, other_symbol, later_day, gap_day, recent],
                                           promote_options="default"))
    daily = pa.table({"date": [dt.date(2020, 1, 6)], "root": ["ZL"], "symbol": ["ZLK4"], "close": [50.0]})
    warehouse.merge("market_data.futures_ohlcv_1d", daily)
    assert warehouse.apply_retention({BARS: 30}) == {BARS: 1}
    assert [(r["symbol"], r["close"]) for r in snapshot(warehouse)] == \
        [("ZLK4", 48.0), ("ZLN4", 49.0), ("ZLK4", 52.0), ("ZLK4", 51.0)]
    assert warehouse.partitioning(BARS).get("expiration_days") is None
    with pytest.raises(WarehouseError, match="training needs"):
        warehouse.apply_retention({"market_data.futures_ohlcv_1d": 30})
    news = "market_data.news_articles"
    warehouse.apply_retention({news: 30})
    if warehouse.SUPPORTS_PARTITION_OPTIONS:
        # BigQuery expires these partitions itself; the emulator accepts the ALTER but neither
        # reports nor enforces the option, so check the statement that was sent.
        assert any(c.statement_type == "ALTER_TABLE" for c in warehouse.job_costs) or \
            warehouse.partitioning(news)["expiration_days"] == 30
        # the emulator project is shared: undo the option
        warehouse.execute(f"ALTER TABLE {news} SET OPTIONS (partition_expiration_days = NULL)")


def test_unknown_scheme_lists_supported():
    with pytest.raises(WarehouseError, match=r"supported: duckdb://, bigquery://"):
        connect("postgres://localhost/cbi")


def test_full_row_batches_upsert_like_partial_ones(warehouse):
    """Batches carrying every column take DuckDB's delete+append path: same results."""
    def full(closes):
        t = bars(closes)
        return t.append_column("ingest_timestamp", pa.array([dt.datetime(2024, 3, 9, tzinfo=UTC)] * t.num_rows,
                                                           pa.timestamp("us", tz="UTC")))
    first = warehouse.merge(BARS, full([50.0, 51.0]))
    dup = pa.concat_tables([full([60.0, 61.0, 62.0]), full([70.0])])
    second = warehouse.merge(BARS, dup)
    assert (first.inserted, first.updated) == (2, 0)
    assert (second.inserted, second.updated, second.rows_merged) == (1, 2, 3)
    assert [r["close"] for r in snapshot(warehouse)] == [70.0, 61.0, 62.0]
    partial = warehouse.merge(BARS, bars([80.0]).drop_columns(["volume"]))
    assert partial.updated == 1
    row = snapshot(warehouse)[0]
    assert (row["close"], row["volume"]) == (80.0, 10)  # columns not in the batch keep their values


def _param_cases():
    import numpy as np
    import pandas as pd

    at = dt.datetime(2024, 3, 8, 14, 31, tzinfo=UTC)  # the second bar of `bars`
    return {
        # name: (value, predicate on the bars table that holds for exactly the second bar)
        "numpy date": (np.datetime64("2024-03-08"), "DATE(ts_event) = @v AND close = 51.0"),
        "numpy timestamp ns": (np.datetime64("2024-03-08T14:31:00.000000000"), "ts_event = @v"),
        "numpy timestamp us": (np.datetime64(at.replace(tzinfo=None), "us"), "ts_event = @v"),
        "pandas timestamp utc": (pd.Timestamp(at), "ts_event = @v"),
        "pandas timestamp naive": (pd.Timestamp("2024-03-08 14:31"), "ts_event = @v"),
        "numpy int64": (np.int64(1), "volume = 10 + @v"),
        "numpy int32": (np.int32(11), "volume = @v"),
        "numpy float64": (np.float64(51.0), "close = @v"),
        "numpy float32": (np.float32(51.0), "close = @v"),
        "numpy bool": (np.bool_(True), "(close = 51.0) = @v"),
        "numpy str": (np.str_("ZLK4"), "symbol = @v AND close = 51.0"),
        "arrow date": (pa.scalar(dt.date(2024, 3, 8)), "DATE(ts_event) = @v AND close = 51.0"),
        "arrow timestamp": (pa.scalar(at, pa.timestamp("us", tz="UTC")), "ts_event = @v"),
        "arrow int": (pa.scalar(11, pa.int64()), "volume = @v"),
        "arrow float": (pa.scalar(51.0), "close = @v"),
        "arrow string": (pa.scalar("ZLK4"), "symbol = @v AND close = 51.0"),
        "numpy int array": (np.array([11], dtype=np.int64), "volume IN UNNEST(@v)"),
    }


def test_parameters_of_any_type_through_query_and_merge(warehouse):
    """numpy, pandas and Arrow values go in as parameters (18.1), and a batch built of them
    merges: one conversion in the warehouse layer serves both engines."""
    import numpy as np
    import pandas as pd

    batch = pa.table({  # built the way the feeds build theirs: numpy and pandas columns
        "ts_event": pa.array(np.array(["2024-03-08T14:30", "2024-03-08T14:31"], dtype="datetime64[ns]")),
        "root": ["ZL", "ZL"], "symbol": np.array(["ZLK4", "ZLK4"]),
        "instrument_id": pa.array(np.array([42, 42], dtype=np.int32)),
        "open": pa.array(np.array([50.0, 51.0], dtype=np.float32)),
        "high": [50.1, 51.1], "low": [49.9, 50.9], "close": np.array([50.0, 51.0]),
        "volume": pa.array(np.array([10, 11], dtype=np.uint16)),
        "ingest_timestamp": pa.array(pd.to_datetime(["2024-03-09", "2024-03-09"], utc=True)),
    })
    assert warehouse.merge(BARS, batch).inserted == 2
    got_back = warehouse.query(f"SELECT ts_event, volume FROM {BARS} ORDER BY ts_event").to_pylist()
    assert [r["volume"] for r in got_back] == [10, 11]
    assert got_back[1]["ts_event"] == dt.datetime(2024, 3, 8, 14, 31, tzinfo=UTC)
    failures = {}
    for name, (value, predicate) in _param_cases().items():
        try:
            rows = warehouse.query(f"SELECT close FROM {BARS} WHERE {predicate}", {"v": value}).to_pylist()
        except Exception as exc:  # noqa: BLE001 - collected: one report names every type that fails
            failures[name] = f"{type(exc).__name__}: {exc}"
            continue
        if rows != [{"close": 51.0}]:
            failures[name] = f"rows {rows}"
    assert not failures, failures
    # the same values as parameters of a write (a merge's own range parameters are built from
    # the batch; a DELETE … WHERE with a numpy date is what the feeds send)
    warehouse.execute(f"DELETE FROM {BARS} WHERE DATE(ts_event) = @d AND volume = @n",
                      {"d": np.datetime64("2024-03-08"), "n": np.int64(10)})
    assert warehouse.query_rows(f"SELECT volume FROM {BARS} WHERE ts_event >= @t",
                                {"t": pd.Timestamp("2024-03-08", tz="UTC")}) == [{"volume": 11}]
    assert warehouse.scalar(f"SELECT COUNT(*) FROM {BARS} WHERE @t IS NULL", {"t": pd.NaT}) == 1
