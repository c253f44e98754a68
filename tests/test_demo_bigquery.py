"""The sandbox demo on BigQuery (18.2, 18.3).

`cbi demo` on a BigQuery warehouse builds its tables in the datasets the URL names
(`dataset_prefix=demo_`: `demo_market_data`…, beside the production datasets of the same
project, which it never touches), says where it wrote, and is refused when those datasets
hold data. The end-to-end case runs the demo with a short history (enough for the 1w and
1m horizons) on the emulator and on DuckDB and compares every table.

Cases on the emulator cannot freeze the clock in the past (tests/conftest.py: gRPC would
turn every timeout into a deadline already gone), so this one moves it to a fixed instant in
the future, where deadlines stay ahead of the real clock, and cuts the data there (Databento's
end and the news job's `now`): both runs read the same sandbox data whatever day it runs.
"""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
import time_machine

from cbi.errors import UsageError
from cbi.ops import demo
from cbi.warehouse import catalog, connect
from cbi.warehouse.bigquery import with_prefix
from tests.test_real_data_bigquery import COMPARED, _numeric_differences

#: The short history: ZL alone, hourly bars only, the 1w and 1m horizons with a 50-row first
#: training window (200 calendar days give 1m about 118 labelled rows; it needs 93).
SHORT = {"min_train_rows": 50, "roots": ["ZL"], "databento_minute_days": 0,
         "horizons": ["1w", "1m"], "cost_guard_bytes": 0}
DAYS = 200
#: The instant the case runs at (a Wednesday evening; see the module's docstring).
NOW = dt.datetime(2036, 1, 9, 22, 0, tzinfo=dt.timezone.utc)


def test_every_table_name_of_every_shipped_statement_takes_the_prefix():
    """No SQL file names a catalogue table the prefix would miss (the rewrite is the only
    place the prefix is applied); literals and comments are left as they are."""
    from importlib import resources

    known = {s.fqn for s in catalog.all_tables()}
    bare = re.compile(r"(?<![\w.])(" + "|".join(catalog.DATASETS) + r")\.(\w+)")
    files = [p for p in resources.files("cbi").rglob("*.sql")]
    assert len(files) > 20
    for path in files:
        sql = path.read_text().replace("{horizon}", "1w").replace("{surface}", "prod")
        rewritten = with_prefix(sql, "demo_")
        code = re.sub(r"--[^\n]*|'[^']*'", "", rewritten)
        left = [m.group(0) for m in bare.finditer(code) if m.group(0) in known]
        assert not left, f"{path.name}: {left} not prefixed"
    sql = ("-- the series' last\nSELECT 'market_data.futures_ohlcv_1d' AS t, T.close "
           "FROM market_data.futures_ohlcv_1d T JOIN `ops.feed_cursors` c ON TRUE")
    assert with_prefix(sql, "demo_") == sql.replace(
        "FROM market_data", "FROM demo_market_data").replace("`ops.", "`demo_ops.")
    assert with_prefix(sql, "") == sql


def _short_cycle(cutoff: dt.datetime):
    """The demo's first-cycle options, cut at `cutoff` (both runs read the same data)."""
    full = demo.backfill_options

    def options(days: int, today: dt.date | None = None) -> dict:
        out = full(days, cutoff.date())
        out["databento"]["end"] = cutoff.isoformat()
        out["news"]["now"] = cutoff
        return out

    return options


def _demo(folder, warehouse: str | None, lines: list[str]) -> demo.CycleReport:
    t0 = time.monotonic()
    report = demo.run_demo(folder, serve=False, days=DAYS, warehouse=warehouse,
                           echo=lines.append, settings_overrides=SHORT)
    print(f"demo on {'BigQuery' if warehouse else 'DuckDB'}: {time.monotonic() - t0:.1f}s")
    assert report.ok, "\n".join(lines)
    return report


@pytest.mark.bigquery
@pytest.mark.timeout(1200)
def test_short_demo_on_bigquery_with_a_prefix_matches_duckdb(_initialised_bigquery, tmp_path,
                                                               monkeypatch):
    with time_machine.travel(NOW, tick=True):
        _short_demos_match(_initialised_bigquery, tmp_path, monkeypatch)


def _short_demos_match(production: str, tmp_path, monkeypatch) -> None:
    cutoff = dt.datetime.combine(NOW.date(), dt.time(), dt.timezone.utc)
    monkeypatch.setattr(demo, "backfill_options", _short_cycle(cutoff))
    # `production` is the shared project: its own datasets stay as they are
    url = f"{production}&dataset_prefix=demo_"
    with connect(production, read_only=True) as wh:
        before = {fqn: wh.row_count(fqn) for fqn in demo.HELD}

    duck_lines: list[str] = []
    duck = _demo(tmp_path / "duckdb", None, duck_lines)
    lines: list[str] = []
    try:
        bq = _demo(tmp_path / "bigquery", url, lines)
        assert any(line.startswith(f"demo warehouse: {production.split('?')[0]} (datasets "
                                   "demo_market_data, demo_features, demo_training, "
                                   "demo_predictions, demo_ops)") for line in lines), lines
        assert any(f"cbi -w '{url}' serve" in line for line in lines), lines
        assert bq.skipped.keys() == duck.skipped.keys() == set()  # 1w and 1m trained

        t0 = time.monotonic()
        duck_url = f"duckdb:///{(tmp_path / 'duckdb').resolve()}/cbi.duckdb"
        counts = _counts(url)  # one round trip; then only the tables that hold rows are read
        duck_tables = _tables(duck_url)
        assert counts == {fqn: len(rows) for fqn, rows in duck_tables.items()}
        bq_tables = _tables(url, only={fqn for fqn, n in counts.items() if n})
        duck_tables = {fqn: rows for fqn, rows in duck_tables.items() if rows}
        print(f"tables read in {time.monotonic() - t0:.1f}s")
        for horizon in SHORT["horizons"]:  # forecasts of both horizons, whatever the table layout
            assert any(rows for fqn, rows in duck_tables.items()
                       if fqn.startswith("predictions.zl_predictions") and fqn.endswith(f"_{horizon}")), \
                f"the demo predicted nothing for {horizon}"
        problems = _numeric_differences(duck_tables, bq_tables)
        assert not problems, problems[:20]

        with connect(production, read_only=True) as wh:  # production datasets untouched
            assert {fqn: wh.row_count(fqn) for fqn in demo.HELD} == before
        with pytest.raises(UsageError, match=r"already holds data \(demo_market_data\."):
            demo.run_demo(tmp_path / "again", serve=False, days=DAYS, warehouse=url,
                          echo=lambda line: None, settings_overrides=SHORT)
    finally:
        _drop_prefixed(url)


def _compared() -> list:
    return [s for s in catalog.all_tables() if not s.is_view and s.dataset in COMPARED]


def _counts(url: str) -> dict[str, int]:
    """Rows of every compared table, in one statement (a round trip per table adds up)."""
    sql = " UNION ALL ".join(f"SELECT '{s.fqn}' AS t, COUNT(*) AS n FROM {s.fqn}" for s in _compared())
    with connect(url, read_only=True) as wh:
        return {r["t"]: r["n"] for r in wh.query(sql).to_pylist()}


def _tables(url: str, only: set[str] | None = None) -> dict[str, list[dict]]:
    out = {}
    with connect(url, read_only=True) as wh:
        for spec in _compared():
            if only is None or spec.fqn in only:
                order = ", ".join(f"`{k}`" for k in spec.key) or "1"
                out[spec.fqn] = wh.query(f"SELECT * FROM {spec.fqn} ORDER BY {order}").to_pylist()
    return out


def _drop_prefixed(url: str) -> None:
    """The demo's datasets leave the shared project (other cases never see them)."""
    with connect(url) as wh:
        for dataset in wh.datasets:
            wh.client.delete_dataset(f"{wh.project}.{dataset}", delete_contents=True,
                                     not_found_ok=True)
