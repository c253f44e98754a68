"""Dataset access per role: the plan, and --apply through the client (idempotent)."""

from __future__ import annotations

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
    assert not any(e.for_role == "dashboard" and e.dataset != "predictions" for e in entries)
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
        ("READER", "cbi-dashboard@cbi-v14.iam.gserviceaccount.com")}
    assert all(f == ["access_entries"] for f in client.updates)
