"""Shared by the Databento tests: sandbox servers on one simulated clock, fast settings."""

from __future__ import annotations

import datetime as dt

from cbi.config import Settings
from cbi.sandbox import databento_http, databento_live
from cbi.sandbox.databento_data import SimClock

UTC = dt.timezone.utc
#: A Wednesday 15:00 UTC (10:00 CDT, days after the March DST change): the market is open.
OPEN_MARKET = dt.datetime(2025, 3, 12, 15, 0, tzinfo=UTC)


def settings_for(http, live=None, **extra) -> Settings:
    values = dict(sandbox=True, databento_gateway=http.url, databento_retry_wait_s=0.01,
                  databento_minute_days=2, databento_live_flush_s=0.2)
    if live is not None:
        values["databento_live_gateway"] = f"{live.host}:{live.port}"
    return Settings(**{**values, **extra})


def start_pair(speed: float = 1.0, **live_faults):
    clock = SimClock(OPEN_MARKET, speed)
    return clock, databento_http.start(clock=clock), databento_live.start(clock=clock, **live_faults)
