"""Any `cbi` command while `cbi serve` owns the DuckDB file: the command runs in the owner.

The client (`forward`, called by `cbi.cli.main` before parsing) sends argv to the owner's
job API and prints what comes back; the owner (`run_command`) runs the same Typer app in a
worker thread where `cbi.cli.open_warehouse` lends the owner's Warehouse (closing it is a
no-op) and the shared consoles write into the stream. Commands that manage the owner or
need no warehouse always run locally.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
from typing import Any

#: Commands that run here even while an owner is up (they route their own jobs or need no file).
LOCAL = frozenset({"serve", "demo", "run", "job", "status", "cost", "cron", "config", "secrets",
                   "iam", "dashboard"})
_lent = threading.local()


class LentWarehouse:
    """The owner's Warehouse for one forwarded command: usable, but not the command's to close."""

    def __init__(self, wh: Any) -> None:
        self._wh = wh

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wh, name)

    def close(self) -> None:
        pass

    def __enter__(self) -> LentWarehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def lent_warehouse() -> LentWarehouse | None:
    """In a forwarded command's thread: the owner's warehouse; elsewhere None."""
    return getattr(_lent, "wh", None)


class _ThreadRouter:
    """A console file: writes from a forwarded command's thread go to its stream."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def write(self, text: str) -> int:
        out = getattr(_lent, "out", None)
        if out is None:
            return self.real.write(text)
        out.put({"out": text})
        return len(text)

    def flush(self) -> None:
        if getattr(_lent, "out", None) is None:
            self.real.flush()

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def _route_consoles() -> None:
    from cbi import cli

    for con in (cli.console, cli.err):
        if not isinstance(con.file, _ThreadRouter):
            con.file = _ThreadRouter(con.file)


def run_command(argv: list[str], wh: Any, out: queue.Queue) -> int:
    """Run `cbi ARGV` in this thread on the owner's warehouse; return its exit code."""
    import click

    from cbi import cli

    if wh is None:
        raise RuntimeError("this owner lends no warehouse")
    _route_consoles()
    _lent.wh, _lent.out = LentWarehouse(wh), out
    try:
        result = cli.app(argv, prog_name="cbi", standalone_mode=False)
        return int(result) if isinstance(result, int) else 0
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        out.put({"out": f"error: {exc.format_message()}\n"})
        return exc.exit_code
    finally:
        _lent.wh = _lent.out = None


def forward(argv: list[str]) -> int | None:
    """Client side: the exit code of `cbi ARGV` run in the owner; None to run it here."""
    command = next((a for a in argv if not a.startswith("-")), None)
    if command is None or command in LOCAL or "--help" in argv or argv[0].startswith("-"):
        return None
    from cbi.config import get_settings
    from cbi.ops.owner import OwnerError, _client, find_owner

    try:
        owner = find_owner(get_settings())
    except OwnerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if owner is None:
        return None
    return _stream_command(owner, argv, _client())


def _stream_command(owner: Any, argv: list[str], client: Any) -> int:
    import httpx

    print(f"cbi serve (pid {owner.pid}) owns the warehouse: running `cbi {' '.join(argv)}` there",
          file=sys.stderr)
    with client.stream("POST", f"{owner.url}/commands", json={"argv": argv},
                       headers={"Authorization": f"Bearer {owner.token}"},
                       timeout=httpx.Timeout(10, read=None)) as resp:
        if resp.status_code != 200:
            resp.read()
            print(f"error: the owner refused: HTTP {resp.status_code} {resp.text}", file=sys.stderr)
            return 2
        for line in resp.iter_lines():
            if not line.strip():
                continue
            msg = json.loads(line)
            if "out" in msg:
                sys.stdout.write(msg["out"])
            elif "log" in msg:
                print(msg["log"], file=sys.stderr)
            elif "error" in msg:
                print(f"error: {msg['error']}", file=sys.stderr)
                return 1
            elif "exit" in msg:
                sys.stdout.flush()
                return int(msg["exit"])
    return 1
