"""`cbi ingest fred`: the fred feed's command (`Feed.commands` in `cbi.feeds.registry`), the
API or CSV downloads. Kept out of the `fred` package so that assembling the CLI does not
import the feed itself."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

if TYPE_CHECKING:
    from cbi.config import Settings
    from cbi.warehouse.base import Warehouse


def register(app: typer.Typer, ingest_app: typer.Typer) -> None:
    ingest_app.command("fred")(ingest_fred)


def ingest_fred(
    files: Optional[List[Path]] = typer.Option(
        None, "--file", "-f", help="Import FRED CSV downloads (DATE,ID or observation_date,ID)."),
    series: Optional[List[str]] = typer.Option(
        None, "--series", "-s", help="Series ids to fetch (default: settings fred_series)."),
    full: bool = typer.Option(False, "--full", help="Re-read all history, not from the watermark."),
) -> None:
    """FRED observations with every vintage (API), or CSV downloads with --file."""
    from cbi.config import get_settings
    from cbi.console import console, open_warehouse

    settings = get_settings()
    with open_warehouse() as wh:
        if files:
            _print_files(console, _import(wh, settings, files))
            return
        from cbi.console import feed_session
        from cbi.feeds.fred import fred_job

        with feed_session("fred"):  # settings re-read: in sandbox mode they name the stand-in
            result = fred_job(wh, get_settings(), series=series or None, full=full)
    simulated = " (SANDBOX: simulated data)" if result["source"].endswith("sandbox") else ""
    for sid, r in result["series"].items():
        console.print(f"{sid}: {r['rows']} vintage rows, {r['inserted']} new, {r['updated']} updated{simulated}")
    console.print(f"FRED: {result['rows_read']} rows read, {result['rows_written']} written{simulated}")


def _import(wh: Warehouse, settings: Settings, files: List[Path]) -> dict:
    """Every file read, then each merged: two steps a file on the progress bar."""
    from cbi.console import progress
    from cbi.feeds.fred.files import import_files

    with progress(f"importing {len(files)} FRED file(s)", total=2 * len(files)) as bar:
        return import_files(wh, settings, files, progress=bar.step)


def _print_files(console, result: dict) -> None:
    for f in result["files"]:
        console.print(
            f"{f['file']}: {f['series_id']} ({f['header']} header), {f['rows']} rows, "
            f"{f['missing']} missing -> NULL, {f['inserted']} new, {f['updated']} updated; "
            f"no vintage in a download: realtime_start = {_publication(f)}", highlight=False)


def _publication(f: dict) -> str:
    if f.get("weekly_release"):
        return (f"the {f['weekly_release']} after the observation's week (a weekly release; "
                "setting fred_weekly_release)")
    return (f"date + {f['lag_business_days']} business day(s) (US federal) "
            "(setting fred_publication_lag_days)")
