"""The `cbi` command: this module only assembles the app.

Each area registers its own commands from its own module (`COMMAND_MODULES`), so adding a
command touches that area only. Errors reach one handler (`CbiGroup.invoke`, and `main` for
what fails before parsing): one line on stderr, the error's exit code (`cbi.errors`), the
traceback only with `-v`. Commands print through `cbi.console` (a leaf module), never through
this one.
"""

from __future__ import annotations

import logging
import os
import sys
from importlib import import_module
from typing import Optional

import typer
from typer import _click
from typer.core import TyperGroup

from cbi.console import report_error, set_flags
from cbi.secrets import install_log_redaction


class CbiGroup(TyperGroup):
    """The root group: `--file A B` reads as `--file A --file B`, and the one error handler."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        from cbi.ops.argv import expand_multi

        return super().parse_args(ctx, expand_multi(self, list(args)))

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, _click.ClickException, BrokenPipeError):
            raise  # typer's own handling (a closed pipe, `| head`, ends quietly)
        except KeyboardInterrupt:
            raise typer.Exit(report_error(KeyboardInterrupt("interrupted"))) from None
        except Exception as exc:  # noqa: BLE001 - the one handler: one line, its exit code
            raise typer.Exit(report_error(exc)) from None


#: Modules that add commands with `register(app)`; one line per area. `cbi.feeds.commands`
#: mounts every registered feed's commands (`Feed.commands` in `cbi.feeds.registry`).
COMMAND_MODULES = (
    "cbi.ops.core_commands",
    "cbi.feeds.commands",
    "cbi.transform.commands",
    "cbi.models.commands",
    "cbi.dashboard.commands",
    "cbi.ops.commands",
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            v = version("cbi")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            v = "unknown"
        typer.echo(f"cbi {v}")
        raise typer.Exit(0)


def _main(
    ctx: typer.Context,
    warehouse: Optional[str] = typer.Option(
        None, "--warehouse", "-w", help="Warehouse URL (overrides cbi.toml and CBI_WAREHOUSE)."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug detail; tracebacks on errors."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only results and errors: no progress, no notes."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    from cbi.console import LOG_FORMAT, forwarded

    set_flags(verbose=verbose, quiet=quiet)
    if forwarded():  # in the owner: its process-wide logging and settings stay as they are
        return
    level = logging.DEBUG if verbose else (logging.WARNING if quiet else logging.INFO)
    logging.basicConfig(level=level, format=LOG_FORMAT)
    logging.getLogger().setLevel(level)
    for noisy in ("httpx", "httpcore", "urllib3", "google", "sqlglot"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    install_log_redaction()
    if warehouse:
        os.environ["CBI_WAREHOUSE"] = warehouse
        from cbi.config import reset_settings_cache

        reset_settings_cache()
    from cbi.console import install_feed_session
    from cbi.sandbox.session import for_feed

    # sandbox = true: the stand-ins of the feed a command reaches run while it works on that
    # feed (and no longer); file imports and pipeline jobs start none
    install_feed_session(for_feed)


def build_app() -> typer.Typer:
    """The `cbi` app, every area's commands registered; built again after a feed is
    registered (a plug-in, a test), it has that feed's commands too."""
    new = typer.Typer(
        cls=CbiGroup,
        help="CBI: commodity futures forecasts from live feeds (Databento, FRED, NewsAPI).",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    new.callback()(_main)
    for name in COMMAND_MODULES:
        import_module(name).register(new)
    return new


app = build_app()


def main() -> None:
    from cbi.ops.forward import forward

    root = typer.main.get_command(app)
    try:
        code = forward(sys.argv[1:], root)  # a running `cbi serve` owns the DuckDB file: run it there
    except BrokenPipeError:  # `cbi query … | head`: the reader left; nothing to report
        _quiet_pipe()
        raise SystemExit(1) from None
    except Exception as exc:  # noqa: BLE001 - kept: forwarding runs before click parses, outside
        raise SystemExit(report_error(exc)) from None  # CbiGroup.invoke; the same one line
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    if code is not None:
        raise SystemExit(code)
    root.main(args=sys.argv[1:], prog_name="cbi")


def _quiet_pipe() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    main()
