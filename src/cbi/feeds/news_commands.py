"""`cbi ingest news` and `cbi sentiment`: the news feed's commands (`Feed.commands` in
`cbi.feeds.registry`). Kept out of the `news` package so that assembling the CLI does not
import the feed itself."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def register(app: typer.Typer, ingest_app: typer.Typer) -> None:
    ingest_app.command("news")(ingest_news)
    app.command("sentiment")(sentiment_cmd)  # scores headlines as the news feed does


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
