"""Shared fixtures: a warehouse on each engine, the BigQuery emulator, fresh settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.emulator import Emulator, emulator_python

REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
IN_CI = os.environ.get("CI") == "true"
#: The instant every test starts at (a Saturday: CME closed), whatever day the suite runs.
#: A test that needs another moment moves the clock itself (`time_machine.move_to`).
FROZEN_NOW = "2026-11-28T16:00:00+00:00"
CLOCK = Path(__file__).resolve().parent / "clock"


def require(condition: bool, reason: str) -> None:
    """Skip with a named reason; in CI a missing prerequisite is a failure, never a skip."""
    if not condition:
        if IN_CI:
            pytest.fail(f"CI prerequisite missing: {reason}")
        pytest.skip(reason)


@pytest.fixture(autouse=True)
def _frozen_clock(request, monkeypatch):
    """Tests never read the wall clock: time starts at FROZEN_NOW and ticks from there, in
    this process and in every Python subprocess it starts (tests/clock/sitecustomize.py).
    Cases on the BigQuery emulator keep the real clock: gRPC turns a timeout into an absolute
    deadline on the frozen clock and the C core compares it with the real one (every call
    would time out); those cases pass explicit dates and never ask what day it is."""
    import time_machine

    if request.node.get_closest_marker("bigquery"):
        yield
        return
    monkeypatch.setenv("CBI_TEST_NOW", FROZEN_NOW)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (str(CLOCK), os.environ.get("PYTHONPATH", "")) if p))
    with time_machine.travel(FROZEN_NOW, tick=True):
        yield


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch):
    """Every test runs in its own folder with no cbi.toml, no CBI_* and no API keys."""
    from cbi.config import Settings

    settings_env = {f"CBI_{f.upper()}" for f in Settings.model_fields} | {"CBI_CONFIG"}
    for name in list(os.environ):
        if name in settings_env or name in ("DATABENTO_API_KEY", "FRED_API_KEY", "NEWSAPI_KEY"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CBI_CONFIG", str(tmp_path / "cbi.toml"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    from cbi.config import reset_settings_cache

    reset_settings_cache()
    yield
    reset_settings_cache()


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    require(emulator_python() is not None, "BigQuery emulator not installed (run `make emulator`)")
    emu = Emulator(tmp_path_factory.mktemp("bigquery-emulator"))
    yield emu
    emu.stop()


@pytest.fixture
def duckdb_url(tmp_path) -> str:
    return f"duckdb:///{tmp_path}/cbi.duckdb"


@pytest.fixture(params=["duckdb", pytest.param("bigquery", marks=pytest.mark.bigquery)])
def warehouse_url(request, tmp_path) -> str:
    """A fresh, empty warehouse URL on each engine (conformance tests use this)."""
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path}/cbi.duckdb"
    return request.getfixturevalue("emulator").url()


@pytest.fixture
def wh(duckdb_url):
    """An initialised DuckDB warehouse, for the detailed cases (conformance runs on both)."""
    from cbi.warehouse import connect

    w = connect(duckdb_url)
    w.init()
    yield w
    w.close()


@pytest.fixture(scope="session")
def _initialised_bigquery(emulator) -> str:
    """One initialised emulator project shared by `warehouse` tests: an init on the
    emulator costs seconds, emptying the tables a test wrote costs far less."""
    from cbi.warehouse import connect

    url = emulator.url()
    wh = connect(url)
    wh.init()
    wh.close()
    return url


@pytest.fixture
def bigquery_warehouse(_initialised_bigquery):
    """The shared initialised emulator project; the tables a test wrote are emptied after it."""
    from cbi.warehouse import connect
    from tests.bigquery_writes import TABLES_WRITTEN

    wh = connect(_initialised_bigquery)
    TABLES_WRITTEN.pop(wh.project, None)
    yield wh
    written = TABLES_WRITTEN.pop(wh.project, set())
    if written:
        wh.cost_guard_bytes = None
        wh.execute(";\n".join(f"DELETE FROM {fqn} WHERE TRUE" for fqn in sorted(written)))
    TABLES_WRITTEN.pop(wh.project, None)
    wh.close()


@pytest.fixture(params=["duckdb", pytest.param("bigquery", marks=pytest.mark.bigquery)])
def warehouse(request, tmp_path):
    """An initialised, empty warehouse on each engine."""
    from cbi.warehouse import connect

    if request.param == "bigquery":
        yield request.getfixturevalue("bigquery_warehouse")
        return
    wh = connect(f"duckdb:///{tmp_path}/cbi.duckdb")
    wh.init()
    yield wh
    wh.close()


@pytest.fixture
def real_data() -> Path:
    require(REAL_DATA.exists(), f"real data folder {REAL_DATA} not present")
    return REAL_DATA
