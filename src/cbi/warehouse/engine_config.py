"""Each engine's typed settings: one pydantic model per engine (`duckdb.config.DuckDBConfig`,
`bigquery.config.BigQueryConfig`), every field documented, built from the warehouse URL.

The `warehouse` setting is a URL; its query string carries the engine's options
(`bigquery://P?location=EU&dataset_prefix=demo_`). A `[warehouse]` table in cbi.toml is the
same URL written out: `url` (required) says the engine and where, every other key is one of
that engine's options and overrides the URL's own (`section_to_url`). An option the engine
does not know is refused with its name and the known ones; a bad value with its field.

A leaf module (pydantic and the standard library only): `cbi.config` turns a `[warehouse]`
table into the URL through it, so it must not import the engines.
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping, TypeVar
from urllib.parse import parse_qs, urlencode, urlparse

from pydantic import BaseModel, ConfigDict, ValidationError

C = TypeVar("C", bound="EngineConfig")


class EngineConfigError(ValueError):
    """A warehouse URL or `[warehouse]` table the engine refuses (one line; the engine's
    factory raises it again as a `WarehouseError`)."""


def url_options(url: str) -> dict[str, str]:
    """The options in a URL's query string (the last value of a repeated one wins)."""
    return {k: v[-1] for k, v in parse_qs(urlparse(url).query).items()}


def _option_text(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise EngineConfigError(f"[warehouse] {key} = {value!r}: an option is a string, number "
                            "or true/false")


def section_to_url(section: Mapping[str, Any]) -> str:
    """The URL a `[warehouse]` table stands for: its `url` with every other key set as an
    option, over the URL's own (`{url = "bigquery://P?location=US", location = "EU"}` ->
    `bigquery://P?location=EU`)."""
    url = section.get("url")
    if not isinstance(url, str) or "://" not in url:
        raise EngineConfigError(
            "a [warehouse] table needs url = \"duckdb:///PATH\" or \"bigquery://PROJECT\" "
            "(the engine and where); its other keys are that engine's options")
    base, _, _ = url.partition("?")
    options = url_options(url)
    options.update({k: _option_text(k, v) for k, v in section.items() if k != "url"})
    return f"{base}?{urlencode(options, safe=':/')}" if options else base


class EngineConfig(BaseModel):
    """The base of an engine's typed config: no unknown fields, values checked, frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: The URL scheme (`duckdb`, `bigquery`).
    engine: ClassVar[str] = ""
    #: Fields taken from the URL itself (its host or path), not from its query string.
    URL_PARTS: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def url_parts(cls, url: str) -> dict[str, Any]:
        """The fields the URL carries outside its query string (override per engine)."""
        return {}

    @classmethod
    def options(cls) -> list[str]:
        """The option names the URL's query string (or a `[warehouse]` table) may carry."""
        return [name for name in cls.model_fields if name not in cls.URL_PARTS]

    @classmethod
    def from_url(cls: type[C], url: str) -> C:
        """The engine's config from a warehouse URL; EngineConfigError names what is wrong."""
        given = url_options(url)
        unknown = sorted(k for k in given if k not in cls.options())
        if unknown:
            where = " (it comes from the URL itself, before the ?)" if unknown[0] in cls.URL_PARTS else ""
            raise EngineConfigError(
                f"warehouse URL {url!r}: unknown {cls.engine} option {unknown[0]!r}{where}; "
                f"known: {', '.join(cls.options()) or '(none)'}")
        parts = cls.url_parts(url)
        try:
            return cls(**parts, **given)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = str(error["loc"][0]) if error.get("loc") else "?"
            msg = str(error.get("msg", "invalid")).removeprefix("Value error, ")
            described = cls.model_fields.get(field)
            about = f" ({described.description})" if described is not None and described.description else ""
            raise EngineConfigError(
                f"warehouse URL {url!r}: {field}={error.get('input')!r}: {msg}{about}") from None
