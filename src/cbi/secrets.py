"""API keys from the OS keychain (keyring), falling back to environment variables.

Secrets never reach logs or errors: `redact` masks every secret value this process has
read in every encoding it travels in (raw, URL-encoded, base64 as in HTTP Basic
authorization, where Databento sends `base64(key + ":")`), plus key-looking patterns
(FRED puts `api_key=` in its URLs, Databento keys start with `db-`, `Basic …`/`Bearer …`
credentials, passwords inside URLs), and `install_log_redaction` applies it to every log
record.
"""

from __future__ import annotations

import base64
import logging
import os
import re
from typing import Any, Protocol
from urllib.parse import quote, quote_plus

from cbi.errors import UsageError
from cbi.feeds import registry

SERVICE = "cbi"
#: Secret names users set; each falls back to the environment variable of the same name.
#: The feeds' keys come from their registry lines (`cbi.feeds.registry`).
KNOWN = (*registry.key_names(), "ALERT_WEBHOOK_URL")
#: The fixed fake key each feed sends in sandbox mode, and the only one its stand-in accepts
#: (defined once, in the feed registry; `cbi.sandbox` imports them from here).
SANDBOX_KEYS = registry.sandbox_keys()

_seen: set[str] = set()
#: Every masked form of every remembered secret, longest first (rebuilt on `remember`).
_forms: list[str] = []
_PATTERNS = [
    re.compile(r"(?i)(api_?key|apikey|token|key|password|passwd|secret)=([^&\s'\"]+)"),
    re.compile(r"(?i)(x-api-key:\s*|authorization:\s*(?:(?:bearer|basic|token)\s+)?)(\S+)"),
    re.compile(r"\bdb-[A-Za-z0-9]{8,}\b"),
    re.compile(r"(?i)\b(basic|bearer)(\s+)([A-Za-z0-9+/_.~-]{8,}=*)"),
    # user:password@ inside a URL (a DSN, a proxy, a webhook): the password goes
    re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/:@'\"]*):([^\s@/'\"]+)@"),
]


class SecretError(UsageError):
    pass


def _keyring():
    try:
        import keyring

        return keyring
    except Exception:  # pragma: no cover - keyring is a dependency; broken backends land here
        return None


def get_secret(name: str) -> str | None:
    """The secret from the keychain, else the environment; remembered for redaction."""
    value = None
    kr = _keyring()
    if kr is not None:
        try:
            value = kr.get_password(SERVICE, name)
        except Exception:
            value = None  # no usable keychain backend (headless Linux): fall back to env
    if not value:
        value = os.environ.get(name) or None
    if value:
        remember(value)
    return value


class SandboxSetting(Protocol):
    """What these functions read of `cbi.config.Settings`, typed by shape: `cbi.config`
    imports this module, so importing `Settings` back would be an import cycle."""

    @property
    def sandbox(self) -> bool | None: ...


def sandbox_mode(settings: SandboxSetting) -> bool:
    """The one test of sandbox mode (simulated data): `sandbox = true`, set by the demo, the
    tests or the user. A key's absence never decides: the live service's missing key is an
    error naming it. (Which stand-ins run is `cbi.sandbox.session`'s business.)"""
    return settings.sandbox is True


def feed_key(settings: SandboxSetting, name: str) -> str | None:
    """The key a feed sends: the stand-in's fake key in sandbox mode (a real key never goes
    to a stand-in), else the stored one; None when it is not set."""
    if sandbox_mode(settings):
        fake = registry.sandbox_keys()[name]
        remember(fake)
        return fake
    return get_secret(name)


def set_secret(name: str, value: str) -> None:
    kr = _keyring()
    if kr is None:
        raise SecretError("no keychain available; set the environment variable instead")
    try:
        kr.set_password(SERVICE, name, value)
        if kr.get_password(SERVICE, name) != value:  # the null/fail backends "succeed" silently
            raise RuntimeError("the keychain did not keep the value")
    except Exception as exc:
        raise SecretError(
            f"could not store {name} in the keychain ({type(exc).__name__}); "
            f"set the environment variable {name} instead"
        ) from None
    remember(value)


def delete_secret(name: str) -> bool:
    kr = _keyring()
    if kr is None:
        return False
    try:
        kr.delete_password(SERVICE, name)
        return True
    except Exception:
        return False


def encodings(value: str) -> set[str]:
    """The forms a secret travels in: raw, URL-encoded (path, query), and base64 as HTTP
    Basic authorization carries it (`key:` for a key as user name, `:key`, the bare key),
    standard and URL-safe alphabets, with and without padding."""
    forms = {value, quote(value, safe=""), quote_plus(value), quote(value)}
    for text in (value, f"{value}:", f":{value}"):
        raw = text.encode()
        for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
            token = encoded.decode()
            forms |= {token, token.rstrip("=")}
    return {f for f in forms if len(f) >= 4}


def remember(value: str) -> None:
    """Mask this value (in every encoding) wherever `redact` runs from now on."""
    global _forms
    if value and len(value) >= 4 and value not in _seen:
        _seen.add(value)
        _forms = sorted({f for v in _seen for f in encodings(v)}, key=len, reverse=True)


def redact(value: Any) -> Any:
    """Mask secrets in a string (other values pass through unchanged)."""
    if not isinstance(value, str):
        return value
    out = value
    for form in _forms:
        out = out.replace(form, "***")
    out = _PATTERNS[0].sub(lambda m: f"{m.group(1)}=***", out)
    out = _PATTERNS[1].sub(lambda m: f"{m.group(1)}***", out)
    out = _PATTERNS[2].sub("db-***", out)
    out = _PATTERNS[3].sub(lambda m: f"{m.group(1)}{m.group(2)}***", out)
    out = _PATTERNS[4].sub(lambda m: f"{m.group(1)}:***@", out)
    return out


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        if record.exc_info and not record.exc_text:
            # Formatters render exc_info only when exc_text is empty: render it here, redacted.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_log_redaction() -> None:
    """Attach the redacting filter to every handler of the root logger (idempotent)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
