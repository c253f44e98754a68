"""DuckDB's typed config: `duckdb:///PATH` (relative) or `duckdb:////PATH` (absolute)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, field_validator

from cbi.warehouse.engine_config import EngineConfig


class DuckDBConfig(EngineConfig):
    """`duckdb:///relative/or/absolute/path.duckdb` or `duckdb:///:memory:`; no options yet."""

    engine: ClassVar[str] = "duckdb"
    URL_PARTS: ClassVar[tuple[str, ...]] = ("path",)

    path: str = Field(description="The warehouse file (from the URL: duckdb:///./cbi.duckdb is "
                      "relative, duckdb:////abs/cbi.duckdb absolute), or :memory:.")

    @classmethod
    def url_parts(cls, url: str) -> dict[str, Any]:
        path = url.split("://", 1)[1].partition("?")[0]
        return {"path": path[1:] if path.startswith("/") else path}  # SQLAlchemy style: //// is absolute

    @field_validator("path")
    @classmethod
    def _a_file(cls, value: str) -> str:
        if not value:
            raise ValueError("no file in the warehouse URL; e.g. duckdb:///./cbi.duckdb")
        return value
