"""`cbi run`'s cycle and `cbi demo`: end to end on the sandbox, then the dashboard serves
forecasts for all five horizons."""

from __future__ import annotations

import importlib.util

from cbi.config import HORIZONS
from cbi.ops.demo import CYCLE, backfill_options, demo_settings, run_cycle, run_demo
from tests.conftest import require


def test_a_failed_chain_step_skips_the_rest_but_not_the_other_feeds():
    ran: list[str] = []

    def run(job, options):
        ran.append(job)
        if job in ("fred", "export"):
            raise RuntimeError(f"{job} broke")
        return {"rows_read": 1, "rows_written": 1}

    lines: list[str] = []
    report = run_cycle(run, {}, lines.append)
    assert ran == ["databento", "fred", "news", "features", "export"]
    status = {s["job"]: s["status"] for s in report.steps}
    assert status == {"databento": "succeeded", "fred": "failed", "news": "succeeded",
                      "features": "succeeded", "export": "failed", "train": "skipped",
                      "predict": "skipped"}
    assert not report.ok and any("fred broke" in line for line in lines)


def test_backfill_reaches_two_years_back():
    import datetime as dt

    options = backfill_options(730, dt.date(2026, 3, 2))
    assert options["databento"]["start"] == "2024-03-02"
    assert set(options) <= set(CYCLE)


def test_demo_settings_keep_everything_in_the_folder(tmp_path):
    s = demo_settings(tmp_path, dashboard_port=9999)
    assert s.warehouse == f"duckdb:///{tmp_path.resolve()}/cbi.duckdb" and s.sandbox is True
    assert str(s.export_dir).startswith(str(tmp_path.resolve())) and s.dashboard_port == 9999


def test_demo_no_serve_on_a_fresh_folder_then_the_dashboard_serves_every_horizon(tmp_path):
    parts = ["cbi.sandbox.databento_live", "cbi.feeds.databento", "cbi.transform.features",
             "cbi.export", "cbi.models.train", "cbi.predict", "cbi.dashboard.app"]
    missing = [p for p in parts if importlib.util.find_spec(p) is None]
    require(not missing, f"pipeline parts not present yet: {missing}")
    folder = tmp_path / "demo"
    lines: list[str] = []
    report = run_demo(folder, serve=False, echo=lines.append)
    assert report.ok, "\n".join(lines)
    assert [s["job"] for s in report.steps] == list(CYCLE)
    assert any("SIMULATED" in line for line in lines)

    from fastapi.testclient import TestClient

    from cbi.dashboard.app import create_app

    settings = demo_settings(folder)
    with TestClient(create_app(settings)) as client:
        for horizon in HORIZONS:
            body = client.get(f"/api/forecast/{horizon}").json()
            assert body["rows"], f"no forecasts for {horizon}: {body}"
            assert body["simulated"] is True
    _the_normal_cycle_runs_after_the_demo(folder)


def _the_normal_cycle_runs_after_the_demo(folder):
    """Issue 12: `cbi run` in the demo folder right after the demo, with nothing hidden."""
    import os

    from typer.testing import CliRunner

    from cbi.cli import app
    from cbi.config import reset_settings_cache

    assert "sandbox = true" in (folder / "cbi.toml").read_text()
    before, config = os.getcwd(), os.environ.get("CBI_CONFIG")
    os.chdir(folder)
    os.environ["CBI_CONFIG"] = str(folder / "cbi.toml")
    reset_settings_cache()
    try:
        result = CliRunner().invoke(app, ["run"])
    finally:
        os.chdir(before)
        os.environ["CBI_CONFIG"] = config or ""
        reset_settings_cache()
    assert result.exit_code == 0, result.output


def test_cbi_run_does_one_cycle_with_its_run_log(duckdb_url, monkeypatch):
    from typer.testing import CliRunner

    from cbi import jobs
    from cbi.cli import app
    from cbi.warehouse import connect

    for name in CYCLE:
        monkeypatch.setitem(jobs.JOBS, name, "tests.ops.jobs_for_tests:writes_one")
    monkeypatch.setenv("CBI_SANDBOX", "false")
    result = CliRunner().invoke(app, ["-w", duckdb_url, "run"])
    assert result.exit_code == 0, result.output
    with connect(duckdb_url, read_only=True) as wh:
        done = wh.query("SELECT job FROM ops.pipeline_runs WHERE status = 'succeeded'")
    assert sorted(done.column("job").to_pylist()) == sorted([*CYCLE, "retention"])


def test_demo_uses_the_configured_warehouse_and_never_clobbers_one_with_data(warehouse, tmp_path,
                                                                          monkeypatch):
    """18.2: `cbi -w URL demo` builds in that warehouse (BigQuery too) and says where; a
    warehouse holding data is refused without --yes, nothing changed."""
    import datetime as dt

    import pyarrow as pa
    from typer.testing import CliRunner

    from cbi.cli import app
    from cbi.ops import demo

    ran: list[str] = []

    def fake_cycle(run, options, echo, jobs=CYCLE):  # the pipeline itself is tested above
        ran.append("cycle")
        return demo.CycleReport()

    monkeypatch.setattr(demo, "run_cycle", fake_cycle)
    monkeypatch.chdir(tmp_path)
    url = warehouse.url
    if warehouse.engine == "duckdb":
        warehouse.close()  # DuckDB: one process holds the file
    runner = CliRunner()
    folder = ["--folder", str(tmp_path / "d")]
    if warehouse.engine == "duckdb":  # on the emulator each demo run's init costs ~15 s
        said = runner.invoke(app, ["-w", url, "demo", "--no-serve", *folder])
        assert said.exit_code == 0, said.output
        assert f"demo warehouse: {url.split('?')[0]}" in said.output and ran == ["cycle"]
        ran.clear()

    from cbi.warehouse import connect

    with connect(url) as wh:
        wh.merge("market_data.futures_ohlcv_1d", pa.table({
            "date": [dt.date(2024, 3, 8)], "root": ["ZL"], "symbol": ["ZLK4"], "close": [50.0]}))
    refused = runner.invoke(app, ["-w", url, "demo", "--no-serve", *folder])
    assert refused.exit_code == 2, refused.output
    assert "already holds data" in refused.output and "market_data.futures_ohlcv_1d (1 rows)" in refused.output
    assert ran == []  # refused before anything ran
    forced = runner.invoke(app, ["-w", url, "demo", "--no-serve", "--yes", *folder])
    assert forced.exit_code == 0, forced.output
    assert f"demo warehouse: {url.split('?')[0]}" in forced.output and ran == ["cycle"]
    assert not (tmp_path / "d" / "cbi.duckdb").exists()  # nothing built beside it
