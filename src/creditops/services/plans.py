"""Use cases of utilisation plans: plan import from CSV, plan coverage and front-loading,
plan-vs-actual, the acceleration plan of an at-risk grant, and outcomes."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from creditops.adapters.monitoring_file import milestone_columns, milestone_id, read_plan_csv
from creditops.adapters.storage.repository import (
    load_contracts,
    load_pools,
    load_usage,
    read_settings,
    workspace_zone,
)
from creditops.adapters.storage.tables import (
    AccelerationPlanRow,
    GrantRow,
    ImportRow,
    MilestoneRow,
    OutcomeRow,
    PoolRow,
)
from creditops.adapters.usage_file import file_sha256
from creditops.core.errors import InputError, Problem
from creditops.core.model import Pool, Usage
from creditops.core.numbers import ZERO
from creditops.core.plans import (
    DEFAULT_BUFFER_DAYS,
    AccelerationPlan,
    Milestone,
    PlanProgress,
    acceleration_plan,
    burn_ahead,
    front_loading,
    plan_coverage,
    plan_progress,
)
from creditops.core.register import PoolRegister, Register, RegisterRow, build_pool_register
from creditops.services.errors import NotFoundError
from creditops.services.milestones import load_milestones, sync_milestones
from creditops.services.workspace import (
    Workspace,
    _upsert,
    change_recorder,
    current_actor,
    load_facts,
    register_settings,
    resolve_as_of,
)


@dataclass(frozen=True)
class PlanImportSummary:
    import_id: int
    created: int
    updated: int
    unchanged: int
    deleted: int


def import_plan(workspace: Workspace, path: Path, *, actor: str | None = None,
                now: datetime | None = None) -> PlanImportSummary:
    """Loads milestones from a CSV: the CSV is the plan of the pools it names (their earlier
    CSV milestones that it no longer lists are removed). All or nothing, recorded, and can be
    rolled back with `creditops imports rollback`."""
    now = now or datetime.now(UTC)
    actor = actor or current_actor()
    with workspace.session() as session:
        pools = set(session.scalars(select(PoolRow.id)))
        rows = read_plan_csv(path, pools)
        record = ImportRow(kind="plan", source=path.name, file_hash=file_sha256(path),
                           actor=actor, at=now)
        session.add(record)
        session.flush()

        change = change_recorder(session, record, actor, now)
        seen: Counter[tuple[str, date]] = Counter()
        columns = []
        for row in rows:
            key = (row.pool, row.milestone.date)
            identifier = row.milestone.id or milestone_id(row.pool, row.milestone.date, seen[key])
            seen[key] += 1
            columns.append(milestone_columns(identifier, row.pool, row.milestone, "csv"))
        duplicates = [c["id"] for c in columns if [d["id"] for d in columns].count(c["id"]) > 1]
        if duplicates:
            raise InputError(Problem(f"duplicate milestone id {duplicates[0]!r}",
                                     source=str(path), column="id"))
        outcomes = sync_milestones(
            session, columns, {row.pool for row in rows},
            lambda values: _upsert(session, MilestoneRow, values["id"], values, change,
                                   "milestone"),
            import_id=record.id, actor=actor, now=now, origin="csv")
        record.rows_read = len(rows)
        record.rows_accepted = sum(1 for o in outcomes if o != "unchanged")
        record.rows_duplicate = outcomes.count("unchanged")
        return PlanImportSummary(record.id, outcomes.count("created"), outcomes.count("updated"),
                                 outcomes.count("unchanged"), outcomes.count("deleted"))


# -- plans in the register ------------------------------------------------------------------

@dataclass(frozen=True)
class PlanView:
    pool: Pool
    milestones: tuple[Milestone, ...]
    coverage: Decimal | None  # planned ahead ÷ remaining
    front_loading: Decimal | None
    progress: PlanProgress | None
    remaining: Decimal


def plan_views(pools: list[Pool], usage: dict[str, list[Usage]], register: Register,
               milestones: list[Milestone]) -> list[PlanView]:
    views = []
    for pool in pools:
        mine = tuple(m for m in milestones if m.pool_id == pool.id)
        remaining = register.pool(pool.id).row.remaining
        views.append(PlanView(
            pool=pool, milestones=mine,
            coverage=plan_coverage(mine, register.as_of, remaining) if mine else None,
            front_loading=front_loading(pool, mine),
            progress=plan_progress(pool, mine, usage.get(pool.id, []), register.as_of),
            remaining=remaining))
    return views


def workspace_plans(workspace: Workspace, as_of_text: str | None = None, *,
                    pool_id: str | None = None, now: datetime | None = None) -> list[PlanView]:
    with workspace.session() as session:
        facts = load_facts(session, as_of_text, pool_id=pool_id, now=now)
        milestones = load_milestones(session, facts.zone, [p.id for p in facts.pools])
    as_of, settings, pools, usage, contracts = (facts.as_of, facts.settings, facts.pools,
                                                facts.usage, facts.contracts)
    entries = tuple(build_pool_register(p, usage.get(p.id, []), as_of, settings, contracts)
                    for p in pools)
    return plan_views(pools, usage, Register(as_of, entries), milestones)


def register_plan_fields(workspace: Workspace, register: Register) -> dict[str, dict[str, Any]]:
    """Plan coverage and front-loading per pool, for the register's extra columns."""
    with workspace.session() as session:
        zone = workspace_zone(session)
        milestones = load_milestones(session, zone)
    fields: dict[str, dict[str, Any]] = {}
    for entry in register.pools:
        mine = [m for m in milestones if m.pool_id == entry.pool.id]
        fields[entry.pool.id] = {
            "plan_coverage": plan_coverage(mine, register.as_of, entry.row.remaining)
            if mine else None,
            "front_loading": front_loading(entry.pool, mine),
        }
    return fields


# -- acceleration ------------------------------------------------------------------------------

@dataclass(frozen=True)
class AccelerationView:
    pool: Pool
    grant: RegisterRow
    register: PoolRegister
    plan: AccelerationPlan
    adopted: bool  # tracked from an adopted plan's start (else from as_of)
    candidates: tuple[Milestone, ...]  # the plan's milestones still ahead


def _find_grant(session: Any, grant_id: str) -> str:
    row = session.get(GrantRow, grant_id.removesuffix("~rollover"))
    if row is None:
        raise NotFoundError(f"no grant {grant_id!r}")
    return str(row.pool_id)


def accelerate(workspace: Workspace, grant_id: str, as_of_text: str | None = None, *,
               buffer_days: int = DEFAULT_BUFFER_DAYS, adopt: bool = False,
               actor: str | None = None, now: datetime | None = None) -> AccelerationView:
    """The acceleration plan for a grant: the run-rate needed to use it fully ``buffer_days``
    before it lapses, the gap to the current run-rate, and weekly tracking. With ``adopt`` the
    plan is recorded, and later calls track actual consumption against it from its start."""
    if buffer_days < 0:
        raise InputError(Problem("the buffer must not be negative", column="--buffer-days"))
    now = now or datetime.now(UTC)
    with workspace.session() as session:
        pool_id = _find_grant(session, grant_id)
        zone = workspace_zone(session)
        as_of = resolve_as_of(as_of_text, zone, now)
        settings = register_settings(read_settings(session))
        pool = load_pools(session, [pool_id])[0]
        usages = load_usage(session, [pool_id], before=as_of).get(pool_id, [])
        contracts = load_contracts(session)
        milestones = load_milestones(session, zone, [pool_id])
        adopted = session.scalars(
            select(AccelerationPlanRow).where(AccelerationPlanRow.grant_id == grant_id)
            .order_by(AccelerationPlanRow.id.desc()).limit(1)).first()
        register = build_pool_register(pool, usages, as_of, settings, contracts)
        row = next((g for g in register.grants if g.id == grant_id), None)
        balance = next((g for g in register.balance.grants if g.grant.id == grant_id), None)
        if row is None or balance is None or not balance.active or balance.period_end is None:
            raise InputError(Problem(
                f"grant {grant_id!r} has no balance that lapses after {as_of.date()} "
                "(not yet effective, ended, or without an expiry)", column="GRANT"))
        ahead = burn_ahead(register.balance.grants, grant_id)
        started = None
        starting = None
        if adopted is not None and adopted.started <= as_of:
            started = adopted.started.astimezone(zone)
            starting = adopted.starting_remaining
        plan = acceleration_plan(
            grant_id, balance.remaining, balance.period_end, as_of, row.run_rate, ahead=ahead,
            buffer_days=buffer_days, started=started, starting_to_consume=starting,
            usages=[u for u in usages if started is None or u.at >= started])
        if adopt and adopted is None:
            session.add(AccelerationPlanRow(
                pool_id=pool_id, grant_id=grant_id, started=as_of, target=plan.target,
                starting_remaining=plan.to_consume, needed_rate=plan.needed_rate,
                baseline_rate=plan.current_rate, actor=actor or current_actor(),
                created_at=now))
    return AccelerationView(pool, row, register, plan, adopted is not None or adopt,
                            tuple(m for m in milestones if m.due > as_of))


# -- outcomes ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class OutcomeInput:
    metric: str
    pool_id: str | None = None
    grant_id: str | None = None
    milestone_id: str | None = None
    unit: str | None = None
    before: Decimal | None = None
    after: Decimal | None = None
    before_day: date | None = None
    after_day: date | None = None
    value_used: Decimal | None = None
    note: str | None = None


def add_outcome(workspace: Workspace, outcome: OutcomeInput, *, actor: str | None = None,
                now: datetime | None = None) -> OutcomeRow:
    """Records a before/after metric tied to a pool, grant or milestone (at least one)."""
    if not outcome.metric.strip():
        raise InputError(Problem("the metric needs a name", column="--metric"))
    if not (outcome.pool_id or outcome.grant_id or outcome.milestone_id):
        raise InputError(Problem("tie the outcome to a pool, a grant or a milestone",
                                 column="--pool/--grant/--milestone"))
    if outcome.value_used is not None and outcome.value_used < ZERO:
        raise InputError(Problem("the value used must not be negative", column="--value-used"))
    if outcome.before_day and outcome.after_day and outcome.after_day < outcome.before_day:
        raise InputError(Problem("the 'after' date is before the 'before' date",
                                 column="--after-date"))
    with workspace.session() as session:
        pool_id = outcome.pool_id
        if outcome.grant_id:
            owner_pool = _find_grant(session, outcome.grant_id)
            pool_id = pool_id or owner_pool
        if outcome.milestone_id:
            milestone = session.get(MilestoneRow, outcome.milestone_id)
            if milestone is None:
                raise NotFoundError(f"no milestone {outcome.milestone_id!r}")
            pool_id = pool_id or milestone.pool_id
        if pool_id and session.get(PoolRow, pool_id) is None:
            raise NotFoundError(f"no pool {pool_id!r}")
        row = OutcomeRow(pool_id=pool_id, grant_id=outcome.grant_id,
                         milestone_id=outcome.milestone_id, metric=outcome.metric.strip(),
                         unit=outcome.unit, before=outcome.before, after=outcome.after,
                         before_day=outcome.before_day, after_day=outcome.after_day,
                         value_used=outcome.value_used, note=outcome.note,
                         actor=actor or current_actor(), created_at=now or datetime.now(UTC))
        session.add(row)
        session.flush()
        return row


def list_outcomes(workspace: Workspace, pool_id: str | None = None) -> list[OutcomeRow]:
    with workspace.session() as session:
        query = select(OutcomeRow).order_by(OutcomeRow.id)
        if pool_id:
            query = query.where(OutcomeRow.pool_id == pool_id)
        return list(session.scalars(query))



def record_milestones(workspace: Workspace, pool_id: str, rows: list[dict[str, Any]], *,
                      source: str, origin: str, actor: str | None = None,
                      now: datetime | None = None) -> PlanImportSummary:
    """Writes planned milestones of one pool produced by another use case (e.g. the Accelerator
    planner): they replace that origin's earlier milestones of the pool, are recorded as an
    import, and can be rolled back with `creditops imports rollback`."""
    now = now or datetime.now(UTC)
    actor = actor or current_actor()
    with workspace.session() as session:
        if session.get(PoolRow, pool_id) is None:
            raise NotFoundError(f"no pool {pool_id!r}")
        digest = hashlib.sha256(json.dumps(rows, default=str, sort_keys=True).encode())
        record = ImportRow(kind="plan", source=source, file_hash=digest.hexdigest(),
                           actor=actor, at=now)
        session.add(record)
        session.flush()

        change = change_recorder(session, record, actor, now)
        columns = [{"id": row["id"], "pool_id": pool_id, "day": row["date"],
                    "quantity": Decimal(row["quantity"]), "description": row.get("description"),
                    "owner": row.get("owner"), "project": row.get("project"),
                    "usage_type": row.get("usage_type"), "origin": origin} for row in rows]
        outcomes = sync_milestones(
            session, columns, {pool_id},
            lambda values: _upsert(session, MilestoneRow, values["id"], values, change,
                                   "milestone"),
            import_id=record.id, actor=actor, now=now, origin=origin)
        record.rows_read = len(rows)
        record.rows_accepted = sum(1 for o in outcomes if o != "unchanged")
        record.rows_duplicate = outcomes.count("unchanged")
        return PlanImportSummary(record.id, outcomes.count("created"), outcomes.count("updated"),
                                 outcomes.count("unchanged"), outcomes.count("deleted"))
