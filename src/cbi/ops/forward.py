"""Any `cbi` command while `cbi serve` owns the DuckDB file: the command runs in the owner.

The client (`forward`, called by `cbi.cli.main` before parsing) resolves the command's path
arguments to absolute paths, sends argv with its terminal (tty or not, width) and its flags to
the owner's job API, and replays what comes back: stdout to stdout, stderr to stderr, then the
exit status. The owner (`cbi.ops.owner.run_command`) runs the same click command in a worker
thread where `cbi.console` lends it the owner's warehouse (read-only commands get a view whose
queries are checked and always rolled back) and routes the thread's stdout/stderr into the
stream. So a forwarded command prints what it prints alone. Commands that manage the owner or
need no warehouse always run locally.

The argv walk both sides share lives in `cbi.ops.argv`; the job API's one client
(`post_stream`) in `cbi.ops.owner`. Dependencies go one way: forward -> owner -> argv.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from cbi.ops.argv import (  # noqa: F401 - the old names of the argv walk
    GLOBAL_FLAGS,
    GLOBAL_VALUE_OPTIONS,
    absolutize,
    expand_multi,
    global_values,
    leaf_command,
    split_globals,
)
from cbi.ops.owner import LentWarehouse, run_command  # noqa: F401 - the owner side's old names

#: Commands that run here even while an owner is up (they route their own jobs or need no file).
LOCAL = frozenset({"serve", "demo", "run", "job", "status", "cost", "cron", "config", "secrets",
                   "iam", "dashboard", "sentiment", "models list"})


def lent_warehouse() -> Any | None:  # kept for callers of the old name
    from cbi.console import lent_warehouse as lent

    return lent()


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
