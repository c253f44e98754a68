"""`cbi` commands of this area, registered by `cbi.cli`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this area's commands to the `cbi` app."""
