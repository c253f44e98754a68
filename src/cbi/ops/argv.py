"""The `cbi` argv walk that the client and the owner share: where the root options end, which
command the words name, `--file A B` as `--file A --file B` for multi-value options, and every
path argument made absolute (the owner runs in another folder). Reads click's command tree
only; imports nothing else of CBI.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePath
from typing import Any, Callable, Union, get_args, get_origin

#: Root options that take a value (the rest are flags).
GLOBAL_VALUE_OPTIONS = frozenset({"-w", "--warehouse"})
GLOBAL_FLAGS = frozenset({"-v", "--verbose", "-q", "--quiet", "--version", "--help"})


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
