"""The Accelerator planner on a success-plan sessions pool of the workspace: sessions used from
its usage, the entitlement from its yearly grant, the schedule recorded as its plan."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from creditops.adapters.storage.tables import MilestoneRow
from creditops.services import workspace as ws
from tests.conftest import EXAMPLES
from tests.workspace.test_cli import run

PLAN = ["accelerators", "plan", "--catalogue", str(EXAMPLES / "accelerator-catalogue.csv"),
        "--backlog", str(EXAMPLES / "backlog.csv"), "--start", "2026-11-01", "--quarters", "4"]


@pytest.fixture
def demo(sqlite_url: str, capsys, monkeypatch) -> str:
    monkeypatch.setenv("CREDITOPS_DATABASE_URL", sqlite_url)
    for args in (["init"], ["load", str(EXAMPLES / "demo" / "register.yaml")],
                 ["import", "usage", str(EXAMPLES / "demo" / "usage.csv")]):
        assert run(capsys, monkeypatch, *args)[0] == 0
    return sqlite_url


def milestones(url: str) -> list[MilestoneRow]:
    workspace = ws.open_workspace(url)
    with workspace.session() as session:
        rows = list(session.scalars(select(MilestoneRow).where(
            MilestoneRow.pool_id == "accelerators").order_by(MilestoneRow.day)))
    workspace.close()
    return rows


def test_plan_on_a_pool_counts_its_sessions_and_records_milestones(demo, capsys, monkeypatch
                                                                   ) -> None:
    code, out, _ = run(capsys, monkeypatch, *PLAN, "--pool", "accelerators", "--json")
    assert code == 0
    years = {y["start"]: y for y in json.loads(out)["contract_years"]}
    assert years["2025-02-01"]["entitled"] == 4 and years["2025-02-01"]["used"] == 3
    assert years["2026-02-01"]["used"] == 1  # the session of 21 April 2026
    assert milestones(demo) == []  # nothing recorded without --record

    code, out, _ = run(capsys, monkeypatch, *PLAN, "--pool", "accelerators", "--record")
    assert code == 0 and "recorded as plan milestones of accelerators" in out
    recorded = milestones(demo)
    assert len(recorded) == 4 and all(m.origin == "accelerators" for m in recorded)
    assert recorded[0].day.isoformat() >= "2026-11-01" and recorded[0].quantity == 1
    code, out, _ = run(capsys, monkeypatch, *PLAN, "--pool", "accelerators", "--record")
    assert "0 created, 0 updated, 4 unchanged, 0 removed" in out
    import_id = out.split("(import ")[1].split(")")[0]
    code, out, _ = run(capsys, monkeypatch, *PLAN, "--pool", "accelerators", "--record",
                       "--quarters", "2")
    assert "2 removed" in out and len(milestones(demo)) == 2
    assert run(capsys, monkeypatch, "imports", "rollback", str(int(import_id) + 1))[0] == 0
    assert len(milestones(demo)) == 4


def test_record_needs_a_pool_and_the_pool_must_exist(demo, capsys, monkeypatch) -> None:
    code, _, err = run(capsys, monkeypatch, *PLAN, "--record")
    assert code == 2 and "--record needs --pool" in err
    code, _, err = run(capsys, monkeypatch, *PLAN, "--pool", "nope")
    assert code == 3 and "no pool 'nope'" in err
