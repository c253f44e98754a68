"""`cbi ingest databento` and `cbi ingest bars`: the databento feed's market data commands
(`Feed.commands` in `cbi.feeds.registry`). Kept out of the `databento` package so that
assembling the CLI does not import the feed (and the Databento client) itself."""

from __future__ import annotations

import datetime as dt
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, List, Optional

import typer

if TYPE_CHECKING:
    from cbi.config import Settings
    from cbi.warehouse.base import Warehouse


def register(app: typer.Typer, ingest_app: typer.Typer) -> None:
    """The databento feed's commands (its registry line names this function)."""
    ingest_app.command("databento")(ingest_databento)
    ingest_app.command("bars")(ingest_bars)


def ingest_databento(
    roots: Optional[str] = typer.Option(None, "--roots", help="Comma-separated roots (default: settings roots)."),
    start: Optional[str] = typer.Option(None, "--start", help="Backfill from (ISO date/time, UTC); default: the watermark."),
    end: Optional[str] = typer.Option(None, "--end", help="Up to (default: the dataset's available end)."),
    live: bool = typer.Option(False, "--live", help="Stream Databento Live until Ctrl-C."),
) -> None:
    """Databento GLBX.MDP3 bars (parent symbology ROOT.FUT) by polling, or --live."""
    from cbi.console import feed_session

    # Settings are read inside: in sandbox mode the session points them at the stand-ins.
    with feed_session("databento"):
        _databento(roots, start, end, live)


def _databento(roots: Optional[str], start: Optional[str], end: Optional[str], live: bool) -> None:
    from cbi.config import get_settings
    from cbi.console import console, fail, open_warehouse, progress
    from cbi.feeds import databento

    settings = get_settings()
    if roots:
        settings = settings.model_copy(update={"roots": [r.strip() for r in roots.split(",") if r.strip()]})
    label = " (SANDBOX: simulated data)" if databento.source_of(settings) == "sandbox" else ""
    with open_warehouse() as wh:
        if live:
            _live(wh, settings, console, label)
            return
        with progress("databento", total=len(settings.roots)) as bar:
            result = databento.poll_job(wh, settings, start=start, end=end,
                                        progress=_chunks(bar, settings.roots, end))
    for root, counts in result["roots"].items():
        console.print(f"{root}: {counts['requests']} requests, {counts['rows_read']} bars read, "
                      f"{counts['rows_written']} rows written{label}")
    errors = result.get("errors") or {}
    if errors:  # the other roots were written; this one stopped (exit 1, naming it)
        fail(f"databento: {len(errors)} of {len(result['roots'])} root(s) failed: "
             + "; ".join(f"{root}: {message}" for root, message in errors.items()), code=1)


#: What `poll_root` says per chunk: "ROOT SCHEMA YYYY-MM-DD HH:MM -> YYYY-MM-DD HH:MM".
CHUNK = re.compile(r"^(\S+) (\S+) (\d{4}-\d\d-\d\d \d\d:\d\d) -> (\d{4}-\d\d-\d\d \d\d:\d\d)$")


def _chunks(bar: Any, roots: list[str], end: str | None) -> Callable[[str], None]:
    """The backfill's messages as progress: roots done of all, and per root its days done
    (from the first chunk it fetched; of all its days when --end is given); each message also
    as a note on stderr."""
    from cbi.console import info

    until = _until(end)

    state: dict[str, Any] = {"root": None, "days": None, "first": None, "roots": 0}

    def on(message: str) -> None:
        info(f"  {message}")  # the log of a backfill (cron, pipes): one line a chunk
        m = CHUNK.match(message)
        if m is None:
            return
        root, schema, lo, hi = m[1], m[2], _minute(m[3]), _minute(m[4])
        if root != state["root"]:
            if state["root"] is not None:
                state["roots"] += 1
                bar.update(state["roots"])
            state.update(root=root, first=lo, days=bar.sub(f"  {root} days", None))
        done = max((hi - state["first"]).days, 0)
        total = max((until - state["first"]).days, done) if until else None
        state["days"].update(done, total=total, description=f"  {root} {schema} to {hi:%Y-%m-%d}")
        bar.update(state["roots"], description=f"databento: {root} "
                                               f"({roots.index(root) + 1 if root in roots else '?'}"
                                               f" of {len(roots)} roots)")

    return on


def _minute(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M")


def _until(end: str | None) -> dt.datetime | None:
    """--end as a naive UTC time (the chunk messages' clock); None when absent or unread."""
    if not end:
        return None
    try:
        when = dt.datetime.fromisoformat(end.replace("Z", "+00:00"))
    except ValueError:
        return None  # poll_job refuses it, naming the value
    if when.tzinfo is not None:
        when = when.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return when


def _live(wh: Warehouse, settings: Settings, console, label: str) -> None:
    from cbi.feeds import databento

    stop = threading.Event()
    console.print(f"streaming Databento Live for {', '.join(settings.roots)}{label}; Ctrl-C stops")
    try:
        databento.run_live(wh, settings, stop)
    except KeyboardInterrupt:  # kept: Ctrl-C is how a live stream ends, not an error
        stop.set()


def ingest_bars(
    files: List[Path] = typer.Argument(..., help="DBN (.dbn, .dbn.zst), CSV or Parquet bar files."),
    root: Optional[str] = typer.Option(None, "--root", help="Root for files without a symbol/root column."),
) -> None:
    """Import bar files (1-minute or daily); a file with a bad row is refused whole."""
    from cbi.console import console, open_warehouse, progress
    from cbi.feeds.bars_files import import_bars

    with open_warehouse() as wh, progress(f"importing {len(files)} bar file(s)") as bar:
        result = import_bars(wh, files, root=root)
        bar.update(len(files), total=len(files))
    for note in result["notes"]:
        console.print(note, highlight=False)
    for f in result["files"]:
        console.print(f"{f['file']}: {f['rows']} bars -> {f['table']}: {f['inserted']} new, "
                      f"{f['updated']} updated", highlight=False)
