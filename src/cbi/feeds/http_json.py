"""GET JSON from a metered HTTP API with backoff (FRED and NewsAPI share this).

Retried: 429 (honouring Retry-After), 5xx, timeouts and connection errors, and a 200 whose
body is not JSON (a cut-off answer). Anything else raises at once with the API's own message.
Every URL in a log line or an error is redacted (FRED carries its key in `api_key=`).
"""

from __future__ import annotations

import logging
from typing import Any, Callable

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from cbi.secrets import redact

log = logging.getLogger(__name__)

MAX_RETRY_AFTER_S = 120.0


class FeedHTTPError(RuntimeError):
    """An API refused or failed; `status` is the HTTP status (0: no answer), `code` the API's."""

    def __init__(self, message: str, status: int = 0, code: str | None = None,
                 body: Any = None) -> None:
        super().__init__(redact(message))
        self.status, self.code, self.body = status, code, body


class TransientError(FeedHTTPError):
    """Worth retrying; `retry_after` (seconds) when the server said so."""

    retry_after: float | None = None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return min(float(value), MAX_RETRY_AFTER_S) if value is not None else None
    except ValueError:
        return None  # an HTTP-date: fall back to exponential backoff


class JsonClient:
    """One httpx client for one API: `get(path, params) -> dict` with retries."""

    def __init__(self, base_url: str, *, error_message: Callable[[int, Any, str], str],
                 error_class: type[FeedHTTPError] = FeedHTTPError,
                 code_of: Callable[[Any], str | None] = lambda body: None,
                 headers: dict[str, str] | None = None, attempts: int = 6,
                 backoff_s: float = 1.0, timeout_s: float = 30.0) -> None:
        self._http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_s)
        self.error_message, self.error_class, self.code_of = error_message, error_class, code_of
        self.attempts, self.backoff_s = attempts, backoff_s
        self.last_status = 0

    def get(self, path: str, params: dict[str, Any],
            on_response: Callable[[int], None] | None = None,
            before_request: Callable[[], None] | None = None) -> dict:
        """`before_request` runs before every attempt (a budget may refuse it by raising);
        `on_response` sees every attempt's status (so retries are counted too)."""
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts), retry=retry_if_exception_type(TransientError),
            wait=self._wait, reraise=True, before_sleep=self._log_retry,
        )
        try:
            return retrying(self._get_once, path, params, on_response, before_request)
        except TransientError as exc:  # out of attempts: the API's own error type and message
            raise self.error_class(f"{exc} (gave up after {self.attempts} attempts)",
                                   exc.status, exc.code, exc.body) from None

    def _wait(self, state) -> float:
        exc = state.outcome.exception()
        after = getattr(exc, "retry_after", None)
        if after is not None:
            return after
        return wait_exponential(multiplier=self.backoff_s, max=60)(state)

    @staticmethod
    def _log_retry(state) -> None:
        log.warning("retrying after: %s", redact(str(state.outcome.exception())))

    def _get_once(self, path: str, params: dict[str, Any], on_response, before_request) -> dict:
        url = redact(f"{self._http.base_url}{path}")
        if before_request is not None:
            before_request()
        try:
            response = self._http.get(path, params=params)
        except httpx.TransportError as exc:  # timeouts, refused connections
            raise TransientError(f"no answer from {url}: {type(exc).__name__}: {exc}") from None
        self.last_status = response.status_code
        if on_response is not None:
            on_response(response.status_code)
        body = self._json(response)
        if response.status_code == 429 or response.status_code >= 500:
            err = TransientError(self.error_message(response.status_code, body, url),
                                 response.status_code, self.code_of(body), body)
            err.retry_after = _retry_after(response)
            raise err
        if response.status_code >= 400:
            raise self.error_class(self.error_message(response.status_code, body, url),
                                   response.status_code, self.code_of(body), body)
        if not isinstance(body, dict):
            raise TransientError(f"malformed JSON from {url} (HTTP {response.status_code})",
                                 response.status_code)
        return body

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            return None

    def close(self) -> None:
        self._http.close()
