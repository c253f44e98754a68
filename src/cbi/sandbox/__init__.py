"""Local stand-ins for Databento (Historical HTTP and Live TCP), FRED and NewsAPI.

They serve generated, SIMULATED data on 127.0.0.1 and are driven through the real client
libraries. `start_all(seed)` starts all four and returns the settings that point the feeds
at them; `stop()` (or leaving the `with` block) stops them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

log = logging.getLogger(__name__)

SIMULATED = "SIMULATED sandbox data, not market data"
#: Settings name -> the sandbox server that stands in for it.
SERVERS = ("databento_http", "databento_live", "fred", "news")
KEY_NAMES = ("DATABENTO_API_KEY", "FRED_API_KEY", "NEWSAPI_KEY")


@dataclass
class Sandbox:
    servers: dict[str, Any] = field(default_factory=dict)

    def settings_overrides(self) -> dict[str, Any]:
        """What to give `Settings(...)` so every feed talks to the sandbox."""
        live = self.servers["databento_live"]
        return {
            "sandbox": True,
            "databento_gateway": self.servers["databento_http"].url,
            "databento_live_gateway": f"{live.host}:{live.port}",
            "fred_base_url": self.servers["fred"].url,
            "news_base_url": self.servers["news"].url,
        }

    def stop(self) -> None:
        for name, server in reversed(list(self.servers.items())):
            try:
                server.stop()
            except Exception:  # noqa: BLE001 - stopping the rest matters more
                log.exception("sandbox %s did not stop cleanly", name)
        self.servers.clear()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_all(seed: int = 7, host: str = "127.0.0.1") -> Sandbox:
    """Start the four stand-ins on free ports; all or none (a failure stops those started)."""
    sandbox = Sandbox()
    try:
        for name in SERVERS:
            module = import_module(f"cbi.sandbox.{name}")
            sandbox.servers[name] = module.start(seed=seed, host=host, port=0)
    except BaseException:
        sandbox.stop()
        raise
    log.info("sandbox started (%s): %s", SIMULATED,
             ", ".join(f"{k}={v}" for k, v in sandbox.settings_overrides().items() if k != "sandbox"))
    return sandbox


def wanted(settings) -> bool:
    """Sandbox on only when asked for (`sandbox = true`); keys or their absence never decide."""
    from cbi.feeds.base import use_sandbox

    return use_sandbox(settings)


def needs_servers(settings) -> bool:
    """Sandbox wanted but no endpoint points at a running one: start our own."""
    return wanted(settings) and not settings.databento_gateway
