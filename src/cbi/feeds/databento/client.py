"""Databento Historical over its official client: the key, the gateway, retries, the
available end, and one raw `get_range`.

Databento quirks answered here: `Historical(gateway=...)` rewrites http:// to https://
(`_plain_http`); the client never retries get_range (`_call` does, with tenacity); the last
minutes may be unavailable (422 data_end_after_available_end: `_fetch` caps the request).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable

import databento as db
import requests
from tenacity import Retrying, retry_if_exception, stop_after_attempt

from cbi.config import Settings
from cbi.secrets import feed_key, redact, sandbox_mode

UTC = dt.timezone.utc


class FeedError(RuntimeError):
    """A Databento request failed for good; the message is redacted and names the request."""



def api_key(settings: Settings) -> str:
    """The key to send: the stand-in's fake key in sandbox mode, else the stored one."""
    key = feed_key(settings, "DATABENTO_API_KEY")
    if not key:
        raise FeedError("no Databento API key: set DATABENTO_API_KEY (keychain or environment), "
                        "or run with sandbox = true")
    return key


def historical(settings: Settings) -> db.Historical:
    """The official client; a plain-http gateway (the sandbox) is kept plain."""
    gateway = settings.databento_gateway
    client = db.Historical(api_key(settings), gateway=gateway) if gateway else db.Historical(api_key(settings))
    if gateway and gateway.startswith("http://"):
        _plain_http(client, gateway.rstrip("/"))
    return client


def _plain_http(client: db.Historical, gateway: str) -> None:
    # databento's validate_gateway forces https; each endpoint group keeps its own base URL.
    rewritten = client.gateway
    for api in (client.batch, client.metadata, client.symbology, client.timeseries):
        api._base_url = api._base_url.replace(rewritten, gateway, 1)
        api._gateway = gateway
    client._gateway = gateway


def check_endpoints(settings: Settings, live: bool = False) -> None:
    """In sandbox mode the gateways must name stand-ins (a fake key never goes to Databento):
    `cbi.sandbox.session` starts them for the CLI, `cbi serve`, `cbi demo` and `cbi run`."""
    if not sandbox_mode(settings):
        return
    for name in ("databento_gateway",) + (("databento_live_gateway",) if live else ()):
        if not getattr(settings, name):
            raise FeedError(f"sandbox = true but {name} is unset (Databento's own): run it "
                            "through `cbi` (which starts the sandbox) or point it at a stand-in")


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, db.BentoClientError):
        return exc.http_status in (408, 429)
    return isinstance(exc, (db.BentoServerError, requests.RequestException, db.BentoError))


def _wait(settings: Settings) -> Callable[[Any], float]:
    def wait(state: Any) -> float:
        exc = state.outcome.exception()
        if isinstance(exc, db.BentoClientError) and exc.http_status == 429:
            return float((exc.headers or {}).get("Retry-After") or settings.databento_retry_wait_s)
        return settings.databento_retry_wait_s * 2 ** (state.attempt_number - 1)
    return wait


def _call(settings: Settings, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """429 waits for Retry-After; 5xx/timeouts/connection errors back off exponentially;
    other 4xx fail at once with the server's message."""
    retrying = Retrying(stop=stop_after_attempt(settings.databento_max_attempts),
                        wait=_wait(settings), retry=retry_if_exception(_transient), reraise=True)
    try:
        return retrying(fn, *args, **kwargs)
    except db.BentoError as exc:
        tries = f" after {settings.databento_max_attempts} attempts" if _transient(exc) else ""
        raise FeedError(redact(f"databento {what} failed{tries}: {exc}")) from None
    except requests.RequestException as exc:
        raise FeedError(redact(f"databento {what} failed after "
                               f"{settings.databento_max_attempts} attempts: {exc}")) from None


def available_end(client: db.Historical, settings: Settings, schema: str = "ohlcv-1m") -> dt.datetime:
    answer = _call(settings, "metadata.get_dataset_range",
                   client.metadata.get_dataset_range, settings.databento_dataset)
    end = (answer.get("schema") or {}).get(schema, {}).get("end") or answer["end"]
    return _utc(end)


def _utc(value: Any) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _fetch(client: db.Historical, settings: Settings, root: str, schema: str,
           start: dt.datetime, end: dt.datetime) -> tuple[bytes | None, str, dt.datetime]:
    """The raw DBN of one request (None when nothing is available yet), its name, and the end
    it really covers (the available end may have moved back under us: the request is capped)."""
    what = f"get_range {root}.FUT {schema} [{start.isoformat()}, {end.isoformat()})"
    try:
        store = _call(settings, what, client.timeseries.get_range, dataset=settings.databento_dataset,
                      symbols=[f"{root}.FUT"], schema=schema, stype_in="parent", start=start, end=end)
    except FeedError as exc:
        if "data_end_after_available_end" not in str(exc):
            raise
        capped = available_end(client, settings)  # the end moved back under us: ask again
        if capped <= start:
            return None, what, start
        return _fetch(client, settings, root, schema, start, min(end, capped))
    return store.reader.read(), what, end

def source_of(settings: Settings) -> str:
    """What rows fetched with these settings are: 'sandbox' (simulated) or 'databento'."""
    return "sandbox" if sandbox_mode(settings) else "databento"

