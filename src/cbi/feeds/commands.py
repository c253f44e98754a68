"""The feeds' commands: every registered feed's (`Feed.commands` in `cbi.feeds.registry`),
mounted in registry order, its `cbi ingest …` ones under the one shared group."""

from __future__ import annotations

from importlib import import_module

import typer

from cbi.feeds import registry


def register(app: typer.Typer) -> None:
    # A fresh group per app: an app built after a feed registered (a plug-in, a test) has it.
    ingest_app = typer.Typer(help="Ingest feeds and files into the warehouse.", no_args_is_help=True)
    for target in registry.command_modules():
        module, _, function = target.partition(":")
        getattr(import_module(module), function)(app, ingest_app)
    app.add_typer(ingest_app, name="ingest")
