"""The example feed's command, `cbi ingest example`: its registry line (`commands=`) mounts it."""

from __future__ import annotations

from typing import List, Optional

import typer


def register(app: typer.Typer, ingest_app: typer.Typer) -> None:
    ingest_app.command("example")(ingest_example)


def ingest_example(
    series: Optional[List[str]] = typer.Option(
        None, "--series", "-s", help="Series to fetch (default: settings example_series)."),
) -> None:
    """Example values from each series' watermark."""
    from cbi.config import get_settings
    from cbi.console import console, open_warehouse
    from tests.feeds.example_feed.source import example_job

    settings = get_settings()
    with open_warehouse() as wh:
        result = example_job(wh, settings, series=series or None)
    console.print(f"example: {result['rows_read']} read, {result['rows_written']} written "
                  f"from {settings.example_base_url}")
