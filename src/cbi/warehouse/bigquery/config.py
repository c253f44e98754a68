"""BigQuery's typed config: `bigquery://PROJECT?location=…[&endpoint=…][&grpc=…][&dataset_prefix=…]`."""

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import urlparse

from pydantic import Field, field_validator

from cbi.warehouse.engine_config import EngineConfig

#: A dataset prefix: letters, digits and _ only, at most 64 (BigQuery dataset names).
DATASET_PREFIX = re.compile(r"[A-Za-z0-9_]{0,64}")


class BigQueryConfig(EngineConfig):
    """Where the warehouse lives on BigQuery; the project is the URL's host, the rest options."""

    engine: ClassVar[str] = "bigquery"
    URL_PARTS: ClassVar[tuple[str, ...]] = ("project",)

    project: str = Field(description="The Google Cloud project (the URL's host: bigquery://PROJECT).")
    location: str = Field("us-central1", description="Where the datasets live (us-central1, EU, US…).")
    endpoint: str | None = Field(None, description="The REST endpoint of an emulator "
                                 "(http://127.0.0.1:9050): anonymous credentials, no Google servers.")
    grpc: str | None = Field(None, description="HOST:PORT of an emulator's Storage Read API (gRPC); "
                             "unset with an endpoint: results come by REST only.")
    dataset_prefix: str = Field("", description="A prefix on every dataset name (demo_: "
                                "demo_market_data…): a second copy beside production in one project.")

    @classmethod
    def url_parts(cls, url: str) -> dict[str, Any]:
        return {"project": urlparse(url).netloc}

    @field_validator("project")
    @classmethod
    def _a_project(cls, value: str) -> str:
        if not value:
            raise ValueError("no project in the warehouse URL; e.g. bigquery://cbi-v14?location=us-central1")
        return value

    @field_validator("location")
    @classmethod
    def _a_location(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", value):
            raise ValueError("a BigQuery location is a region or multi-region name, like us-central1 or EU")
        return value

    @field_validator("grpc")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[^:/\s]+:\d{1,5}", value):
            raise ValueError("write HOST:PORT, like 127.0.0.1:9060")
        return value

    @field_validator("dataset_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not DATASET_PREFIX.fullmatch(value):
            raise ValueError("use letters, digits and _ only (e.g. demo_), at most 64")
        return value
