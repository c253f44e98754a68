"""Every outside feed, registered once: its job, the key it sends, its settings, its
commands and its sandbox stand-ins.

What is derived from here: the feed jobs of `cbi.jobs.JOBS`, the key names `cbi secrets`
knows (`cbi.secrets.KNOWN`) and the fixed fake keys of sandbox mode, the feeds' fields of
`cbi.config.Settings` (`CBI_*` names, `cbi.toml` keys, `cbi config`), the feeds' commands
(`cbi ingest ...`, mounted by `cbi.feeds.commands`), the stand-ins `cbi.sandbox.session`
starts, and each feed's default schedule in `cbi serve` / `cbi cron` (`cbi.ops.scheduler`).
Adding a feed is a folder with its client, its `Source` (`cbi.feeds.base`) and its job, plus
one `Feed(...)` line in FEEDS (or `register(Feed(...))` from a plug-in or a test). This module
imports nothing of cbi (pydantic only, for the settings models): everyone may read it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field
from pydantic.fields import FieldInfo


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
    #: the feed's own settings: a pydantic model whose fields become fields of
    #: `cbi.config.Settings` under the same names (prefix them with the feed's name)
    settings: type[BaseModel] | None = None
    #: "module:function" adding the feed's commands: fn(app, ingest_app), where `ingest_app`
    #: is the shared `cbi ingest` group
    commands: str | None = None


def _series_ids(value: list[str]) -> list[str]:
    bad = [s for s in value if not isinstance(s, str) or not re.fullmatch(r"[A-Z0-9_]{1,40}", s)]
    if bad:
        raise ValueError(f"series id(s) {bad}: a FRED series id is upper-case letters, digits "
                         "and '_', like DGS10")
    return value


class DatabentoSettings(BaseModel):
    databento_dataset: str = Field("GLBX.MDP3", description="Databento dataset.")
    databento_gateway: str | None = Field(
        None, description="Databento Historical gateway URL; unset = Databento's own."
    )
    databento_live_gateway: str | None = Field(
        None, description="Databento Live gateway host[:port]; unset = Databento's own."
    )
    databento_minute_days: int = Field(
        3, description="Databento backfills: days of 1-minute bars before the end; older "
        "history comes as ohlcv-1h bars rolled up to daily bars by CME trading date.",
    )
    max_backfill_cost_usd: float | None = Field(
        25.0, description="Databento: a backfill whose cost (metadata.get_cost, quoted and printed "
        "before any data is fetched) is above this many USD is refused; null = no cap.",
    )
    databento_settlements: bool = Field(
        True, description="Databento: also fetch CME settlement prices (statistics schema) with "
        "every poll; daily bars then close at the settlement (close_source = 'settlement').",
    )
    databento_max_attempts: int = Field(
        5, description="Databento: attempts per request on 429, 5xx and connection errors."
    )
    databento_retry_wait_s: float = Field(
        1.0, description="Databento: first backoff wait in seconds (doubles each retry)."
    )
    databento_live_flush_s: float = Field(
        1.0, description="Databento Live: seconds between flushes of buffered bars."
    )


class FredSettings(BaseModel):
    fred_base_url: str = Field("https://api.stlouisfed.org", description="FRED API base URL.")
    fred_series: Annotated[list[str], AfterValidator(_series_ids)] = Field(
        default_factory=lambda: ["DFF", "VIXCLS", "DGS10", "DTWEXBGS", "DCOILWTICO"],
        description="FRED series ids to collect, with every vintage.",
    )
    fred_publication_lag_days: dict[str, int] = Field(
        default_factory=lambda: {"default": 1},
        description="Business days between an observation date and its publication, per series "
        "('default' for the rest); sets realtime_start for CSV files, which carry no vintage.",
    )
    fred_weekly_release: dict[str, str] = Field(
        default_factory=lambda: {"DTWEXBGS": "TUE", "DCOILWTICO": "THU"},
        description="Series published weekly for the week before, by series: the weekday (MON…FRI) "
        "after an observation's week on which it is first known at the close (H.10's broad dollar "
        "index: Monday afternoon, so Tuesday; EIA's WTI spot: Wednesday, so Thursday). Overrides "
        "fred_publication_lag_days for CSV files.",
    )
    fred_revision_lookback_days: int = Field(
        400,
        description="FRED incremental runs re-read every vintage of observations this many days "
        "before the watermark, so late revisions are caught (a full refresh reads all history).",
    )


class NewsSettings(BaseModel):
    news_base_url: str = Field("https://newsapi.org", description="NewsAPI base URL.")
    news_queries: list[str] = Field(
        default_factory=lambda: ["soybean oil OR ZL futures"],
        description="NewsAPI /v2/everything queries.",
    )
    news_daily_request_budget: int = Field(
        100, description="NewsAPI requests allowed per day (developer plan: 100)."
    )


FEEDS: list[Feed] = [
    Feed("databento", "cbi.feeds.databento:poll_job", "DATABENTO_API_KEY",
         "db-" + "SandboxKeyForLocalTesting0000",  # split so key scanners pass
         (StandIn("cbi.sandbox.databento_http", "databento_gateway"),
          StandIn("cbi.sandbox.databento_live", "databento_live_gateway", "host:port")),
         schedule="every 5m",  # only when live is off; the Live stream replaces it
         settings=DatabentoSettings, commands="cbi.feeds.databento_commands:register"),
    Feed("fred", "cbi.feeds.fred:fred_job", "FRED_API_KEY",
         "0123456789abcdef0123456789abcdef",  # 32 lowercase hex characters, like a real key
         (StandIn("cbi.sandbox.fred", "fred_base_url"),), schedule="every 1h",
         settings=FredSettings, commands="cbi.feeds.fred_commands:register"),
    Feed("news", "cbi.feeds.news:news_job", "NEWSAPI_KEY", "sandbox0newsapi0key0000000000000",
         (StandIn("cbi.sandbox.news", "news_base_url"),),
         schedule="every 30m",  # 48 requests a day per query: inside NewsAPI's 100
         settings=NewsSettings, commands="cbi.feeds.news_commands:register"),
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


def settings_fields() -> dict[str, FieldInfo]:
    """Setting name -> its field, of every feed's settings model (in registry order); a name
    two feeds declare is refused."""
    fields: dict[str, FieldInfo] = {}
    for f in FEEDS:
        for name, info in (f.settings.model_fields if f.settings else {}).items():
            if name in fields:
                raise ValueError(f"feed {f.name!r}: setting {name!r} is declared by another feed")
            fields[name] = info
    return fields


def command_modules() -> tuple[str, ...]:
    """"module:function" adding each feed's commands, in registry order."""
    return tuple(f.commands for f in FEEDS if f.commands)


def stand_ins() -> tuple[StandIn, ...]:
    return tuple(s for f in FEEDS for s in f.stand_ins)
