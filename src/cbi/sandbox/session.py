"""The one place that starts the sandbox: which stand-ins a run needs, started and stopped.

Whether sandbox mode is on is one setting, read by one function (`cbi.secrets.sandbox_mode`:
`sandbox = true`; keys never decide).

`sandbox_session(settings)` is entered by the edges only (the CLI for its feed commands,
`cbi serve`, `cbi demo` and `cbi run`): with `sandbox = true`, every feed endpoint still at
its live default gets a stand-in on 127.0.0.1, and the settings (and this process's CBI_*
environment, so commands run inside an owner and child processes agree) point at it until
the block ends. The feeds never start or import a stand-in: they read URLs from settings and
keys through `cbi.secrets.feed_key`, which hands them the fixed fake key in sandbox mode.
"""

from __future__ import annotations

import contextlib
import logging
import os
from importlib import import_module
from typing import Any, Iterator

from cbi.config import Settings, reset_settings_cache
from cbi.feeds import registry
from cbi.feeds.registry import StandIn
from cbi.secrets import sandbox_mode

log = logging.getLogger(__name__)

SIMULATED = "SIMULATED sandbox data, not market data"


def _unset(settings: Settings, stand_in: StandIn) -> bool:
    """The endpoint is still at its live default (unset or the live URL): nothing stands in."""
    value = getattr(settings, stand_in.setting)
    return not value or value == Settings.model_fields[stand_in.setting].default


def _address(stand_in: StandIn, server: Any) -> str:
    return f"{server.host}:{server.port}" if stand_in.address == "host:port" else server.url


def needed(settings: Settings, every: bool = False,
           feeds: tuple[str, ...] | None = None) -> tuple[StandIn, ...]:
    """The stand-ins these settings need started (none outside sandbox mode); `every`: all of
    them, whatever the endpoints say (the demo's data must all be simulated); `feeds`: only
    those of these feeds. The list comes from the feed registry (`cbi.feeds.registry`)."""
    if not sandbox_mode(settings):
        return ()
    names = {f.name for f in registry.FEEDS} if feeds is None else set(feeds)
    return tuple(s for f in registry.FEEDS if f.name in names for s in f.stand_ins
                 if every or _unset(settings, s))


@contextlib.contextmanager
def sandbox_session(settings: Settings, host: str = "127.0.0.1", every: bool = False,
                    quiet: bool = False, feeds: tuple[str, ...] | None = None) -> Iterator[Settings]:
    """The settings to run with: unchanged outside sandbox mode or when every endpoint is set;
    else with the missing stand-ins started (all or none) and stopped when the block ends.
    `quiet`: say so at debug level only (a command's output stays its own)."""
    wanted = needed(settings, every, feeds)
    if not wanted:
        yield settings
        return
    with contextlib.ExitStack() as stack:
        overrides = {}
        for stand_in in wanted:
            server = import_module(stand_in.module).start(
                seed=settings.sandbox_seed, host=host, port=0)
            stack.callback(_stop, stand_in.module, server)
            overrides[stand_in.setting] = _address(stand_in, server)
        log.log(logging.DEBUG if quiet else logging.INFO, "sandbox started (%s): %s", SIMULATED,
                 ", ".join(f"{k}={v}" for k, v in overrides.items()))
        stack.enter_context(_environment({f"CBI_{k.upper()}": v for k, v in overrides.items()}))
        yield settings.model_copy(update=overrides)


def _stop(name: str, server: Any) -> None:
    try:
        server.stop()
    except Exception:  # noqa: BLE001 - stopping the rest matters more
        log.exception("sandbox %s did not stop cleanly", name)


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """CBI_* variables set for the block (then restored), the settings cache reset around it:
    `get_settings()` in this process (a command forwarded to `cbi serve`) sees the stand-ins."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    reset_settings_cache()
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset_settings_cache()


def for_feed(name: str) -> contextlib.AbstractContextManager[Any]:
    """The CLI's session around a command's work on feed `name` (`cbi.console.feed_session`):
    that feed's stand-ins only, so a file import or a pipeline job starts nothing; none when
    a `cbi serve` announces itself for this warehouse (the command runs there, inside the
    owner's own session)."""
    from cbi.config import get_settings
    from cbi.ops.owner import owner_files

    settings = get_settings()
    if not needed(settings, feeds=(name,)):
        return contextlib.nullcontext()
    files = owner_files(settings)
    if files is not None and files.endpoint.exists():
        return contextlib.nullcontext()
    return sandbox_session(settings, quiet=True, feeds=(name,))
