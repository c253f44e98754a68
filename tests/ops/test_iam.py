"""Dataset access per role: the plan, and --apply through the client (idempotent)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from cbi.ops import iam


def test_plan_gives_each_role_its_datasets():
    entries = iam.plan("cbi-v14")
    by_role = {(e.for_role, e.dataset): e.role for e in entries}
    assert by_role[("collector", "market_data")] == "WRITER"
    assert by_role[("collector", "features")] == "WRITER"
    assert by_role[("training", "training")] == "READER"
    assert by_role[("training", "predictions")] == "WRITER"
    assert by_role[("dashboard", "predictions")] == "READER"
    assert {e.dataset for e in entries if e.for_role == "dashboard"} == {
        "predictions", "market_data", "ops"}
    assert all(e.role == "READER" for e in entries if e.for_role in ("dashboard", "operator"))
    assert {e.member for e in entries if e.for_role == "training"} == {
        "cbi-training@cbi-v14.iam.gserviceaccount.com"}
    custom = iam.plan("p", {"dashboard": "dash@p.iam.gserviceaccount.com"})
    assert any(e.member == "dash@p.iam.gserviceaccount.com" for e in custom)


class FakeClient:
    def __init__(self):
        self.datasets, self.updates = {}, []

    def get_dataset(self, ref):
        return self.datasets.setdefault(ref, SimpleNamespace(access_entries=[]))

    def update_dataset(self, ds, fields):
        self.updates.append(fields)
        return ds


def test_apply_adds_missing_entries_once():
    client = FakeClient()
    entries = iam.plan("cbi-v14")
    assert len(iam.apply(client, "cbi-v14", entries)) == len(entries)
    assert iam.apply(client, "cbi-v14", entries) == []
    preds = client.datasets["cbi-v14.predictions"].access_entries
    assert {(a.role, a.entity_id) for a in preds} == {
        ("WRITER", "cbi-training@cbi-v14.iam.gserviceaccount.com"),
        ("READER", "cbi-dashboard@cbi-v14.iam.gserviceaccount.com"),
        ("READER", "cbi-operator@cbi-v14.iam.gserviceaccount.com")}
    assert all(f == ["access_entries"] for f in client.updates)


# ---- the plan covers what each role's code touches -------------------------------------------------
SRC = Path(__file__).resolve().parents[2] / "src" / "cbi"
DATASETS = ("market_data", "features", "training", "predictions", "ops")
#: The code each role runs: its commands' modules and the SQL files beside them.
ROLE_CODE = {
    "dashboard": ["dashboard"],
    "training": ["models", "predict.py"],
    "collector": ["feeds", "transform", "export.py", "ops/retention.py"],
    "operator": [],
}
#: Every role writes its run log, costs and alerts (cbi.ops.runs) when it runs a job.
RUN_LOG_ROLES = ("collector", "training")


def _touched(paths: list[Path]) -> tuple[set[str], set[str]]:
    """(datasets read, datasets written) by the SQL files and Python modules under `paths`."""
    import re

    import sqlglot
    from sqlglot import exp

    ref = re.compile(r"\b(" + "|".join(DATASETS) + r")\.[A-Za-z_{][A-Za-z0-9_{}]*")
    merge = re.compile(r"merge\(\s*f?[\"'](" + "|".join(DATASETS) + r")\.")
    reads: set[str] = set()
    writes: set[str] = set()
    files = [f for p in paths for f in ([p] if p.is_file() else sorted(p.rglob("*")))]
    for f in files:
        text = f.read_text() if f.suffix in (".sql", ".py") else ""
        if f.suffix == ".sql":
            for stmt in sqlglot.parse(re.sub(r"[{}]", "", text), read="bigquery"):
                if stmt is None:
                    continue
                for node in stmt.find_all(exp.Insert, exp.Merge, exp.Delete, exp.Update, exp.Create):
                    target = node.this if isinstance(node.this, exp.Table) else node.find(exp.Table)
                    if target is not None and target.db in DATASETS:
                        writes.add(target.db)
                reads |= {t.db for t in stmt.find_all(exp.Table) if t.db in DATASETS}
        elif f.suffix == ".py":
            writes |= {m.group(1) for m in merge.finditer(text)}
            reads |= {m.group(1) for m in ref.finditer(text)}
    return reads, writes


def test_the_plan_grants_each_role_what_its_code_touches():
    for role, parts in ROLE_CODE.items():
        reads, writes = _touched([SRC / p for p in parts])
        if role in RUN_LOG_ROLES:
            writes.add("ops")
        granted = dict(iam.ROLE_ACCESS[role])
        assert writes <= {d for d, a in granted.items() if a == "WRITER"}, (role, writes)
        assert reads <= set(granted), (role, reads - set(granted))
    assert _touched([SRC / "dashboard"])[0] >= {"predictions", "market_data", "ops"}
    assert {d for d, _ in iam.ROLE_ACCESS["operator"]} == set(DATASETS)


def test_commands_run_as_the_role_that_covers_them():
    import inspect

    from cbi.ops import core_commands, runs

    assert runs.role_for("train") == runs.role_for("predict") == "training"
    assert 'role="operator"' in inspect.getsource(core_commands.query_cmd)
    assert set(runs.JOB_ROLES.values()) | {"collector"} <= set(iam.ROLE_ACCESS)
    assert all("roles/bigquery.readSessionUser" in r for r in iam.PROJECT_ROLES.values())
    assert "bigquerystorage.googleapis.com" in iam.APIS
