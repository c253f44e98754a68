"""Jobs the ops tests schedule and send to a running owner (through `extra_jobs`)."""

from __future__ import annotations

import datetime as dt
import logging
import time

import pyarrow as pa

from cbi.ops.runs import STOPPING
from tests.builders import minute_bars

log = logging.getLogger(__name__)
BATCH = 50
UTC = dt.timezone.utc


def bars(batch: int, n: int = BATCH) -> pa.Table:
    """Batch `batch` of `n` one-minute bars, each batch after the one before."""
    start = dt.datetime(2024, 3, 4, 15, 0, tzinfo=UTC) + dt.timedelta(minutes=batch * n)
    return minute_bars([50.2] * n, start=start, instrument_id=1, volume=3, spread=0.5)


def slow_batches(wh, settings, batches: int = 20, pause: float = 0.3, **_) -> dict:
    """Writes whole batches with a pause before each; stops between batches on SIGTERM."""
    written = 0
    for b in range(int(batches)):
        if STOPPING.is_set():
            log.info("stopping after %d batches", b)
            break
        time.sleep(float(pause))
        written += wh.merge("market_data.databento_futures_ohlcv_1m", bars(b)).inserted
        log.info("batch %d written", b)
    return {"rows_read": written, "rows_written": written}


def failing(wh, settings, **_) -> dict:
    raise RuntimeError("upstream said no")


def writes_one(wh, settings, **_) -> dict:
    return {"rows_read": 1, "rows_written": 1}


def chatty(wh, settings, **_) -> dict:
    """Logs a line at DEBUG and one at INFO: which of them reach the caller is its -v/-q."""
    log.debug("chatty: a debug line")
    log.info("chatty: an info line")
    return {"rows_read": 0, "rows_written": 0}


def writes_none(wh, settings, **_) -> dict:
    return {"rows_read": 0, "rows_written": 0}


class QualityGateError(RuntimeError):
    """Named like cbi.export's: run_job files it as a quality_gate alert."""


def gate_fails(wh, settings, **_) -> dict:
    raise QualityGateError("gate 'no gaps' failed: 3 missing trading days")


def authenticated_failure(wh, settings, url: str = "", **_) -> dict:
    """A request authenticated the way Databento's client does it (HTTP Basic, the key as user
    name), plus the key in the query string, that the server refuses: the error and the log
    carry what came back (which echoes the credentials, as some servers and proxies do)."""
    import requests

    from cbi.secrets import get_secret

    key = get_secret("DATABENTO_API_KEY")
    resp = requests.get(url, params={"key": key}, auth=(key, ""), timeout=10)
    log.error("request %s failed: HTTP %s, sent %s", resp.url, resp.status_code,
              resp.request.headers.get("Authorization"))
    raise RuntimeError(f"HTTP {resp.status_code} for {resp.url}: {resp.text}")
