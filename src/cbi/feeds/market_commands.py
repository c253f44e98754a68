"""`cbi ingest databento` and `cbi ingest bars`: market data commands."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import List, Optional

import typer


def register(app: typer.Typer, ingest_app: typer.Typer) -> None:
    ingest_app.command("databento")(ingest_databento)
    ingest_app.command("bars")(ingest_bars)


def ingest_databento(
    roots: Optional[str] = typer.Option(None, "--roots", help="Comma-separated roots (default: settings roots)."),
    start: Optional[str] = typer.Option(None, "--start", help="Backfill from (ISO date/time, UTC); default: the watermark."),
    end: Optional[str] = typer.Option(None, "--end", help="Up to (default: the dataset's available end)."),
    live: bool = typer.Option(False, "--live", help="Stream Databento Live until Ctrl-C."),
) -> None:
    """Databento GLBX.MDP3 bars (parent symbology ROOT.FUT) by polling, or --live."""
    from cbi.cli import console, fail, open_warehouse
    from cbi.config import get_settings
    from cbi.console import info  # backfill progress: stderr, hidden by -q
    from cbi.feeds import databento
    from cbi.feeds.validate import BarError

    settings = get_settings()
    if roots:
        settings = settings.model_copy(update={"roots": [r.strip() for r in roots.split(",") if r.strip()]})
    label = " (SANDBOX: simulated data)" if databento.use_sandbox(settings) else ""
    with open_warehouse() as wh:
        try:
            if live:
                _live(wh, settings, console, label)
                return
            result = databento.poll_job(wh, settings, start=start, end=end,
                                        progress=lambda m: info(f"  {m}"))
        except (databento.FeedError, BarError, ValueError) as exc:
            fail(str(exc))
    for root, counts in result["roots"].items():
        console.print(f"{root}: {counts['requests']} requests, {counts['rows_read']} bars read, "
                      f"{counts['rows_written']} rows written{label}")
    errors = result.get("errors") or {}
    if errors:  # the other roots were written; this one stopped (exit 1, naming it)
        fail(f"databento: {len(errors)} of {len(result['roots'])} root(s) failed: "
             + "; ".join(f"{root}: {message}" for root, message in errors.items()), code=1)


def _live(wh, settings, console, label: str) -> None:
    from cbi.feeds import databento

    stop = threading.Event()
    console.print(f"streaming Databento Live for {', '.join(settings.roots)}{label}; Ctrl-C stops")
    try:
        databento.run_live(wh, settings, stop)
    except KeyboardInterrupt:
        stop.set()


def ingest_bars(
    files: List[Path] = typer.Argument(..., help="DBN (.dbn, .dbn.zst), CSV or Parquet bar files."),
    root: Optional[str] = typer.Option(None, "--root", help="Root for files without a symbol/root column."),
) -> None:
    """Import bar files (1-minute or daily); a file with a bad row is refused whole."""
    from cbi.cli import console, fail, open_warehouse
    from cbi.console import progress
    from cbi.feeds.bars_files import import_bars
    from cbi.feeds.validate import BarError

    with open_warehouse() as wh, progress(f"importing {len(files)} bar file(s)"):
        try:
            result = import_bars(wh, files, root=root)
        except (BarError, OSError, ValueError) as exc:
            fail(str(exc))
    for note in result["notes"]:
        console.print(note, highlight=False)
    for f in result["files"]:
        console.print(f"{f['file']}: {f['rows']} bars -> {f['table']}: {f['inserted']} new, "
                      f"{f['updated']} updated", highlight=False)
