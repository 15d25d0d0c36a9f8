"""What the workspace's ledger contributes to other use cases: a pool's daily usage (commitment
sizing) and the incentives, utilisation and success-plan use of a renewal brief."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from creditops.adapters.storage.repository import load_pools, load_usage, workspace_zone
from creditops.adapters.storage.tables import ContractRow, UsageRow
from creditops.core.numbers import ZERO, normalize, round_money
from creditops.core.register import PoolRegister
from creditops.core.renewal_brief import (
    IncentiveLine,
    IncentiveStatus,
    SuccessPlanUse,
    UtilisationLine,
)
from creditops.services.errors import NotFoundError
from creditops.services.renewal_brief import LedgerRenewalInputs
from creditops.services.workspace import (
    Workspace,
    build_workspace_register,
    resolve_as_of,
    workspace_currency,
)

SESSIONS_KIND = "success_plan_sessions"


def daily_usage(workspace: Workspace, pool_id: str, until: str | None = None
                ) -> list[tuple[date, Decimal]]:
    """The pool's net usage per day (workspace time zone), every day from its first usage to
    the last day before ``until`` (days without usage count as 0)."""
    with workspace.session() as session:
        zone = workspace_zone(session)
        as_of = resolve_as_of(until, zone)
        if not load_pools(session, [pool_id]):
            raise NotFoundError(f"no pool {pool_id!r}")
        usages = load_usage(session, [pool_id], before=as_of).get(pool_id, [])
    totals: dict[date, Decimal] = defaultdict(lambda: ZERO)
    for usage in usages:
        totals[usage.at.astimezone(zone).date()] += usage.quantity
    if not totals:
        return []
    first, last = min(totals), (as_of - timedelta(microseconds=1)).date()
    return [(first + timedelta(days=k), totals.get(first + timedelta(days=k), ZERO))
            for k in range((last - first).days + 1)]


def _day(instant: datetime | None) -> date | None:
    return (instant - timedelta(microseconds=1)).date() if instant is not None else None


def _incentives(entries: Iterable[PoolRegister]) -> list[IncentiveLine]:
    lines = []
    for entry in entries:
        pool = entry.pool
        for row, balance in zip(entry.grants, entry.balance.grants, strict=True):
            effective = balance.grant.effective.date()
            expires = _day(balance.grant.expires)
            if row.lapsed > ZERO:
                # A recurring grant lapses a little every period: no single expiry to show.
                lapsed_on = None if balance.grant.recurrence is not None else expires
                lines.append(IncentiveLine(
                    pool=pool.id, kind=pool.kind, unit=pool.unit, grant=row.id,
                    quantity=row.lapsed, value=round_money(row.lapsed * pool.unit_value),
                    effective=effective, expires=lapsed_on, status=IncentiveStatus.LAPSED))
            if balance.active and row.remaining > ZERO:
                lines.append(IncentiveLine(
                    pool=pool.id, kind=pool.kind, unit=pool.unit, grant=row.id,
                    quantity=row.remaining, value=round_money(row.remaining * pool.unit_value),
                    effective=effective, expires=_day(row.expires),
                    status=IncentiveStatus.UNUSED))
    return lines


def _utilisation(entries: Iterable[PoolRegister]) -> list[UtilisationLine]:
    by_kind: dict[tuple[str, str], list[Decimal]] = {}
    for entry in entries:
        pool, balance = entry.pool, entry.balance
        carried = sum((g.carried_forward for g in balance.grants), ZERO)
        granted = sum((g.granted for g in balance.grants), ZERO) - carried
        figures = by_kind.setdefault((pool.kind, pool.unit), [ZERO] * 5)
        for position, value in enumerate((granted, balance.consumed, balance.lapsed,
                                          granted * pool.unit_value,
                                          balance.lapsed * pool.unit_value)):
            figures[position] += value
    return [UtilisationLine(kind=kind, unit=unit, granted=normalize(g), consumed=normalize(c),
                            lapsed=normalize(lapsed),
                            value_granted=round_money(vg), value_lapsed=round_money(vl))
            for (kind, unit), (g, c, lapsed, vg, vl) in sorted(by_kind.items())]


def _success_plan(entries: Iterable[PoolRegister]) -> SuccessPlanUse | None:
    sessions = [e for e in entries if e.pool.kind == SESSIONS_KIND]
    if not sessions:
        return None
    entitled = sum((g.contracted for e in sessions for g in e.grants if g.status != "voided"),
                   ZERO)
    used = sum((g.consumed for e in sessions for g in e.grants), ZERO)
    names = ", ".join(e.pool.name or e.pool.id for e in sessions)
    return SuccessPlanUse(plan=names, entitled=entitled, used=used,
                          note="sessions in the current period of each entitlement")


def renewal_inputs(workspace: Workspace, *, contract_id: str | None = None,
                   as_of: str | None = None) -> LedgerRenewalInputs:
    """Unused and lapsed incentives, utilisation by kind and success-plan use at ``as_of``,
    for the pools of one contract (or every pool)."""
    register = build_workspace_register(workspace, as_of)
    entries = [e for e in register.pools if contract_id is None or e.pool.contract == contract_id]
    if contract_id is not None and not entries:
        raise NotFoundError(f"no pool belongs to contract {contract_id!r}")
    return LedgerRenewalInputs(
        contract=contract_id or "",
        currency=workspace_currency(workspace),
        incentives=tuple(_incentives(entries)),
        utilisation=tuple(_utilisation(entries)),
        success_plan=_success_plan(entries),
    )


def contract_documents(workspace: Workspace, contract_id: str) -> tuple[Path | None, Path | None]:
    """The true-up scenario and clause text files the register file names for a contract."""
    with workspace.session() as session:
        row = session.get(ContractRow, contract_id)
        if row is None:
            known = ", ".join(session.scalars(select(ContractRow.id).order_by(ContractRow.id)))
            raise NotFoundError(f"no contract {contract_id!r} (contracts: {known or 'none'})")
        attributes = row.attributes or {}
    scenario, text = attributes.get("trueup_scenario"), attributes.get("clause_text")
    return (Path(scenario) if scenario else None, Path(text) if text else None)


def pool_unit_value(workspace: Workspace, pool_id: str) -> Decimal:
    with workspace.session() as session:
        pools = load_pools(session, [pool_id])
    if not pools:
        raise NotFoundError(f"no pool {pool_id!r}")
    return pools[0].unit_value


def pool_sessions(workspace: Workspace, pool_id: str) -> tuple[list[tuple[date, str]],
                                                              int | None, date | None]:
    """A success-plan sessions pool as the Accelerator planner sees it: each session used (day
    and reference, one per unit), the sessions entitled per contract year (its yearly recurring
    grant, if any) and the day a contract year starts."""
    with workspace.session() as session:
        zone = workspace_zone(session)
        pools = load_pools(session, [pool_id])
        if not pools:
            raise NotFoundError(f"no pool {pool_id!r}")
        rows = session.execute(
            select(UsageRow.at, UsageRow.quantity, UsageRow.ref, UsageRow.identity)
            .where(UsageRow.pool_id == pool_id, UsageRow.reverses.is_(None))
            .order_by(UsageRow.at)).all()
    used = [(at.astimezone(zone).date(), ref or identity)
            for at, quantity, ref, identity in rows for _ in range(int(quantity))]
    yearly = [g for g in pools[0].grants if g.recurrence is not None
              and g.recurrence.every.months == 12 and g.recurrence.every.days == 0]
    if not yearly:
        return used, None, None
    grant = yearly[0]
    assert grant.recurrence is not None
    return used, int(grant.quantity), grant.recurrence.anchor.date()
