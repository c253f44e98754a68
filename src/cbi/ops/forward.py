"""Any `cbi` command while `cbi serve` owns the DuckDB file: the command runs in the owner.

The client (`forward`, called by `cbi.cli.main` before parsing) resolves the command's path
arguments to absolute paths, sends argv with its terminal (tty or not, width) and its flags to
the owner's job API, and replays what comes back: stdout to stdout, stderr to stderr, then the
exit status. The owner (`run_command`) runs the same click command in a worker thread where
`cbi.console` lends it the owner's warehouse (read-only commands get a view whose queries are
checked and always rolled back) and routes the thread's stdout/stderr into the stream. So a
forwarded command prints what it prints alone. Commands that manage the owner or need no
warehouse always run locally.

Also here: the argv walk both sides share (`leaf_command`, `expand_multi`, `absolutize`):
`--file A B` is `--file A --file B` for multi-value options.
"""

from __future__ import annotations

import os
import queue
import sys
from pathlib import Path, PurePath
from typing import Any, Callable, Union, get_args, get_origin

#: Commands that run here even while an owner is up (they route their own jobs or need no file).
LOCAL = frozenset({"serve", "demo", "run", "job", "status", "cost", "cron", "config", "secrets",
                   "iam", "dashboard", "sentiment", "models list"})
#: Root options that take a value (the rest are flags).
GLOBAL_VALUE_OPTIONS = frozenset({"-w", "--warehouse"})
GLOBAL_FLAGS = frozenset({"-v", "--verbose", "-q", "--quiet", "--version", "--help"})


class LentWarehouse:
    """The owner's Warehouse for one forwarded command: usable, but not the command's to close."""

    def __init__(self, wh: Any) -> None:
        self._wh = wh

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wh, name)

    def read_only_view(self) -> Any:
        return self._wh.read_only_view()

    def close(self) -> None:
        pass

    def __enter__(self) -> LentWarehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def lent_warehouse() -> Any | None:  # kept for callers of the old name
    from cbi.console import lent_warehouse as lent

    return lent()


# ---- argv --------------------------------------------------------------------------------------
def split_globals(argv: list[str]) -> tuple[list[str], list[str]]:
    """(root options, the command and its arguments)."""
    i = 0
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "--":
        name = argv[i].split("=", 1)[0]
        i += 2 if name in GLOBAL_VALUE_OPTIONS and "=" not in argv[i] else 1
    return argv[:i], argv[i:]


def global_values(options: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"verbose": False, "quiet": False, "warehouse": None}
    i = 0
    while i < len(options):
        name, eq, value = options[i].partition("=")
        if name in GLOBAL_VALUE_OPTIONS:
            if not eq:
                value = options[i + 1] if i + 1 < len(options) else ""
                i += 1
            out["warehouse"] = value
        elif name in ("-v", "--verbose"):
            out["verbose"] = True
        elif name in ("-q", "--quiet"):
            out["quiet"] = True
        i += 1
    return out


def leaf_command(root: Any, rest: list[str]) -> tuple[Any | None, int]:
    """The command `rest` names under `root` (a typer/click command tree) and how many words
    named it; None when `rest` names a group or nothing."""
    cmd: Any = root
    used = 0
    while hasattr(cmd, "commands") and used < len(rest) and not rest[used].startswith("-"):
        cmd = cmd.commands.get(rest[used])
        used += 1
    return (None if cmd is None or hasattr(cmd, "commands") else cmd), used


def _is_option(param: Any) -> bool:
    return type(param).__name__.endswith("Option")


def _is_argument(param: Any) -> bool:
    return type(param).__name__.endswith("Argument")


def _mentions_path(annotation: Any) -> bool:
    if annotation is Path or (isinstance(annotation, type) and issubclass(annotation, PurePath)):
        return True
    if get_origin(annotation) in (list, tuple, Union) or get_args(annotation):
        return any(_mentions_path(a) for a in get_args(annotation))
    return False


def _is_path(param: Any) -> bool:
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None:
        return _mentions_path(getattr(descriptor, "annotation", None))
    return type(getattr(param, "type", None)).__name__ == "Path"  # plain click


def _multi(cmd: Any, param: Any) -> bool:
    """Several values after one flag: multi-value path options, and any repeatable option of
    a command without positional arguments (nothing else could claim the words)."""
    if not getattr(param, "multiple", False):
        return False
    has_args = any(_is_argument(p) for p in cmd.params)
    return _is_path(param) or not has_args


def _walk(cmd: Any, args: list[str], fix: Callable[[Any, str], str], expand: bool) -> list[str]:
    options = {o: p for p in cmd.params if _is_option(p) for o in (*p.opts, *p.secondary_opts)}
    arguments = [p for p in cmd.params if _is_argument(p)]
    out: list[str] = []
    position = 0  # index into `arguments`
    i = 0
    while i < len(args):
        token = args[i]
        if token == "--":
            out.append(token)
            for value in args[i + 1:]:
                out.append(_positional(arguments, position, value, fix))
                position += 0 if _variadic(arguments, position) else 1
            break
        if token.startswith("-") and len(token) > 1:
            name, eq, value = token.partition("=")
            param = options.get(name)
            if param is None or param.is_flag or getattr(param, "count", False) \
                    or name in param.secondary_opts:
                out.append(token)
                i += 1
                continue
            if eq:
                out.append(f"{name}={fix(param, value)}")
                i += 1
                continue
            values = args[i + 1:i + 2]
            if not values:  # no value: click says so ("requires an argument")
                out.append(token)
                break
            j = i + 2
            if expand and _multi(cmd, param):
                while j < len(args) and not (args[j].startswith("-") and len(args[j]) > 1):
                    values.append(args[j])
                    j += 1
            for value in values:
                out += [name, fix(param, value)]
            i = j
            continue
        out.append(_positional(arguments, position, token, fix))
        position += 0 if _variadic(arguments, position) else 1
        i += 1
    return out


def _variadic(arguments: list[Any], position: int) -> bool:
    return position < len(arguments) and arguments[position].nargs == -1


def _positional(arguments: list[Any], position: int, value: str,
                fix: Callable[[Any, str], str]) -> str:
    if position < len(arguments):
        return fix(arguments[position], value)
    return value


def expand_multi(root: Any, argv: list[str]) -> list[str]:
    """`--file A B` -> `--file A --file B` for the leaf command's multi-value options."""
    options, rest = split_globals(argv)
    cmd, used = leaf_command(root, rest)
    if cmd is None:
        return argv
    return [*options, *rest[:used], *_walk(cmd, rest[used:], lambda p, v: v, expand=True)]


def absolutize(root: Any, argv: list[str], cwd: str | None = None,
               mapping: dict[str, str] | None = None) -> list[str]:
    """Every path argument of the leaf command made absolute (against `cwd`): the owner runs
    in another folder. `mapping` collects absolute -> as typed, to print paths as typed."""
    cwd = cwd or os.getcwd()
    options, rest = split_globals(argv)
    cmd, used = leaf_command(root, rest)
    if cmd is None:
        return argv

    def fix(param: Any, value: str) -> str:
        if not _is_path(param) or value == "-" or not value:
            return value
        absolute = os.path.normpath(os.path.join(cwd, os.path.expanduser(value)))
        if mapping is not None and absolute != value:
            mapping[absolute] = value
        return absolute

    return [*options, *rest[:used], *_walk(cmd, rest[used:], fix, expand=True)]


# ---- owner side ------------------------------------------------------------------------------
def run_command(root: Any, argv: list[str], wh: Any, out: queue.Queue,
                terminal: dict[str, Any] | None = None) -> int:
    """Run `cbi ARGV` in this thread on the owner's warehouse; return its exit code.

    Root options that change the process (`-w`) are the client's business: the client found
    this owner with them. `-v`/`-q` apply to this command only.
    """
    from cbi import console

    if wh is None:
        raise RuntimeError("this owner lends no warehouse")
    options, rest = split_globals(argv)
    flags = global_values(options)
    argv = [*(["-v"] if flags["verbose"] else []), *(["-q"] if flags["quiet"] else []), *rest]
    with console.lend(LentWarehouse(wh), out, terminal):
        try:
            root.main(args=argv, prog_name="cbi", standalone_mode=True)
            return 0
        except SystemExit as exc:
            code = exc.code
            return code if isinstance(code, int) else (0 if code is None else 1)
        except Exception as exc:  # noqa: BLE001 - reported like the CLI does, then its code
            return console.report_error(exc)


# ---- client side -----------------------------------------------------------------------------
def forward(argv: list[str], root: Any) -> int | None:
    """Client side: the exit code of `cbi ARGV` run in the owner; None to run it here."""
    options, rest = split_globals(argv)
    flags = global_values(options)
    from cbi import console

    console.set_flags(verbose=flags["verbose"], quiet=flags["quiet"])
    if not rest or rest[0] in LOCAL or " ".join(rest[:2]) in LOCAL or "--help" in argv \
            or "--version" in options:
        return None
    if flags["warehouse"]:
        os.environ["CBI_WAREHOUSE"] = flags["warehouse"]
        from cbi.config import reset_settings_cache

        reset_settings_cache()
    from cbi.config import get_settings
    from cbi.ops.owner import find_owner

    owner = find_owner(get_settings(), on_stale=console.info)
    if owner is None:
        return None
    typed: dict[str, str] = {}
    sent = [o for o in _without_warehouse(options)] + absolutize(root, rest, mapping=typed)
    return stream_command(owner, sent, flags, typed)


def _without_warehouse(options: list[str]) -> list[str]:
    out, skip = [], False
    for token in options:
        if skip:
            skip = False
            continue
        name = token.split("=", 1)[0]
        if name in GLOBAL_VALUE_OPTIONS:
            skip = "=" not in token
            continue
        out.append(token)
    return out


def stream_command(owner: Any, argv: list[str], flags: dict[str, Any],
                   typed: dict[str, str] | None = None) -> int:
    """Send argv to the owner and replay its stdout, stderr and exit status.

    `typed`: absolute path -> the path as the caller typed it; output names the file as the
    command run here would (the owner only ever saw the absolute path).
    """
    swaps = sorted((typed or {}).items(), key=lambda kv: len(kv[0]), reverse=True)

    def as_typed(text: str) -> str:
        for absolute, original in swaps:
            text = text.replace(absolute, original)
        return text

    from cbi import console
    from cbi.ops.owner import OwnerGone, post_stream

    if flags.get("verbose"):
        print(f"cbi serve (pid {owner.pid}) owns the warehouse: running `cbi {' '.join(argv)}` "
              "there", file=sys.stderr)
    body = {"argv": argv, "terminal": console.terminal_info(), "cwd": os.getcwd()}
    for msg in post_stream(owner, "/commands", body, what=f"`cbi {' '.join(argv)}`"):
        if "out" in msg:
            sys.stdout.write(as_typed(msg["out"]))
            sys.stdout.flush()
        elif "err" in msg:
            sys.stderr.write(as_typed(msg["err"]))
            sys.stderr.flush()
        elif "log" in msg:
            print(as_typed(msg["log"]), file=sys.stderr)
        elif "error" in msg:
            raise OwnerGone(msg["error"])
        elif "exit" in msg:
            sys.stdout.flush()
            return int(msg["exit"])
    raise OwnerGone(f"cbi serve (pid {owner.pid}) stopped while running `cbi {' '.join(argv)}` "
                    "(its stream ended early); run it again: with no owner it runs here")
