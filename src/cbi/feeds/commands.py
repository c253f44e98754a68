"""`cbi ingest …` and `cbi sentiment`: market commands and macro/news commands share one group."""

from __future__ import annotations

import typer

ingest_app = typer.Typer(help="Ingest feeds and files into the warehouse.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    from cbi.feeds import macro_commands, market_commands

    market_commands.register(app, ingest_app)
    macro_commands.register(app, ingest_app)
    app.add_typer(ingest_app, name="ingest")
