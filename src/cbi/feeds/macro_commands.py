"""`cbi ingest fred`, `cbi ingest news` and `cbi sentiment`: macro and news commands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

if TYPE_CHECKING:
    from cbi.config import Settings
    from cbi.warehouse.base import Warehouse


def register(app: typer.Typer, ingest_app: typer.Typer) -> None:
    ingest_app.command("fred")(ingest_fred)
    ingest_app.command("news")(ingest_news)
    app.command("sentiment")(sentiment_cmd)


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


def ingest_news(
    queries: Optional[List[str]] = typer.Option(
        None, "--query", "-q", help="NewsAPI queries (default: settings news_queries)."),
) -> None:
    """NewsAPI articles from each query's watermark, within the daily request budget."""
    from cbi.config import get_settings
    from cbi.console import console, feed_session, open_warehouse
    from cbi.feeds.news import news_job

    with open_warehouse() as wh, feed_session("news"):
        result = news_job(wh, get_settings(), queries=queries or None)
    simulated = " (SANDBOX: simulated articles)" if result["source"].endswith("sandbox") else ""
    console.print(f"news: {result['rows_read']} articles read, {result['rows_written']} written, "
                  f"{result['requests']} requests{simulated}")
    if result["budget_exhausted"]:
        console.print("daily request budget spent: the rest waits for tomorrow (UTC)")


def sentiment_cmd(
    texts: Optional[List[str]] = typer.Argument(None, help="Headlines to score."),
    files: Optional[List[Path]] = typer.Option(
        None, "--file", "-f", help="Files of headlines, one a line (several after one --file)."),
) -> None:
    """Score headlines: one line each, the price-direction score in [-1, 1] last on the line."""
    from cbi.console import fail
    from cbi.feeds.sentiment import score

    lines = list(texts or [])
    for file in files or []:
        # Kept: a decode error alone does not name the file; the message must.
        try:
            lines += [ln.strip() for ln in file.read_text(encoding="utf-8").splitlines() if ln.strip()]
        except OSError as exc:
            fail(f"cannot read {file}: {exc.strerror or exc}")
        except UnicodeDecodeError as exc:
            fail(f"cannot read {file}: not UTF-8 text (byte {exc.start}: {exc.reason})")
    if not lines:
        fail("give headlines as arguments or --file FILE")
    for text in lines:
        typer.echo(f"{text}\t{score(text):+.4f}")
