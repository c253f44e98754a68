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
