"""Plans in the register file and in CSV: validation with located errors, loading in place,
rollback; coverage, plan-vs-actual and the acceleration plan on a workspace; outcomes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest
from sqlalchemy import select

from creditops.adapters.register_file import read_register_file
from creditops.adapters.storage.tables import AccelerationPlanRow, MilestoneRow, PoolRow
from creditops.core.errors import InputError
from creditops.services.errors import NotFoundError
from creditops.services.imports import rollback_import
from creditops.services.plans import (
    OutcomeInput,
    accelerate,
    add_outcome,
    import_plan,
    list_outcomes,
    workspace_plans,
)
from creditops.services.workspace import load_register
from tests.monitoring.conftest import AS_OF, REGISTER


def write(tmp_path: Path, text: str, name: str = "register.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_register_file_reads_plans_and_alert_settings(tmp_path: Path) -> None:
    text = REGISTER.replace("{hook_port}", "9") + """\
alerts:
  digest: true
  recipients: ["finance@example.com"]
  consumption: {thresholds: ["0.9", "0.5"]}
  expiry: {days: [30, 60]}
  renewal: {enabled: false}
  plan_behind: {threshold: "0.3"}
"""
    text = text.replace("    grants:\n      - {id: flex-y", "    alerts:\n      projected_lapse: "
                        "{enabled: false}\n    grants:\n      - {id: flex-y")
    data = read_register_file(write(tmp_path, text))
    assert data.settings["alerts"] == {
        "consumption": {"enabled": True, "thresholds": ["0.5", "0.9"]},
        "expiry": {"enabled": True, "days": [60, 30]},
        "plan_behind": {"enabled": True, "threshold": "0.3"},
        "renewal": {"enabled": False}, "recipients": ["finance@example.com"], "digest": True}
    flex = next(p for p in data.pools if p["id"] == "flex")
    assert flex["attributes"]["alerts"] == {"projected_lapse": {"enabled": False},
                                            "recipients": []}
    assert "plan" not in flex and "alerts" not in flex
    ids = [m["id"] for m in data.milestones]
    assert ids == ["training@2026-03-31", "training@2026-06-30", "training@2026-11-30"]
    assert data.milestones[0]["quantity"] == D(10) and data.milestones[2]["project"] == "FSL"


@pytest.mark.parametrize(("snippet", "message"), [
    ("alerts:\n  expiry_soon: {}\n", "unknown key 'expiry_soon'; expected one of: consumption"),
    ("alerts:\n  consumption: {thresholds: [50, 80]}\n",
     "consumption threshold 50 is not a fraction between 0 and 1: write 0.5 for 50%"),
    ("alerts:\n  expiry: {days: [30, -7]}\n", "-7 is not a number of days"),
    ("alerts:\n  plan_behind: {threshold: \"2\"}\n", "plan-behind threshold 2"),
    ("notify: [\"slack://oops\"]\n", "slack://… is not a chat target"),
])
def test_bad_alert_settings_are_reported_with_their_line(tmp_path: Path, snippet: str,
                                                         message: str) -> None:
    text = REGISTER.replace("{hook_port}", "9") + snippet
    with pytest.raises(InputError) as raised:
        read_register_file(write(tmp_path, text))
    problem = str(raised.value)
    assert message in problem and "register.yaml, line" in problem


def test_duplicate_and_bad_milestones(tmp_path: Path) -> None:
    text = REGISTER.replace("{hook_port}", "9").replace(
        '{date: 2026-06-30, quantity: 10, description: "Developer certifications"}',
        '{id: m1, date: 2026-06-30, quantity: 10}\n      - {id: m1, date: 2026-07-30, '
        'quantity: "0"}')
    with pytest.raises(InputError) as raised:
        read_register_file(write(tmp_path, text))
    text_of = str(raised.value)
    assert "plan[2].quantity" in text_of and "greater than 0" in text_of
    fixed = text.replace('quantity: "0"}', 'quantity: 5}')
    with pytest.raises(InputError, match="duplicate milestone id 'm1'"):
        read_register_file(write(tmp_path, fixed))


def test_register_plans_load_in_place_and_roll_back(sqlite_url: str, make_workspace,
                                                    tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    workspace = make_workspace(sqlite_url)
    with workspace.session() as session:
        assert len(session.scalars(select(MilestoneRow)).all()) == 3
    changed = REGISTER.replace("{hook_port}", "9").replace(
        '      - {date: 2026-11-30, quantity: 15, description: "Consultant track", '
        'project: "FSL"}\n', "").replace("quantity: 10, description: \"Admin", "quantity: 12, "
                                         "description: \"Admin")
    summary = load_register(workspace, write(tmp_path, changed, "v2.yaml"), actor="test")
    assert summary.updated == 1
    with workspace.session() as session:
        rows = {r.id: r.quantity for r in session.scalars(select(MilestoneRow))}
    assert rows == {"training@2026-03-31": D(12), "training@2026-06-30": D(10)}
    rollback_import(workspace, summary.import_id)
    with workspace.session() as session:
        rows = {r.id: r.quantity for r in session.scalars(select(MilestoneRow))}
    assert rows == {"training@2026-03-31": D(10), "training@2026-06-30": D(10),
                    "training@2026-11-30": D(15)}


def test_plan_csv_import_is_idempotent_located_and_can_be_rolled_back(
        database_url: str, make_workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    workspace = make_workspace(database_url)
    csv = write(tmp_path, "pool,date,quantity,description,owner,project\n"
                "flex,2026-11-01,500,Launch,Priya Shah,SDR\n"
                "flex,2026-11-01,200,Second launch,,\n"
                "flex,2026-12-01,300,Wave 2,,\n", "plan.csv")
    first = import_plan(workspace, csv, actor="test")
    assert (first.created, first.updated, first.unchanged) == (3, 0, 0)
    again = import_plan(workspace, csv, actor="test")
    assert (again.created, again.unchanged) == (0, 3)
    shorter = write(tmp_path, "pool,date,quantity\nflex,2026-11-01,600\n", "plan2.csv")
    replaced = import_plan(workspace, shorter, actor="test")
    assert (replaced.updated, replaced.deleted) == (1, 2)
    with workspace.session() as session:
        flex = {r.id: r.quantity for r in session.scalars(
            select(MilestoneRow).where(MilestoneRow.pool_id == "flex"))}
    assert flex == {"flex@2026-11-01": D(600)}
    rollback_import(workspace, replaced.import_id)
    with workspace.session() as session:
        flex = {r.id: r.quantity for r in session.scalars(
            select(MilestoneRow).where(MilestoneRow.pool_id == "flex"))}
    assert flex == {"flex@2026-11-01": D(500), "flex@2026-11-01#2": D(200),
                    "flex@2026-12-01": D(300)}
    bad = write(tmp_path, "pool,date,quantity,colour\nnope,2026-13-01,x,red\n", "bad.csv")
    with pytest.raises(InputError, match="unknown column"):
        import_plan(workspace, bad)
    bad = write(tmp_path, "pool,date,quantity\nnope,2026-13-01,x\nflex,2026-01-01,-5\n"
                ",2026-01-01,1.5\n", "bad.csv")
    with pytest.raises(InputError) as raised:
        import_plan(workspace, bad)
    problems = [str(p) for p in raised.value.problems]
    assert any("row 2, column 'pool': unknown pool 'nope'" in p for p in problems)
    assert any("row 2, column 'date'" in p for p in problems)
    assert any("row 2, column 'quantity'" in p for p in problems)
    assert any("row 3, column 'quantity': -5 is not a positive quantity" in p
               for p in problems)
    assert any("row 4, column 'pool': missing pool id" in p for p in problems)
    duplicate = write(tmp_path, "pool,date,quantity,id\nflex,2026-11-01,1,x\n"
                      "flex,2026-11-02,1,x\n", "dup.csv")
    with pytest.raises(InputError, match="duplicate milestone id 'x'"):
        import_plan(workspace, duplicate)
    with pytest.raises(InputError, match="cannot read"):
        import_plan(workspace, tmp_path / "missing.csv")


def test_pool_rollback_is_refused_while_outcomes_refer_to_it(sqlite_url: str, make_workspace,
                                                             tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    workspace = make_workspace(sqlite_url)
    extra = REGISTER.replace("{hook_port}", "9") + """\
  - id: fund
    kind: success_funds
    unit: USD
    unit_value: "1"
    grants: [{id: fund-1, quantity: 1000, effective: 2026-01-01, expires: 2026-12-31}]
"""
    summary = load_register(workspace, write(tmp_path, extra, "v2.yaml"), actor="test")
    add_outcome(workspace, OutcomeInput(metric="adoption", pool_id="fund"))
    with pytest.raises(InputError, match="pool 'fund' has outcomes"):
        rollback_import(workspace, summary.import_id)
    with workspace.session() as session:
        assert session.get(PoolRow, "fund") is not None


def test_plan_views_on_a_workspace(sqlite_url: str, make_workspace) -> None:  # type: ignore[no-untyped-def]
    workspace = make_workspace(sqlite_url)
    views = {v.pool.id: v for v in workspace_plans(workspace, AS_OF)}
    training = views["training"]
    assert training.coverage == D("0.428571")  # 15 planned ahead ÷ 35 left
    assert training.front_loading == D("0.571429")  # 20 of 35 before 2 July
    assert training.progress is not None and training.progress.behind_pct == D("0.75")
    assert views["flex"].coverage is None and views["flex"].progress is None
    with pytest.raises(NotFoundError):
        workspace_plans(workspace, AS_OF, pool_id="nope")


def test_acceleration_plan_and_its_tracking(database_url: str, make_workspace) -> None:  # type: ignore[no-untyped-def]
    workspace = make_workspace(database_url)
    view = accelerate(workspace, "vouchers", "2026-09-01", adopt=True, actor="aiko")
    plan = view.plan
    assert view.grant.status == "at_risk" and plan.to_consume == D(35)
    # 35 vouchers from 2 September to the end of 1 December (91 days).
    assert plan.target.date() == date(2026, 12, 2) and plan.needed_rate == D("0.384615")
    assert plan.weeks[-1].target_cumulative == D(35)
    assert [m.description for m in view.candidates] == ["Consultant track"]
    with workspace.session() as session:
        adopted = session.scalars(select(AccelerationPlanRow)).one()
        assert adopted.actor == "aiko" and adopted.starting_remaining == D(35)
    later = accelerate(workspace, "vouchers", "2026-10-01")
    assert later.adopted and later.plan.started.date() == date(2026, 9, 2)
    done = [w for w in later.plan.weeks if w.actual_cumulative is not None]
    assert len(done) == 4 and all(w.on_track is False for w in done)
    with pytest.raises(NotFoundError):
        accelerate(workspace, "nope", AS_OF)
    with pytest.raises(InputError, match="no balance that lapses"):
        accelerate(workspace, "vouchers", "2027-02-01")
    with pytest.raises(InputError, match="buffer"):
        accelerate(workspace, "vouchers", AS_OF, buffer_days=-1)


def test_outcomes(sqlite_url: str, make_workspace) -> None:  # type: ignore[no-untyped-def]
    workspace = make_workspace(sqlite_url)
    row = add_outcome(workspace, OutcomeInput(
        metric="certified admins", grant_id="vouchers", unit="people", before=D(4),
        after=D(9), before_day=date(2026, 1, 1), after_day=date(2026, 6, 30),
        value_used=D(2000), note="wave 1"), actor="aiko")
    assert row.pool_id == "training" and row.actor == "aiko"
    add_outcome(workspace, OutcomeInput(metric="m", milestone_id="training@2026-03-31"))
    assert [o.metric for o in list_outcomes(workspace, "training")] == ["certified admins", "m"]
    for bad, message in [
        (OutcomeInput(metric=" ", pool_id="flex"), "needs a name"),
        (OutcomeInput(metric="m"), "tie the outcome"),
        (OutcomeInput(metric="m", pool_id="flex", value_used=D(-1)), "must not be negative"),
        (OutcomeInput(metric="m", pool_id="flex", before_day=date(2026, 2, 1),
                      after_day=date(2026, 1, 1)), "before the 'before' date"),
    ]:
        with pytest.raises(InputError, match=message):
            add_outcome(workspace, bad)
    for missing in (OutcomeInput(metric="m", pool_id="nope"),
                    OutcomeInput(metric="m", milestone_id="nope"),
                    OutcomeInput(metric="m", grant_id="nope")):
        with pytest.raises(NotFoundError):
            add_outcome(workspace, missing)
