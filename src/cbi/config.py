"""Typed settings: `cbi.toml` < `CBI_*` environment < flags.

Every field carries a description; `tests/test_config.py` checks that none is missing,
and `cbi config` prints them with secrets masked. A feed's own settings (its URLs and options)
are declared by the feed, in `cbi.feeds.registry` (`Feed.settings`), and become fields here
under the same names. Lists and dicts in the environment are JSON (`CBI_ROOTS='["ZL","CL"]'`).
"""

from __future__ import annotations

import datetime as dt
import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from cbi.feeds import registry

#: Horizon name -> trading days ahead. The names are contracts (tables, files, API routes).
HORIZONS: dict[str, int] = {"1w": 5, "1m": 21, "3m": 63, "6m": 126, "12m": 252}
SURFACES: tuple[str, ...] = ("prod", "full")

#: Tables whose rows training needs: retention may never expire them.
NEVER_EXPIRE: frozenset[str] = frozenset(
    {
        "market_data.futures_ohlcv_1d",
        "market_data.futures_continuous_1d",
        "market_data.databento_settlements",
        "market_data.fred_economic_indicators",
        "features.curated_features_daily",
    }
)


#: `CBI_*` environment variables that are deliberately not settings; any other `CBI_*` name
#: that is not a setting is refused (a typo would otherwise be ignored in silence).
NOT_SETTINGS: dict[str, str] = {
    "CBI_CONFIG": "the settings file to read instead of ./cbi.toml (config_file)",
    "CBI_TEST_NOW": "tests: the frozen clock of test subprocesses (tests/clock/sitecustomize.py)",
    "CBI_EMULATOR_PYTHON": "tests/Makefile: the BigQuery emulator's Python (tests/emulator.py)",
}


def config_file() -> Path:
    """The TOML file read for settings: `CBI_CONFIG` or `./cbi.toml`."""
    return Path(os.environ.get("CBI_CONFIG", "cbi.toml"))


if TYPE_CHECKING:
    from cbi.feeds.registry import DatabentoSettings, FredSettings, NewsSettings

    class _FeedSettings(DatabentoSettings, FredSettings, NewsSettings):
        """mypy's view of the built-in feeds' settings (`settings.fred_base_url` is a str). At
        runtime Settings takes its feed fields from the registry (`_sync_feed_fields`), and
        tests/feeds/test_registry.py checks that these bases are the built-in feeds' models."""
else:
    _FeedSettings = object


class Settings(BaseSettings, _FeedSettings):
    """The general settings declared here, and every registered feed's own (its URLs and
    options: `Feed.settings` in `cbi.feeds.registry`), under the same names."""

    model_config = SettingsConfigDict(env_prefix="CBI_", extra="forbid", validate_default=True)

    def __init__(self, **values: Any) -> None:
        _sync_feed_fields()  # a feed registered since the last Settings brings its fields
        super().__init__(**values)

    # --- warehouse -------------------------------------------------------------------
    warehouse: str = Field(
        "duckdb:///./cbi.duckdb",
        description="Warehouse URL: duckdb:///PATH (embedded default) or "
        "bigquery://PROJECT?location=us-central1 (production; &endpoint=URL for an emulator). "
        "Or a [warehouse] table: url = the same URL, and that engine's options as keys "
        "(location = \"EU\", dataset_prefix = \"demo_\"), which override the URL's; the "
        "table becomes this URL.",
    )
    maximum_bytes_billed: int = Field(
        10 * 1024**3,
        description="BigQuery: every query carries this maximum_bytes_billed; a query above it fails.",
    )
    cost_guard_bytes: int = Field(
        2 * 1024**3,
        description="BigQuery: a job expected to process more than this is dry-run first and refused.",
    )
    bigquery_connect_timeout_s: float = Field(
        10.0, description="BigQuery: seconds to wait for the endpoint to accept a connection "
        "before a command stops with its name (0 = no check).",
    )
    bigquery_free_tier_bytes: int = Field(
        1024**4, description="BigQuery on-demand free tier per month, bytes (1 TiB)."
    )
    bigquery_price_per_tib: float = Field(
        6.25, description="BigQuery on-demand price in USD per TiB processed beyond the free tier."
    )
    retention_days: dict[str, int] = Field(
        default_factory=dict,
        description="Per-table partition expiration in days, e.g. "
        '{"market_data.databento_futures_ohlcv_1m": 90}. Tables that training needs are refused.',
    )

    # --- what to collect ---------------------------------------------------------------
    roots: list[str] = Field(
        default_factory=lambda: ["ZL", "ES", "CL"],
        description="Futures roots to collect (Databento parent symbols ROOT.FUT).",
    )
    target_root: str = Field("ZL", description="The root the models forecast.")
    feature_roots: dict[str, str] = Field(
        default_factory=lambda: {"soybean": "ZS", "soymeal": "ZM", "heating_oil": "HO"},
        description="Extra roots whose daily returns become features (soybean crush inputs and "
        "heating oil for ZL); add them to `roots` to collect them. A root not collected gives NULLs.",
    )
    fred_max_age_days: dict[str, int] = Field(
        default_factory=lambda: {"default": 10, "DTWEXBGS": 14, "DCOILWTICO": 14},
        description="Per series ('default' for the rest): the oldest observation, in calendar days "
        "before a feature's date, that may stand in for it; an older one is NULL in the features "
        "(a stopped series never carries forward without limit) and the quality gate reports it.",
    )
    horizons: list[str] = Field(
        default_factory=lambda: list(HORIZONS),
        description="Forecast horizons to build and train: any of 1w, 1m, 3m, 6m, 12m.",
    )

    # --- the sandbox (each feed's endpoints are its own settings: cbi.feeds.registry) ----
    sandbox: bool | None = Field(
        None,
        description="Use the local sandbox feeds (simulated data): only when true (the demo and "
        "tests set it). Unset or false = the live services; a missing API key is then an error.",
    )
    sandbox_seed: int = Field(7, description="Seed of the sandbox's generated data.")

    # --- validation at the door (cbi.feeds.validate) ------------------------------------
    bars_min_date: dt.date = Field(
        dt.date(1950, 1, 1), description="Earliest plausible bar date (CBOT soybean oil futures "
        "were listed in 1950); an older bar is refused (files) or quarantined (feeds).",
    )
    fred_min_date: dt.date = Field(
        dt.date(1776, 7, 4), description="Earliest plausible FRED observation date (FRED's own "
        "real-time origin); an older one is refused naming file, row and field.",
    )
    future_skew_days: int = Field(
        2, description="Latest plausible date of a bar or observation: today (UTC) plus this "
        "many days (a Sunday-evening session belongs to Monday's trading date).",
    )
    price_bands: dict[str, list[float]] = Field(
        {"ZL": [1.0, 1000.0], "ZS": [10.0, 10000.0], "ZM": [10.0, 10000.0], "ZC": [10.0, 10000.0],
         "ES": [10.0, 100000.0], "CL": [-100.0, 1000.0], "HO": [-10.0, 100.0],
         "default": [-1000000.0, 1000000.0]},
        description="Plausible price band [low, high] per root ('default' for roots not listed), "
        "in the exchange's quote units; a calendar spread must lie within +/- (high - min(low, 0)). "
        "A low below zero lets outrights trade negative (WTI, 2020-04-20).",
    )
    jump_factor: float = Field(
        10.0, description="A bar whose high or low lies further from the previous close than this "
        "many times the trailing range (jump_window bars) is quarantined (feeds) or refused "
        "(files); 0 turns the rule off.",
    )
    jump_window: int = Field(20, description="Bars in the trailing range of the jump rule.")
    jump_floor_fraction: float = Field(
        0.02, description="The jump rule's trailing range is at least this fraction of the "
        "previous close (a quiet market's one-tick range does not make every move a jump).",
    )

    # --- files -------------------------------------------------------------------------
    export_dir: Path = Field(
        Path("TrainingData/exports"), description="Where training Parquet exports are written."
    )
    models_dir: Path = Field(Path("Models/local"), description="Model registry folder.")
    quality_max_gap_days: int = Field(
        7, description="Quality gate: most calendar days allowed between two trading dates "
        "of a series (weekends and holidays fit; a longer gap fails the export).",
    )

    # --- training ------------------------------------------------------------------------
    interval_level: float = Field(0.9, description="Prediction interval level (conformal).")
    retrain_every_days: int = Field(
        63, description="Walk-forward: retrain every N trading days."
    )
    coverage_tolerance: float = Field(
        0.03, description="A model is eligible as current when |coverage - level| <= this."
    )
    seed: int = Field(42, description="Random seed for model training.")
    min_train_rows: int = Field(
        756, ge=50, description="Walk-forward: labelled rows in the first training window. A "
        "horizon of h trading days needs more than min_train_rows + 2h labelled rows (first "
        "window plus embargo); horizons with fewer are skipped with a message.",
    )
    feature_groups: list[str] | None = Field(
        None, description="Feature groups the learners see (cbi.models.features.GROUPS: "
        "momentum, volatility, volume, rates, dollar_oil, vix, cross_asset, curve, crush, "
        "heating_oil, news); unset means all. Features come from that module's allow-list.",
    )

    # --- dashboard and operations ----------------------------------------------------------
    dashboard_host: str = Field("127.0.0.1", description="Dashboard bind address.")
    dashboard_port: int = Field(8050, description="Dashboard port.")
    dashboard_surface: str = Field(
        "prod", description="Which predictions surface the dashboard serves: prod or full."
    )
    cache_seconds: int = Field(300, description="Dashboard API cache TTL and s-maxage, seconds.")
    tick_sizes: dict[str, float] = Field(
        default_factory=lambda: {"ZL": 0.01, "ZS": 0.25, "ZM": 0.1, "ES": 0.25, "CL": 0.01,
                                 "HO": 0.0001, "default": 0.0001},
        description="Minimum price increment per root, in the quoted units (ZL: 0.01 US cents/lb); "
        "the dashboard rounds prices to it ('default' for roots not listed).",
    )
    price_units: dict[str, str] = Field(
        default_factory=lambda: {"ZL": "¢/lb", "ZS": "¢/bu", "ZM": "$/short ton", "ES": "index points",
                                 "CL": "$/bbl", "HO": "$/gal"},
        description="Quoted price units per root, shown beside prices and changes on the dashboard.",
    )
    live_poll_seconds: float = Field(
        1.0, description="Dashboard live stream: seconds between checks of the warehouse for new bars "
        "(one check per root, shared by every viewer, only while someone watches; at least 60 s "
        "on BigQuery, where every query bills 10 MB or more).",
    )
    stale_after_minutes: int = Field(
        30, description="A feed with no new bar for this long while the market is open is stale."
    )
    alert_webhook_url: str | None = Field(
        None, description="Slack-compatible webhook for alerts (or keychain secret ALERT_WEBHOOK_URL)."
    )
    live: bool = Field(True, description="cbi serve: stream Databento Live (else poll every 5 min).")
    schedule: dict[str, str] = Field(
        default_factory=dict,
        description="cbi serve/cron: per-job schedule overrides, e.g. {\"fred\": \"every 2h\", "
        "\"news\": \"off\", \"export\": \"cron 0 3 * * *\", \"predict\": \"after features\"} "
        "(cron in America/Chicago).",
    )
    extra_jobs: dict[str, str] = Field(
        default_factory=dict,
        description="More pipeline jobs, name -> 'module:function' (same contract as cbi.jobs.JOBS), "
        "runnable by `cbi job NAME`, the owner's job API and the schedule.",
    )
    cron_log_dir: Path = Field(
        Path("logs"), description="cbi cron: the folder (relative to --folder) each job's "
        "output is appended to, one file per job (JOB.log).",
    )
    iam_members: dict[str, str] = Field(
        default_factory=dict,
        description="cbi iam: service account per role (collector, training, dashboard); "
        "unset = cbi-ROLE@PROJECT.iam.gserviceaccount.com.",
    )

    @field_validator("warehouse", mode="before")
    @classmethod
    def _warehouse_table(cls, value: Any) -> Any:
        """A `[warehouse]` table is the URL written out: `url` and options over the URL's."""
        if isinstance(value, dict):
            from cbi.warehouse.engine_config import section_to_url

            return section_to_url(value)
        return value

    @field_validator("roots")
    @classmethod
    def _root_pattern(cls, value: list[str]) -> list[str]:
        import re

        bad = [r for r in value if not isinstance(r, str) or not re.fullmatch(r"[A-Z0-9]{1,4}", r)]
        if bad:
            raise ValueError(f"root(s) {bad}: a CME root is 1-4 upper-case letters or digits, like ZL")
        return value

    @field_validator("horizons")
    @classmethod
    def _known_horizons(cls, value: list[str]) -> list[str]:
        unknown = [h for h in value if h not in HORIZONS]
        if unknown:
            raise ValueError(f"unknown horizon(s) {unknown}; choose from {list(HORIZONS)}")
        return value

    @field_validator("retention_days")
    @classmethod
    def _never_expire_training_inputs(cls, value: dict[str, int]) -> dict[str, int]:
        forbidden = sorted(
            t for t in value if t in NEVER_EXPIRE or t.split(".")[0] in ("training", "predictions")
        )
        if forbidden:
            raise ValueError(f"retention refused for {forbidden}: training needs these rows")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file())
        return (init_settings, env_settings, toml)

    def masked(self) -> dict[str, Any]:
        """Settings as plain values, with anything secret-looking masked."""
        out = {}
        for name, value in self.model_dump(mode="json").items():
            out[name] = _masked(value)
        if out.get("alert_webhook_url"):
            out["alert_webhook_url"] = "***"
        return out


#: Settings' own fields, as declared; the feeds' fields go after FEEDS_AFTER.
_GENERAL: dict[str, FieldInfo] = dict(Settings.__pydantic_fields__)
FEEDS_AFTER = "horizons"
_synced: dict[str, FieldInfo] = {}


def _sync_feed_fields() -> None:
    """Make Settings' fields its own plus every registered feed's (`registry.settings_fields`),
    so a feed registered later (a plug-in, a test) has its `CBI_*` name and `cbi.toml` key too.
    Pydantic has no call that adds a field to a model class: the field table is replaced and
    the model rebuilt, only when the registry's fields changed."""
    feeds = registry.settings_fields()
    if feeds.keys() == _synced.keys() and all(feeds[n] is _synced[n] for n in feeds):
        return
    clash = sorted(set(feeds) & set(_GENERAL))
    if clash:
        raise ValueError(f"feed setting(s) {clash} are general settings already")
    fields: dict[str, FieldInfo] = {}
    for name, info in _GENERAL.items():
        fields[name] = info
        if name == FEEDS_AFTER:
            fields.update(feeds)
    Settings.__pydantic_fields__ = fields
    Settings.model_rebuild(force=True)
    _synced.clear()
    _synced.update(feeds)


_sync_feed_fields()


def _masked(value: Any) -> Any:
    """A setting's value with secrets masked, inside lists and dicts too (URL passwords…)."""
    from cbi.secrets import redact

    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    return value


@lru_cache(maxsize=1)
def _cached() -> Settings:
    return load_settings()


def get_settings(**overrides: Any) -> Settings:
    """Effective settings; flags come in as overrides (highest priority).

    A bad value anywhere is a `cbi.errors.SettingsError` naming where it came from (file and
    line, environment variable or flag), the key and what is allowed.
    """
    clean = {k: v for k, v in overrides.items() if v is not None}
    return load_settings(**clean) if clean else _cached()


def load_settings(**values: Any) -> Settings:
    """`Settings(**values)`, with every way it can fail turned into one SettingsError."""
    import tomllib

    from pydantic import ValidationError
    from pydantic_settings import SettingsError as SourceError

    from cbi.errors import SettingsError

    check_environment()
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise SettingsError(_explain(exc, values)) from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{config_file()}: not valid TOML: {exc}") from None
    except SourceError as exc:
        raise SettingsError(_explain_source(exc)) from None


def check_environment(environ: Any = None) -> None:
    """Refuse a `CBI_*` variable that is neither a setting nor on NOT_SETTINGS, with the
    setting it probably meant (SettingsError: one line, exit 2)."""
    import difflib

    from cbi.errors import SettingsError

    environ = os.environ if environ is None else environ
    _sync_feed_fields()
    known = {f"CBI_{name.upper()}" for name in Settings.model_fields} | set(NOT_SETTINGS)
    unknown = sorted(n for n in environ if n.upper().startswith("CBI_") and n.upper() not in known)
    if not unknown:
        return
    name = unknown[0]
    # Compared without the prefix, as TOML keys are: otherwise any name is "close" to them all.
    close = difflib.get_close_matches(name.upper()[4:], sorted(k[4:] for k in known), n=1)
    hint = f"; did you mean CBI_{close[0]}?" if close else "; `cbi config` lists the settings"
    more = f" (and {len(unknown) - 1} more: {', '.join(unknown[1:])})" if len(unknown) > 1 else ""
    raise SettingsError(f"environment {name}: unknown setting{hint}{more}")


def _toml_line(key: str) -> int | None:
    import re

    try:
        lines = config_file().read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    pattern = re.compile(rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\")\s*=")
    table = re.compile(rf"^\s*\[\s*{re.escape(key)}\s*\]")
    for number, line in enumerate(lines, 1):
        if pattern.match(line) or table.match(line):
            return number
    return None


def _where(key: str, values: dict[str, Any]) -> str:
    env = f"CBI_{key.upper()}"
    if key in values:
        return f"flag/override {key}"
    if env in os.environ:
        return f"environment {env}"
    line = _toml_line(key)
    if line is not None:
        return f"{config_file()} line {line}"
    return f"{config_file()}"


def _explain(exc: Any, values: dict[str, Any]) -> str:
    import difflib

    fields = list(Settings.model_fields)
    lines = []
    for error in exc.errors():
        key = str(error["loc"][0]) if error.get("loc") else "?"
        where = _where(key, values)
        if error.get("type") == "extra_forbidden":
            close = difflib.get_close_matches(key, fields, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else "; `cbi config` lists the settings"
            lines.append(f"{where}: unknown setting {key!r}{hint}")
            continue
        msg = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        given = error.get("input")
        field = Settings.model_fields.get(key)
        allowed = f" ({field.description})" if field is not None and field.description else ""
        lines.append(f"{where}: {key} = {given!r}: {msg}{allowed}")
    return "\n".join(lines[:2]) + (f"\n(and {len(lines) - 2} more)" if len(lines) > 2 else "")


def _explain_source(exc: Exception) -> str:
    import re

    text = str(exc)
    m = re.search(r'field "(\w+)" from source "(\w+)"', text)
    if m and m[2] == "EnvSettingsSource":
        key = m[1]
        env = f"CBI_{key.upper()}"
        return (f"environment {env}={os.environ.get(env, '')!r}: not JSON; lists and dicts in the "
                f"environment are JSON, e.g. {env}='{_json_example(key)}'")
    return text


def _json_example(key: str) -> str:
    import json

    field = Settings.model_fields.get(key)
    default = field.get_default(call_default_factory=True) if field is not None else None
    return json.dumps(default if default not in (None, [], {}) else ["…"])


def reset_settings_cache() -> None:
    """Forget the cached settings (and take in the fields of feeds registered since)."""
    _cached.cache_clear()
    _sync_feed_fields()
