"""18.6: a command run by hand leaves its `ops.pipeline_runs` row and its query costs as a
scheduled job does (the BigQuery side: tests/test_real_data_bigquery.py)."""

from __future__ import annotations

from typer.testing import CliRunner

from cbi.cli import app
from cbi.warehouse import connect

runner = CliRunner()
BARS_CSV = "date,open,high,low,close,volume\n2024-03-04,50,51,49,50.5,100\n2024-03-05,50.5,52,50,51.5,120\n"


def _runs(url: str) -> list[dict]:
    with connect(url, read_only=True) as wh:
        return wh.query("SELECT job, status, error, details FROM ops.pipeline_runs "
                        "ORDER BY started_at").to_pylist()


def test_hand_run_commands_are_recorded_like_jobs(duckdb_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "zl.csv").write_text(BARS_CSV)
    assert runner.invoke(app, ["-w", duckdb_url, "init"]).exit_code == 0
    assert _runs(duckdb_url) == []  # init is not a pipeline command

    ok = runner.invoke(app, ["-w", duckdb_url, "ingest", "bars", "zl.csv", "--root", "ZL"])
    assert ok.exit_code == 0, ok.output
    (run,) = _runs(duckdb_url)
    assert (run["job"], run["status"], run["error"]) == ("ingest bars", "succeeded", None)
    assert '"by_hand": true' in run["details"]

    typo = runner.invoke(app, ["-w", duckdb_url, "ingest", "bars", "missing.csv", "--root", "ZL"])
    assert typo.exit_code == 2
    assert len(_runs(duckdb_url)) == 1  # refused as given: nothing ran, no run row

    # export (a read-only command) refused by the quality gates: a failed run and its alert
    failed = runner.invoke(app, ["-w", duckdb_url, "export", "--horizon", "1w"])
    assert failed.exit_code == 1, failed.output
    runs = {r["job"]: r for r in _runs(duckdb_url)}
    assert runs["export"]["status"] == "failed" and "quality gates" in runs["export"]["error"]
    with connect(duckdb_url, read_only=True) as wh:
        alerts = wh.query("SELECT kind, subject FROM ops.alerts WHERE resolved_at IS NULL").to_pylist()
    assert {"kind": "job_failed", "subject": "export"} in alerts
    status = runner.invoke(app, ["-w", duckdb_url, "status", "--format", "json"])
    assert status.exit_code == 1 and '"failed": ["export"]' in status.output

    # reads leave nothing
    assert runner.invoke(app, ["-w", duckdb_url, "query", "SELECT 1"]).exit_code == 0
    assert len(_runs(duckdb_url)) == 2
