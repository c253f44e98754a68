"""Open a warehouse from its URL. One registration line per backend (the seam)."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from cbi.warehouse.base import (  # noqa: F401 - the seam's public names
    Check,
    MergeResult,
    ReadOnlyError,
    Warehouse,
    WarehouseError,
)

if TYPE_CHECKING:
    from cbi.config import Settings

__all__ = ["BACKENDS", "Check", "MergeResult", "ReadOnlyError", "Warehouse", "WarehouseError",
           "connect"]

#: scheme -> "package:factory". Adding an engine is one folder (`engine.py`, `config.py`) and
#: one line here.
BACKENDS = {
    "duckdb": "cbi.warehouse.duckdb:from_url",
    "bigquery": "cbi.warehouse.bigquery:from_url",
}


def connect(url: str | None = None, *, read_only: bool = False, role: str = "collector",
            settings: Settings | None = None) -> Warehouse:
    """The warehouse at `url` (default: the settings' `warehouse`)."""
    if settings is None:
        from cbi.config import get_settings

        settings = get_settings()
    url = url or settings.warehouse
    scheme = urlparse(url).scheme
    if scheme not in BACKENDS:
        raise WarehouseError(
            f"unknown warehouse scheme {scheme or '(none)'!r} in {url!r}; supported: "
            + ", ".join(f"{s}://" for s in BACKENDS)
        )
    module, factory = BACKENDS[scheme].split(":")
    return getattr(import_module(module), factory)(url, read_only=read_only, role=role,
                                                   settings=settings)

