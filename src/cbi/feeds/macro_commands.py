"""Commands of this feed area; `register` adds them to `cbi` and to `cbi ingest`."""

from __future__ import annotations

import typer


def register(app: typer.Typer, ingest_app: typer.Typer) -> None:
    """Add commands: `@ingest_app.command(...)` for `cbi ingest X`, `@app.command` for top level."""
