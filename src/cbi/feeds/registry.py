"""Every outside feed, registered once: its job, the key it sends, and its sandbox stand-ins.

What is derived from here: the feed jobs of `cbi.jobs.JOBS`, the key names `cbi secrets`
knows (`cbi.secrets.KNOWN`) and the fixed fake keys of sandbox mode, the stand-ins
`cbi.sandbox.session` starts, and each feed's default schedule in `cbi serve` / `cbi cron`
(`cbi.ops.scheduler`). Adding a feed is a folder with its client, its `Source`
(`cbi.feeds.base`) and its job, plus one `Feed(...)` line in FEEDS (or `register(Feed(...))`
from a plug-in or a test). This module imports nothing of cbi: everyone
may read it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StandIn:
    """A sandbox server for a feed: `module.start(seed, host, port)` returns it; `setting` is
    the Settings field that points the feed at it, as its URL or as `host:port`."""

    module: str
    setting: str
    address: str = "url"  # "url" (server.url) or "host:port" (server.host, server.port)


@dataclass(frozen=True)
class Feed:
    name: str  # the job's name and the feed's name in ops.feed_cursors
    job: str  # "module:function", fn(wh, settings, **options) -> {"rows_read", "rows_written", ...}
    secret: str  # the key name (keychain, then the environment variable of that name)
    sandbox_key: str  # the fixed fake key sent in sandbox mode (the only one its stand-in takes)
    stand_ins: tuple[StandIn, ...] = ()
    #: the default schedule (`every 5m`, `cron MIN HOUR DOM MON DOW`, `off`; see
    #: `cbi.ops.scheduler`), overridable per job in settings (`schedule`)
    schedule: str = "off"


FEEDS: list[Feed] = [
    Feed("databento", "cbi.feeds.databento:poll_job", "DATABENTO_API_KEY",
         "db-" + "SandboxKeyForLocalTesting0000",  # split so key scanners pass
         (StandIn("cbi.sandbox.databento_http", "databento_gateway"),
          StandIn("cbi.sandbox.databento_live", "databento_live_gateway", "host:port")),
         schedule="every 5m"),  # only when live is off; the Live stream replaces it
    Feed("fred", "cbi.feeds.fred:fred_job", "FRED_API_KEY",
         "0123456789abcdef0123456789abcdef",  # 32 lowercase hex characters, like a real key
         (StandIn("cbi.sandbox.fred", "fred_base_url"),), schedule="every 1h"),
    Feed("news", "cbi.feeds.news:news_job", "NEWSAPI_KEY", "sandbox0newsapi0key0000000000000",
         (StandIn("cbi.sandbox.news", "news_base_url"),),
         schedule="every 30m"),  # 48 requests a day per query: inside NewsAPI's 100
]


def register(feed: Feed) -> Feed:
    """Add a feed (or replace the one of the same name)."""
    FEEDS[:] = [f for f in FEEDS if f.name != feed.name] + [feed]
    return feed


def unregister(name: str) -> None:
    FEEDS[:] = [f for f in FEEDS if f.name != name]


def feed(name: str) -> Feed:
    for f in FEEDS:
        if f.name == name:
            return f
    raise KeyError(f"unknown feed {name!r}; feeds: {', '.join(f.name for f in FEEDS)}")


def feed_jobs() -> dict[str, str]:
    """job name -> "module:function" of every feed."""
    return {f.name: f.job for f in FEEDS}


def schedules() -> dict[str, str]:
    """job name -> default schedule of every feed."""
    return {f.name: f.schedule for f in FEEDS}


def key_names() -> tuple[str, ...]:
    return tuple(f.secret for f in FEEDS)


def sandbox_keys() -> dict[str, str]:
    """key name -> the fake key sandbox mode sends."""
    return {f.secret: f.sandbox_key for f in FEEDS}


def stand_ins() -> tuple[StandIn, ...]:
    return tuple(s for f in FEEDS for s in f.stand_ins)
