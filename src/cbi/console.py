"""What every command prints through: the consoles, `fail`, `open_warehouse`, records in the
output formats, progress, and the one error report. A leaf: it imports nothing else of CBI at
module level, so every area may import it (and `cbi.cli` re-exports its names).

A command forwarded to `cbi serve` runs in one of the owner's threads. `lend` marks that
thread: its warehouse is the owner's, its stdout/stderr writes go into the client's stream
(`install_routing` puts a per-thread router in front of `sys.stdout`/`sys.stderr`), and its
terminal is the client's (width, whether it is a tty), so the output is the same as when the
command runs alone.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import queue
import sys
import threading
from typing import TYPE_CHECKING, Any, Callable, ContextManager, Iterable, Iterator

from rich.console import Console, ConsoleDimensions
from rich.markup import escape

from cbi.errors import CommandFailed, exit_code, format_traceback, one_line

if TYPE_CHECKING:
    from cbi.warehouse.base import Warehouse

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Width for output that is not a terminal: lines are never wrapped (pipes, files, logs).
UNWRAPPED = 100_000
FORMATS = ("table", "csv", "json", "ndjson")
TABLE_MAX_ROWS = 200

_local = threading.local()
_global_flags = {"verbose": False, "quiet": False}


# ---- the sandbox stand-ins a feed command needs --------------------------------------------
def _no_session(feed: str) -> ContextManager[Any]:
    return contextlib.nullcontext()


_feed_session: Callable[[str], ContextManager[Any]] = _no_session


def install_feed_session(factory: Callable[[str], ContextManager[Any]]) -> None:
    """The edge (`cbi.cli`) says how to start a feed's sandbox stand-ins; commands stay free
    of the sandbox (the house rule) and only name the feed they reach."""
    global _feed_session
    _feed_session = factory


def feed_session(feed: str) -> ContextManager[Any]:
    """Around a command's work on feed `feed` (settings read inside the block): in sandbox mode
    the feed's stand-ins run for the block's length; otherwise nothing happens."""
    return _feed_session(feed)


# ---- per-thread state: the forwarded command, its terminal, its flags --------------------------
def lent_warehouse() -> Any | None:
    """In a forwarded command's thread: the owner's warehouse; elsewhere None."""
    return getattr(_local, "wh", None)


def forwarded() -> bool:
    return getattr(_local, "out", None) is not None


@contextlib.contextmanager
def lend(wh: Warehouse, out: queue.Queue, terminal: dict[str, Any] | None = None) -> Iterator[None]:
    """Run the body as a forwarded command: `wh` lent, output into `out`, the client's tty."""
    install_routing()
    _local.wh, _local.out, _local.terminal = wh, out, dict(terminal or {})
    _local.flags = dict(_global_flags)
    try:
        yield
    finally:
        _local.wh = _local.out = _local.terminal = _local.flags = None


def set_flags(verbose: bool | None = None, quiet: bool | None = None) -> None:
    """-v/-q: for this forwarded command only, or for the process."""
    flags: dict[str, bool] = (getattr(_local, "flags", None) if forwarded() else None) \
        or _global_flags
    if verbose is not None:
        flags["verbose"] = verbose
    if quiet is not None:
        flags["quiet"] = quiet


def _flag(name: str) -> bool:
    flags = getattr(_local, "flags", None) if forwarded() else None
    return bool((flags or _global_flags)[name])


def verbose() -> bool:
    return _flag("verbose")


def quiet() -> bool:
    return _flag("quiet")


class _Router:
    """Stands in for sys.stdout/sys.stderr: a forwarded thread's writes go to its stream."""

    def __init__(self, real: Any, kind: str) -> None:
        self.real, self.kind = real, kind

    def write(self, text: str) -> int:
        out = getattr(_local, "out", None)
        if out is None:
            return self.real.write(text)
        if not isinstance(text, str):  # click probes with b"": say "text stream"
            raise TypeError("write() argument must be str")
        if text:
            out.put({self.kind: text})
        return len(text)

    def flush(self) -> None:
        if getattr(_local, "out", None) is None:
            self.real.flush()

    def isatty(self) -> bool:
        if getattr(_local, "out", None) is None:
            return self.real.isatty()
        return bool((_local.terminal or {}).get(self.kind))

    @property
    def encoding(self) -> str:
        return "utf-8" if forwarded() else getattr(self.real, "encoding", "utf-8")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def install_routing() -> None:
    """Put the per-thread routers in front of sys.stdout and sys.stderr (idempotent)."""
    if not isinstance(sys.stdout, _Router):
        sys.stdout = _Router(sys.stdout, "out")
    if not isinstance(sys.stderr, _Router):
        sys.stderr = _Router(sys.stderr, "err")


class CbiConsole(Console):
    """A rich console that never wraps when its output is not a terminal, and that takes the
    client's terminal width in a forwarded command."""

    @property
    def size(self) -> ConsoleDimensions:
        if not self.is_terminal:  # a pipe, a file, a log: never wrap (COLUMNS or not)
            return ConsoleDimensions(UNWRAPPED, 25)
        terminal = getattr(_local, "terminal", None) if forwarded() else None
        if terminal and terminal.get("width"):
            return ConsoleDimensions(int(terminal["width"]), int(terminal.get("height") or 25))
        return super().size

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


console = CbiConsole()
stderr = err = CbiConsole(stderr=True)


def terminal_info() -> dict[str, Any]:
    """This process's terminal, as a forwarded command should see it."""
    import shutil

    size = shutil.get_terminal_size()
    return {"out": _isatty(sys.stdout), "err": _isatty(sys.stderr), "width": size.columns,
            "height": size.lines}


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


# ---- errors ----------------------------------------------------------------------------------
def fail(message: str, code: int = 2) -> None:
    """Stop the command: one line on stderr (`error: …`, secrets masked), exit `code`."""
    raise CommandFailed(message, exit_code=code)


def report_error(exc: BaseException) -> int:
    """Print an error the one way (traceback only with -v); return its exit code."""
    from cbi.secrets import redact

    if verbose():
        stderr.out(redact(format_traceback(exc)), highlight=False, end="")
    message = redact(one_line(exc))
    stderr.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return exit_code(exc)


def info(message: str) -> None:
    """A note for the operator on stderr (not data); hidden by -q."""
    if not quiet():
        stderr.print(message, highlight=False, markup=False, soft_wrap=True)


# ---- the warehouse ---------------------------------------------------------------------------
def open_warehouse(read_only: bool = False, role: str = "collector"):
    """The configured warehouse (the owner's, in a forwarded command); errors exit 2.

    Read-only in a forwarded command: queries are checked and run in a transaction that is
    always rolled back, on the owner's connection.
    """
    from cbi.warehouse import connect

    lent = lent_warehouse()
    job = _recorded_job()
    if lent is not None:
        wh = lent.read_only_view() if read_only else lent
        return _Recording(wh, lent, job, None) if job else wh
    wh = connect(read_only=read_only, role=role)
    if job is None:
        return wh
    # A command run by hand leaves its run row and costs as a scheduled job does (18.6);
    # a read-only one (export) writes them through a writable connection once it is done.
    writer = (lambda: connect(role=role)) if read_only else None
    return _Recording(wh, wh, job, writer)


def _recorded_job() -> str | None:
    from typer._click.globals import get_current_context

    from cbi.ops.runs import command_job

    ctx = get_current_context(silent=True)
    return command_job(ctx.command_path) if ctx is not None else None


class _Recording:
    """`with open_warehouse() as wh:` for a recorded command: the warehouse itself inside the
    block; the run row around it (`cbi.ops.runs.recorded_command`)."""

    def __init__(self, wh: Warehouse, owner: Any, job: str, writer: Any) -> None:
        self.wh, self.owner, self.job, self.writer = wh, owner, job, writer
        self._record: Any = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wh, name)

    def __enter__(self) -> Any:
        from cbi.config import get_settings
        from cbi.ops.runs import recorded_command

        record_on = self.owner if self.writer is None else self.wh
        self._record = recorded_command(record_on, get_settings(), self.job, self.writer)
        self._record.__enter__()
        return self.wh

    def __exit__(self, *exc: Any) -> bool:
        here = lent_warehouse() is None  # a forwarded command's warehouse is the owner's
        try:
            if here and self.writer is not None:
                self.wh.close()  # DuckDB: free the file for the writable connection
            return bool(self._record.__exit__(*exc))
        finally:
            if here and self.writer is None:
                self.wh.close()


# ---- records ---------------------------------------------------------------------------------
def check_format(fmt: str, allowed: Iterable[str] = ("table", "csv", "json")) -> str:
    allowed = tuple(allowed)
    if fmt not in allowed:
        fail(f"unknown format {fmt!r}; choose {', '.join(allowed[:-1])} or {allowed[-1]}")
    return fmt


def _rows(records: Any) -> tuple[list[str], list[dict[str, Any]]]:
    if hasattr(records, "to_pylist") and hasattr(records, "column_names"):
        return list(records.column_names), records.to_pylist()
    rows = list(records)
    columns = list(dict.fromkeys(k for r in rows for k in r))
    return columns, rows


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)


def print_records(records: Any, fmt: str = "table", *, columns: list[str] | None = None,
                  title: str | None = None, max_rows: int | None = None) -> None:
    """Rows (an Arrow table or dicts) in one of FORMATS on stdout.

    csv: RFC 4180 minimal quoting (Python's csv), a header row; json: one array; ndjson: one
    object a line; table: at most `max_rows` rows (default TABLE_MAX_ROWS) and an "N of M rows"
    footer when cut. For csv/json/ndjson `max_rows` is no limit unless given.
    """
    names, rows = _rows(records)
    columns = columns or names
    total = len(rows)
    limit = max_rows if max_rows is not None else (TABLE_MAX_ROWS if fmt == "table" else None)
    shown = rows if limit is None else rows[:max(limit, 0)]
    out = sys.stdout
    if fmt == "csv":
        buffer = io.StringIO()  # whole blocks, not a write per row (a forwarded command streams them)
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        for i, row in enumerate(shown, 1):
            writer.writerow([_text(row.get(c)) for c in columns])
            if i % 2000 == 0:
                out.write(buffer.getvalue())
                buffer.seek(0)
                buffer.truncate()
        out.write(buffer.getvalue())
    elif fmt == "json":
        out.write(json.dumps([{c: row.get(c) for c in columns} for row in shown], default=str) + "\n")
    elif fmt == "ndjson":
        for start in range(0, len(shown), 2000):
            out.write("".join(json.dumps({c: row.get(c) for c in columns}, default=str) + "\n"
                              for row in shown[start:start + 2000]))
    else:
        from rich.table import Table

        table = Table(*columns, title=title)
        for row in shown:
            table.add_row(*(escape(_text(row.get(c))) for c in columns))
        console.print(table)
    out.flush()
    if len(shown) < total:
        note = f"{len(shown)} of {total} rows (--max-rows N to change)"
        if fmt == "table":
            console.print(note, highlight=False)
        else:
            info(note)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, default=_plain) + "\n")


def _plain(value: Any) -> Any:
    """JSON for what `json` does not know: numpy scalars as numbers, the rest as text."""
    if hasattr(value, "item") and not isinstance(value, (dict, list)):
        try:
            return value.item()
        except (TypeError, ValueError):
            pass
    return str(value)
    sys.stdout.flush()


# ---- progress --------------------------------------------------------------------------------
class _Progress:
    """One bar of a progress display (a no-op when nothing is drawn): `advance`/`update` move
    it, `step(label)` advances one named step, `sub` adds another bar to the same display."""

    def __init__(self, bars: Any, description: str, total: int | None) -> None:
        self.bars, self.done, self.total, self.description = bars, 0, total, description
        self.task = bars.add_task(description, total=total) if bars is not None else None

    def advance(self, n: int = 1, description: str | None = None) -> None:
        self.done += n
        self.update(self.done, description=description)

    def step(self, label: str) -> None:
        """One step done: the bar names it (`features build: merged`)."""
        self.advance(description=f"{self.description}: {label}")

    def update(self, completed: int, total: int | None = None,
               description: str | None = None) -> None:
        self.done = completed
        if total is not None:
            self.total = total
        if self.bars is not None:
            extra = {"description": description} if description else {}
            self.bars.update(self.task, completed=completed, total=self.total, **extra)

    def sub(self, description: str, total: int | None = None) -> _Progress:
        """Another bar under this one (a horizon's folds, a root's days)."""
        return _Progress(self.bars, description, total)


@contextlib.contextmanager
def progress(description: str, total: int | None = None) -> Iterator[_Progress]:
    """A progress display on stderr (never stdout: that is the results) while the body runs:
    counts, and the time left when the total is known.

    Only on a terminal and without -q: in pipes, cron logs and tests it prints nothing.
    """
    if quiet() or not stderr.is_terminal:
        yield _Progress(None, description, total)
        return
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn,
                               TextColumn, TimeElapsedColumn, TimeRemainingColumn)

    bars = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                    MofNCompleteColumn(), TextColumn("eta"), TimeRemainingColumn(),
                    TimeElapsedColumn(), console=stderr, transient=False)
    with bars:
        yield _Progress(bars, description, total)
