"""Settings: documented, layered (cbi.toml < CBI_* < flags), secrets masked, clear errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cbi.cli import app
from cbi.config import Settings, get_settings, reset_settings_cache
from cbi.warehouse import WarehouseError, connect

runner = CliRunner()


def test_every_setting_has_a_description():
    missing = [n for n, f in Settings.model_fields.items() if not (f.description or "").strip()]
    assert missing == []


def test_toml_then_env_then_flags(tmp_path, monkeypatch):
    (tmp_path / "cbi.toml").write_text('stale_after_minutes = 11\ndashboard_port = 9001\nsandbox_seed = 3\n')
    reset_settings_cache()
    assert get_settings().stale_after_minutes == 11
    monkeypatch.setenv("CBI_STALE_AFTER_MINUTES", "22")
    reset_settings_cache()
    s = get_settings()
    assert (s.stale_after_minutes, s.dashboard_port) == (22, 9001)  # env over toml, toml kept
    flagged = get_settings(stale_after_minutes=33)
    assert (flagged.stale_after_minutes, flagged.dashboard_port, flagged.sandbox_seed) == (33, 9001, 3)


def test_cbi_config_masks_secrets(monkeypatch):
    monkeypatch.setenv("CBI_ALERT_WEBHOOK_URL", "https://hooks.slack.com/services/T000/B000/XXXXsecret")
    monkeypatch.setenv("CBI_FRED_BASE_URL", "https://api.stlouisfed.org?api_key=abcdef123456")
    reset_settings_cache()
    result = runner.invoke(app, ["config", "--json"])
    assert result.exit_code == 0, result.output
    assert "XXXXsecret" not in result.output and "abcdef123456" not in result.output
    values = json.loads(result.output)
    assert values["alert_webhook_url"] == "***" and values["fred_base_url"].endswith("api_key=***")


def test_unknown_warehouse_scheme_lists_the_supported_ones():
    with pytest.raises(WarehouseError, match=r"unknown warehouse scheme 'postgres'.*duckdb://, bigquery://"):
        connect("postgres://db/cbi")


def test_missing_bigquery_credentials_names_every_way_to_provide_them(monkeypatch, tmp_path):
    for var in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_APPLICATION_CREDENTIALS_BASE64",
                "GOOGLE_APPLICATION_CREDENTIALS_COLLECTOR", "GOOGLE_APPLICATION_CREDENTIALS_COLLECTOR_BASE64"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))  # no gcloud ADC file here
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")  # no metadata server either
    monkeypatch.setenv("GCE_METADATA_IP", "127.0.0.1:9")
    with pytest.raises(WarehouseError) as info:
        connect("bigquery://cbi-v14?location=us-central1")
    text = str(info.value)
    for name in ("Application Default Credentials", "GOOGLE_APPLICATION_CREDENTIALS",
                 "GOOGLE_APPLICATION_CREDENTIALS_BASE64"):
        assert name in text


def test_bad_base64_credentials_are_named(monkeypatch):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS_BASE64", "not base64!")
    with pytest.raises(WarehouseError, match="GOOGLE_APPLICATION_CREDENTIALS_BASE64 is not base64"):
        connect("bigquery://cbi-v14")


def test_retention_of_training_inputs_is_refused():
    with pytest.raises(ValueError, match="retention refused"):
        Settings(retention_days={"market_data.futures_ohlcv_1d": 30})


def test_bad_schedule_is_named_by_job():
    from cbi.ops.scheduler import effective_schedule

    with pytest.raises(ValueError, match="job 'news'"):
        effective_schedule(Settings(schedule={"news": "hourly-ish"}))


def test_an_unreachable_bigquery_endpoint_fails_fast_naming_it(monkeypatch):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once we leave: nothing listens there
    url = f"bigquery://cbi-v14?location=us-central1&endpoint=http://127.0.0.1:{port}"
    result = runner.invoke(app, ["-w", url, "init"])
    assert result.exit_code == 2 and result.stdout == ""
    assert f"cannot reach BigQuery at http://127.0.0.1:{port}" in result.stderr
    assert result.stderr.count("\n") == 1


def test_unknown_keys_get_a_did_you_mean_and_new_settings_are_documented(tmp_path):
    (tmp_path / "cbi.toml").write_text("\n[schedul]\nfred = \"every 2h\"\n")
    reset_settings_cache()
    from cbi.errors import SettingsError

    with pytest.raises(SettingsError, match=r"cbi.toml line 2: unknown setting 'schedul'; "
                                            r"did you mean 'schedule'\?"):
        get_settings()
    assert Settings.model_fields["cron_log_dir"].description
    assert Settings.model_fields["bigquery_connect_timeout_s"].description


def test_an_unknown_cbi_variable_is_refused_with_a_did_you_mean(monkeypatch):
    monkeypatch.setenv("CBI_ROOT", '["ZL"]')
    reset_settings_cache()
    result = runner.invoke(app, ["config", "--format", "json"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == ("error: environment CBI_ROOT: unknown setting; "
                             "did you mean CBI_ROOTS?\n")
    monkeypatch.delenv("CBI_ROOT")
    monkeypatch.setenv("CBI_NOTHING_LIKE_IT", "1")
    reset_settings_cache()
    result = runner.invoke(app, ["-v", "config"])
    assert result.exit_code == 2 and "`cbi config` lists the settings" in result.stderr
    assert "Traceback" in result.stderr  # -v: the traceback too


def test_variables_that_are_not_settings_are_on_one_allow_list(monkeypatch):
    """Every CBI_* name the code, the tests, the Makefile or CI use is a setting or on
    NOT_SETTINGS; those on it are accepted."""
    import re
    from pathlib import Path

    from cbi.config import NOT_SETTINGS, check_environment

    repo = Path(__file__).resolve().parents[1]
    here = Path(__file__).resolve()  # this file names unknown variables on purpose
    files = [*repo.joinpath("src").rglob("*.py"),
             *(p for p in repo.joinpath("tests").rglob("*.py") if p.resolve() != here),
             *repo.joinpath("bench").rglob("*.py"), repo / "Makefile",
             *(p for p in repo.joinpath(".ci").rglob("*") if p.is_file())]
    used = {m for f in files for m in re.findall(r"\bCBI_[A-Z][A-Z0-9_]*[A-Z0-9]\b",
                                                 f.read_text(errors="replace"))}
    from tests.feeds.example_feed.source import ExampleSettings

    # the test feed's settings are settings while it is registered (tests/feeds/test_registry.py)
    fields = [*Settings.model_fields, *ExampleSettings.model_fields]
    settings = {f"CBI_{name.upper()}" for name in fields}
    assert used - settings - set(NOT_SETTINGS) == set()
    assert {"CBI_TEST_NOW", "CBI_EMULATOR_PYTHON", "CBI_CONFIG"} <= set(NOT_SETTINGS)
    check_environment({name: "x" for name in NOT_SETTINGS})  # accepted: no error
