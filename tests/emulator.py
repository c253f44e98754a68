"""The BigQuery emulator (local-bigquery 0.3.2) on loopback, in its own Python 3.13 venv.

`make emulator` builds the venv; this module starts the server with a private HOME whose
`.duckdb/extensions/v1.5.5/linux_amd64/` links the extension files shipped as wheels, so the
emulator's DuckDB never tries to download them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
#: local-bigquery's server with its table lookup made cheap (see that module)
SERVER = Path(__file__).resolve().parent / "emulator_server.py"
DUCKDB_VERSION = "v1.5.5"


def emulator_python() -> Path | None:
    candidates = [os.environ.get("CBI_EMULATOR_PYTHON"), str(REPO / ".emulator/venv/bin/python")]
    for c in candidates:
        if c and Path(c).exists():
            return Path(c)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _link_extensions(python: Path, home: Path) -> None:
    site = next((python.parent.parent / "lib").glob("python3.*/site-packages"))
    target = home / ".duckdb" / "extensions" / DUCKDB_VERSION / "linux_amd64"
    target.mkdir(parents=True, exist_ok=True)
    for ext in site.glob(f"duckdb_extension_*/extensions/{DUCKDB_VERSION}/*.duckdb_extension"):
        link = target / ext.name
        if not link.exists():
            link.symlink_to(ext)


class Emulator:
    def __init__(self, workdir: Path, check_lookup: bool = False) -> None:
        python = emulator_python()
        if python is None:
            raise RuntimeError("BigQuery emulator not installed: run `make emulator`")
        self.port, self.grpc_port = free_port(), free_port()
        home = workdir / "home"
        _link_extensions(python, home)
        data = workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        self.log = open(workdir / "emulator.log", "wb")
        env = {**os.environ, "HOME": str(home)}
        if check_lookup:
            env["EMULATOR_CHECK_LOOKUP"] = "1"
        self.proc = subprocess.Popen(
            [str(python), "-P", str(SERVER), "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--grpc-port", str(self.grpc_port), "--project", "cbi-v14", "--data-dir", str(data)],
            env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._wait()

    def _wait(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"emulator exited with {self.proc.returncode}; see {self.log.name}")
            try:
                r = httpx.get(f"{self.endpoint}/bigquery/v2/projects/cbi-v14/datasets", timeout=2)
                if r.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"emulator did not answer within {timeout}s")

    def url(self, project: str | None = None) -> str:
        """A warehouse URL on a fresh project: projects are isolated from each other."""
        project = project or f"test-{uuid.uuid4().hex[:10]}"
        return (f"bigquery://{project}?location=us-central1&endpoint={self.endpoint}"
                f"&grpc=127.0.0.1:{self.grpc_port}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
