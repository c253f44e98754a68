"""Secrets: keychain first, environment fallback, never in logs, errors or URLs we log."""

from __future__ import annotations

import logging

import keyring
import pytest
from keyring.backend import KeyringBackend
from typer.testing import CliRunner

from cbi import secrets
from cbi.cli import app

runner = CliRunner()


class MemoryKeyring(KeyringBackend):
    priority = 1

    def __init__(self):
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.store.get((service, username))

    def set_password(self, service, username, password):
        self.store[(service, username)] = password

    def delete_password(self, service, username):
        if (service, username) not in self.store:
            from keyring.errors import PasswordDeleteError

            raise PasswordDeleteError(username)
        del self.store[(service, username)]


@pytest.fixture
def memory_keyring():
    before = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(before)


def test_keychain_wins_over_the_environment(memory_keyring, monkeypatch):
    monkeypatch.setenv("FRED_API_KEY", "from-env-1234")
    assert secrets.get_secret("FRED_API_KEY") == "from-env-1234"
    secrets.set_secret("FRED_API_KEY", "from-keychain-5678")
    assert secrets.get_secret("FRED_API_KEY") == "from-keychain-5678"
    assert secrets.delete_secret("FRED_API_KEY")
    assert secrets.get_secret("FRED_API_KEY") == "from-env-1234"


def test_without_a_keychain_setting_a_secret_says_use_the_environment():
    result = runner.invoke(app, ["secrets", "set", "NEWSAPI_KEY", "--value", "abc12345"])
    assert result.exit_code == 2
    assert "NEWSAPI_KEY" in result.output and "abc12345" not in result.output


def test_secrets_commands_round_trip_and_mask(memory_keyring):
    assert runner.invoke(app, ["secrets", "set", "DATABENTO_API_KEY", "--value", "db-abcdefgh12345"]).exit_code == 0
    got = runner.invoke(app, ["secrets", "get", "DATABENTO_API_KEY"])
    assert got.exit_code == 0 and "db-abcdefgh12345" not in got.output and "keychain" in got.output
    assert "db-abcdefgh12345" in runner.invoke(app, ["secrets", "get", "DATABENTO_API_KEY", "--show"]).output
    assert runner.invoke(app, ["secrets", "delete", "DATABENTO_API_KEY"]).exit_code == 0
    assert runner.invoke(app, ["secrets", "get", "DATABENTO_API_KEY"]).exit_code == 1


def test_a_configured_secret_never_appears_in_captured_logs(monkeypatch, caplog):
    monkeypatch.setenv("NEWSAPI_KEY", "n3wsap1-s3cr3t-value")
    key = secrets.get_secret("NEWSAPI_KEY")
    caplog.set_level(logging.DEBUG)
    caplog.handler.addFilter(secrets.RedactingFilter())
    log = logging.getLogger("cbi.feeds.news")
    log.info("GET https://newsapi.org/v2/everything?q=soy&apiKey=%s", key)
    log.warning("X-Api-Key: %s rejected", key)
    try:
        raise RuntimeError(f"401 for key {key}")
    except RuntimeError:
        log.exception("request failed")
    assert key not in caplog.text
    assert "apiKey=***" in caplog.text


def test_redact_masks_patterns_even_for_unseen_values():
    text = secrets.redact("https://api.stlouisfed.org/fred/series?series_id=DFF&api_key=0123456789abcdef db-ABCDEFGH1234")
    assert "0123456789abcdef" not in text and "ABCDEFGH1234" not in text


# ---- redaction by value, in every encoding -------------------------------------------------------
def _forms(key: str) -> dict[str, str]:
    import base64
    from urllib.parse import quote, quote_plus

    return {"raw": key, "url-encoded": quote(key, safe=""), "form-encoded": quote_plus(key),
            "basic key:": base64.b64encode(f"{key}:".encode()).decode(),
            "basic bare": base64.b64encode(key.encode()).decode(),
            "basic url-safe": base64.urlsafe_b64encode(f"{key}:".encode()).decode().rstrip("=")}


def test_every_encoding_of_a_known_secret_is_redacted():
    key = "db-Qx7/Lm+9Kp=Zr2Vb"
    secrets.remember(key)
    for name, form in _forms(key).items():
        assert form not in secrets.redact(f"sent {form} and Basic {form}"), name
    assert secrets.redact("Authorization: Basic ZGItc29tZXRoaW5nOg==") == "Authorization: Basic ***"
    assert secrets.redact("Bearer abcdefghijklmnop used") == "Bearer *** used"


def test_url_settings_have_their_passwords_masked(monkeypatch):
    from cbi.config import reset_settings_cache

    monkeypatch.setenv("CBI_FRED_BASE_URL", "https://fred-user:hunter2-pass@proxy.example:8443/fred")
    monkeypatch.setenv("CBI_NEWS_QUERIES", '["x"]')
    reset_settings_cache()
    result = runner.invoke(app, ["config", "--format", "json"])
    assert result.exit_code == 0, result.output
    import json

    values = json.loads(result.stdout)
    assert "hunter2-pass" not in result.output
    assert values["fred_base_url"] == "https://fred-user:***@proxy.example:8443/fred"
    table = runner.invoke(app, ["config"])
    assert table.exit_code == 0 and "hunter2-pass" not in table.output


def test_a_failing_authenticated_request_leaks_the_key_nowhere(tmp_path, monkeypatch):
    """Logs, run rows, alerts, webhook bodies and the CLI's own output, in every encoding."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from cbi.config import Settings
    from cbi.ops.runs import JobFailed, run_job
    from cbi.warehouse import connect

    key = "db-Wq4/Tn+8Hs=Yx1Ka"
    monkeypatch.setenv("DATABENTO_API_KEY", key)
    received: list[str] = []

    class Server(BaseHTTPRequestHandler):
        def do_GET(self):  # refuses, echoing what it was sent (some proxies do)
            body = f"bad credentials {self.headers.get('Authorization')} for {self.path}".encode()
            self.send_response(401)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):  # the alert webhook
            received.append(self.rfile.read(int(self.headers["Content-Length"])).decode())
            self.send_response(200)
            self.end_headers()

        def log_message(self, *a):
            pass

    server = HTTPServer(("127.0.0.1", 0), Server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    log_file = tmp_path / "cbi.log"
    handler = logging.FileHandler(log_file)
    logging.getLogger().addHandler(handler)
    old_level = logging.getLogger().level
    logging.getLogger().setLevel(logging.INFO)
    secrets.install_log_redaction()
    extra = {"auth_fails": "tests.ops.jobs_for_tests:authenticated_failure"}
    settings = Settings(warehouse=f"duckdb:///{tmp_path}/cbi.duckdb", extra_jobs=extra,
                        alert_webhook_url=f"{base}/hook")
    try:
        with connect(settings=settings) as wh:
            wh.init()
            try:
                run_job(wh, settings, "auth_fails", url=f"{base}/v0/timeseries.get_range")
            except JobFailed as exc:
                failure = str(exc)
            else:
                raise AssertionError("the request should have failed")
            runs = json.dumps(wh.query("SELECT * FROM ops.pipeline_runs").to_pylist(), default=str)
            alert_rows = json.dumps(wh.query("SELECT * FROM ops.alerts").to_pylist(), default=str)
        monkeypatch.setenv("CBI_EXTRA_JOBS", json.dumps(extra))
        monkeypatch.setenv("CBI_WAREHOUSE", settings.warehouse)
        from cbi.config import reset_settings_cache

        reset_settings_cache()
        cli = runner.invoke(app, ["job", "auth_fails", "-o", f"url={base}/v0/x"])
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(old_level)
        handler.close()
        server.shutdown()
    assert "401" in failure and "bad credentials" in failure  # the error did come back
    assert cli.exit_code == 1 and "401" in cli.output
    places = {"log file": log_file.read_text(), "job error": failure, "run rows": runs,
              "alerts": alert_rows, "webhook": "\n".join(received), "cli": cli.output}
    assert received and "auth_fails" in places["webhook"] and "auth_fails" in alert_rows
    assert "Basic ***" in places["log file"]
    for place, text in places.items():
        for form_name, form in _forms(key).items():
            assert form not in text, f"{form_name} form of the key in the {place}"
