"""`python -m bench` (what `make bench` runs): list the benchmarks, or run them.

    python -m bench                 list every benchmark with its one-line purpose
    python -m bench all             run every benchmark in turn (each with its defaults)
    python -m bench NAME [ARGS…]    run one (the same as `python -m bench.NAME ARGS…`)

A benchmark is a module of this folder with a `main()`; figures go to bench/RESULTS.md by
hand, with the machine and the date (DESIGN.md: never timed assertions in tests).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def benchmarks() -> dict[str, str]:
    """name -> the first line of its docstring, for every module with a `main()`."""
    out = {}
    for path in sorted(HERE.glob("*.py")):
        if path.name.startswith("_"):
            continue
        tree = ast.parse(path.read_text())
        if any(isinstance(n, ast.FunctionDef) and n.name == "main" for n in tree.body):
            doc = (ast.get_docstring(tree) or "").strip().splitlines()
            out[path.stem] = doc[0] if doc else ""
    return out


def run(name: str, args: list[str]) -> int:
    print(f"== bench.{name} {' '.join(args)}".rstrip(), flush=True)
    return subprocess.call([sys.executable, "-m", f"bench.{name}", *args], cwd=HERE.parent)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    found = benchmarks()
    if not argv or argv[0] in ("-h", "--help", "list"):
        width = max(map(len, found), default=0)
        for name, purpose in found.items():
            print(f"{name:<{width}}  {purpose}")
        print("\nrun one: make bench BENCH=NAME (python -m bench NAME); all: make bench BENCH=all")
        return 0
    if argv[0] == "all":
        failed = [name for name in found if run(name, []) != 0]
        if failed:
            print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1 if failed else 0
    if argv[0] not in found:
        print(f"error: no benchmark {argv[0]!r}; benchmarks: {', '.join(found)}", file=sys.stderr)
        return 2
    return run(argv[0], argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
