"""Milestones of utilisation plans in the workspace: reading them, and writing those of a
register file or plan CSV with every change recorded so that the import can be rolled back."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditops.adapters.storage.tables import (
    AccelerationPlanRow,
    ChangeRow,
    MilestoneRow,
    OutcomeRow,
)
from creditops.core.model import day_end, day_start
from creditops.core.plans import Milestone

Upsert = Callable[[dict[str, Any]], str]


def milestone_from_row(row: MilestoneRow, zone: tzinfo) -> Milestone:
    return Milestone(id=row.id, pool_id=row.pool_id, at=day_start(row.day, zone),
                     due=day_end(row.day, zone), quantity=row.quantity,
                     description=row.description, owner=row.owner, project=row.project,
                     usage_type=row.usage_type)


def load_milestones(session: Session, zone: tzinfo, pool_ids: Iterable[str] | None = None
                    ) -> list[Milestone]:
    query = select(MilestoneRow).order_by(MilestoneRow.pool_id, MilestoneRow.day, MilestoneRow.id)
    if pool_ids is not None:
        query = query.where(MilestoneRow.pool_id.in_(list(pool_ids)))
    return [milestone_from_row(row, zone) for row in session.scalars(query)]


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def sync_milestones(session: Session, rows: list[dict[str, Any]], replaced_pools: set[str],
                    upsert: Upsert, *, import_id: int, actor: str, now: datetime | None = None,
                    origin: str = "register") -> list[str]:
    """Creates or updates ``rows`` by id; the milestones of ``origin`` of the pools in
    ``replaced_pools`` that ``rows`` no longer hold are deleted (the file is their plan).
    Returns what happened to each: created, updated, unchanged or deleted."""
    outcomes = [upsert(row) for row in rows]
    kept = {row["id"] for row in rows}
    if replaced_pools:
        stale = session.scalars(select(MilestoneRow).where(
            MilestoneRow.pool_id.in_(sorted(replaced_pools)), MilestoneRow.origin == origin,
            MilestoneRow.id.not_in(kept or {""})))
        for row in list(stale):
            before = {column.key: _jsonable(getattr(row, column.key))
                      for column in MilestoneRow.__table__.columns}
            session.add(ChangeRow(at=now or datetime.now(UTC), actor=actor,
                                  import_id=import_id, entity="milestone", entity_id=row.id,
                                  action="delete", before=before, after=None))
            session.delete(row)
            outcomes.append("deleted")
        session.flush()
    return outcomes


def pool_dependents(session: Session, pool_id: str) -> str | None:
    """What of this area still refers to a pool about to be removed, in words."""
    checks = ((MilestoneRow, MilestoneRow.pool_id, "plan milestones of a later import"),
              (OutcomeRow, OutcomeRow.pool_id, "outcomes"),
              (AccelerationPlanRow, AccelerationPlanRow.pool_id, "acceleration plans"))
    for model, column, words in checks:
        if session.execute(select(model.id).where(column == pool_id).limit(1)).first():
            return words
    return None
