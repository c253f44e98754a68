"""One exception root for the package: each error knows its exit code and its alert kind.

The `cbi` command has one handler (`cbi.cli.CbiGroup`): an error that reaches it prints one
line (`error: …`, redacted) and exits with the error's code; `-v` adds the traceback.

Exit codes (docs/operating.md lists them):

- 0: done; 1: the work failed, or a health check did (a job, a feed, a quality gate, drift);
- 2: the request cannot be run as given (arguments, settings, a refused query or input,
  a warehouse not initialised or held by another process), nothing changed;
- 3: done, but some horizons were skipped (train, predict, a cycle): the others succeeded;
- 130: interrupted (Ctrl-C).

Errors of areas that predate this root (feeds, models, export) are mapped by class name in
`FOREIGN` until they derive from `CbiError`.
"""

from __future__ import annotations

import traceback
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_SKIPPED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class CbiError(Exception):
    """Root of CBI's errors: `exit_code` for the CLI, `alert_kind` for the run log."""

    exit_code: int = EXIT_FAILED
    alert_kind: str = "job_failed"

    def __init__(self, message: str = "", *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(CbiError):
    """The request cannot run as given (arguments, input, a refused query); nothing changed."""

    exit_code = EXIT_USAGE


class SettingsError(UsageError):
    """cbi.toml, a CBI_* variable or a flag holds a value the settings refuse."""


class CommandFailed(CbiError):
    """A command's own refusal (`cbi.console.fail`), with the exit code it chose."""


#: Errors raised by modules not (yet) rooted here: class name -> (exit code, alert kind).
FOREIGN: dict[str, tuple[int, str]] = {
    "QualityGateError": (EXIT_FAILED, "quality_gate"),
    "BarError": (EXIT_USAGE, "job_failed"),
    "ModelError": (EXIT_USAGE, "job_failed"),
    "FeedError": (EXIT_FAILED, "job_failed"),
    "FeedHTTPError": (EXIT_FAILED, "job_failed"),
    "ValidationError": (EXIT_USAGE, "job_failed"),
    "GoogleAPIError": (EXIT_FAILED, "job_failed"),  # BigQuery answered with an error
    "RetryError": (EXIT_FAILED, "job_failed"),
    "HTTPError": (EXIT_FAILED, "job_failed"),  # httpx / requests: a feed's endpoint failed
}
#: Builtin errors that mean "bad input" when they reach the command line (a file, a value).
USAGE_BUILTINS = (ValueError, OSError)


def _foreign(exc: BaseException) -> tuple[int, str] | None:
    for cls in type(exc).__mro__:
        if cls.__name__ in FOREIGN:
            return FOREIGN[cls.__name__]
    return None


def exit_code(exc: BaseException) -> int:
    """The exit code an error gives the `cbi` command."""
    if isinstance(exc, CbiError):
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if (known := _foreign(exc)) is not None:
        return known[0]
    if isinstance(exc, USAGE_BUILTINS):
        return EXIT_USAGE
    return EXIT_FAILED


def alert_kind(exc: BaseException) -> str:
    """The alert a failed job raises for this error."""
    if isinstance(exc, CbiError):
        return exc.alert_kind
    known = _foreign(exc)
    return known[1] if known else "job_failed"


def is_expected(exc: BaseException) -> bool:
    """False for what looks like a bug (the one-line message then says so)."""
    return (isinstance(exc, (CbiError, KeyboardInterrupt, *USAGE_BUILTINS))
            or _foreign(exc) is not None)


def one_line(exc: BaseException) -> str:
    """The message the CLI prints for an error (not yet redacted)."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, KeyError) and not isinstance(exc, CbiError) and exc.args:
        text = str(exc.args[0])
    if not is_expected(exc):
        text = f"unexpected {type(exc).__name__}: {text} (run with -v for the traceback)"
    return text


def format_traceback(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def describe(exc: BaseException) -> dict[str, Any]:
    return {"error": one_line(exc), "exit_code": exit_code(exc), "alert_kind": alert_kind(exc)}
