"""Usage files in, and every import (of any kind) listed and rolled back: a rollback removes
what the import wrote and restores what it changed in the register."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Date, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from creditops.adapters.storage.repository import workspace_zone
from creditops.adapters.storage.tables import (
    Base,
    ChangeRow,
    ContractRow,
    ExactDecimal,
    GrantRow,
    ImportRow,
    KindRow,
    MilestoneRow,
    PoolRow,
    SettingRow,
    UsageRow,
    UTCDateTime,
)
from creditops.adapters.usage_file import BadRow, UsageRecord, file_sha256, read_usage_rows
from creditops.core.errors import InputError, Problem
from creditops.core.numbers import ZERO
from creditops.services.errors import NotFoundError
from creditops.services.milestones import pool_dependents
from creditops.services.workspace import Workspace, current_actor

BATCH = 5000
MAX_PROBLEMS_SHOWN = 50


@dataclass(frozen=True)
class ImportSummary:
    import_id: int
    rows_read: int
    accepted: int
    duplicate: int
    rejected: int
    quarantine: Path | None


def insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(UsageRow).on_conflict_do_nothing(
        index_elements=["pool_id", "identity"]
    ).returning(UsageRow.id)
    return len(session.execute(statement, rows).all())


def _reversal_problem(session: Session, record: UsageRecord, in_file: dict[tuple[str, str],
                      Decimal], reversed_so_far: dict[tuple[str, str], Decimal],
                      source: str) -> Problem | None:
    assert record.reverses is not None
    key = (record.pool, record.reverses)
    if key not in in_file:
        original = session.execute(
            select(UsageRow.quantity).where(UsageRow.pool_id == record.pool,
                                            UsageRow.identity == record.reverses)
        ).scalar_one_or_none()
        if original is None:
            return Problem(f"reverses ref {record.ref!r}, which is no usage of pool "
                           f"{record.pool!r} (import it first, or fix the ref)",
                           source=source, row=record.row, column="ref")
        earlier = session.execute(
            select(func.count()).select_from(UsageRow).where(
                UsageRow.pool_id == record.pool, UsageRow.reverses == record.reverses)
        ).scalar_one()
        previous = ZERO
        if earlier:
            previous = sum((q for q in session.scalars(select(UsageRow.quantity).where(
                UsageRow.pool_id == record.pool, UsageRow.reverses == record.reverses,
                UsageRow.identity != record.identity))), ZERO)
        in_file[key] = original
        reversed_so_far[key] = -previous
    total = reversed_so_far.get(key, ZERO) - record.quantity
    if total > in_file[key]:
        return Problem(f"reverses {total} in all, more than the {in_file[key]} of ref "
                       f"{record.ref!r}", source=source, row=record.row, column="quantity")
    reversed_so_far[key] = total
    return None


def import_usage(workspace: Workspace, path: Path, *, quarantine: Path | None = None,
                 actor: str | None = None, now: datetime | None = None,
                 on_progress: Callable[[int], None] | None = None) -> ImportSummary:
    """Imports a usage file in one transaction: all of it, or (with ``quarantine``) its good
    rows while the bad ones are written with their reasons to the quarantine file. Rows already
    in the workspace are counted as duplicates and change nothing."""
    now = now or datetime.now(UTC)
    actor = actor or current_actor()
    source = str(path)
    with workspace.session() as session:
        pools = set(session.scalars(select(PoolRow.id)))
        zone = workspace_zone(session)
        record = ImportRow(kind="usage", source=path.name, file_hash=file_sha256(path),
                           actor=actor, at=now)
        session.add(record)
        session.flush()
        bad_rows: list[BadRow] = []
        batch: list[dict[str, Any]] = []
        accepted = rows_read = 0
        originals: dict[tuple[str, str], Decimal] = {}
        reversed_so_far: dict[tuple[str, str], Decimal] = {}
        for item in read_usage_rows(path, pools, zone, on_progress):
            rows_read += 1
            if isinstance(item, BadRow):
                bad_rows.append(item)
                continue
            if item.reverses is not None:
                problem = _reversal_problem(session, item, originals, reversed_so_far, source)
                if problem is not None:
                    bad_rows.append(BadRow(item.row, {}, [problem]))
                    continue
            elif item.ref is not None:
                originals[(item.pool, item.identity)] = item.quantity
            batch.append({
                "pool_id": item.pool, "at": item.at, "quantity": item.quantity,
                "usage_type": item.usage_type, "identity": item.identity,
                "reverses": item.reverses, "ref": item.ref, "source": item.source,
                "note": item.note, "import_id": record.id,
            })
            if len(batch) >= BATCH:
                accepted += insert_ignoring_duplicates(session, batch)
                batch = []
        accepted += insert_ignoring_duplicates(session, batch)
        valid = rows_read - len(bad_rows)
        settle_bad_rows(bad_rows, rows_read, source, quarantine)
        record.rows_read = rows_read
        record.rows_accepted = accepted
        record.rows_duplicate = valid - accepted
        record.rows_rejected = len(bad_rows)
        return ImportSummary(record.id, rows_read, accepted, valid - accepted, len(bad_rows),
                             quarantine if bad_rows else None)


def settle_bad_rows(bad_rows: list[BadRow], rows_read: int, source: str,
                    quarantine: Path | None) -> None:
    """An import's bad rows: without a quarantine file they stop it (every problem listed, up to
    a limit, so the transaction rolls back); with one they are written there with their reasons."""
    if not bad_rows:
        return
    if quarantine is not None:
        _write_quarantine(quarantine, bad_rows)
        return
    problems = [p for bad in bad_rows for p in bad.problems]
    shown = problems[:MAX_PROBLEMS_SHOWN]
    if len(problems) > len(shown):
        shown.append(Problem(f"… and {len(problems) - len(shown)} more problems", source=source))
    shown.append(Problem(
        f"nothing was imported ({len(bad_rows)} bad row(s) of {rows_read}); fix them, or "
        "import the good rows with --quarantine FILE", source=source))
    raise InputError(shown)


def _write_quarantine(path: Path, bad_rows: list[BadRow]) -> None:
    columns: list[str] = []
    for bad in bad_rows:
        columns += [name for name in bad.values if name not in columns]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", *columns, "error"])
        for bad in bad_rows:
            reasons = "; ".join(
                f"{p.column}: {p.reason}" if p.column else p.reason for p in bad.problems
            )
            writer.writerow([bad.row, *(bad.values.get(c, "") for c in columns), reasons])


def list_imports(workspace: Workspace) -> list[ImportRow]:
    with workspace.session() as session:
        return list(session.scalars(select(ImportRow).order_by(ImportRow.id)))


def rollback_import(workspace: Workspace, import_id: int, *, now: datetime | None = None
                    ) -> ImportRow:
    """Undoes one import: its usage rows are removed, or its register changes reverted."""
    now = now or datetime.now(UTC)
    with workspace.session() as session:
        record = session.get(ImportRow, import_id)
        if record is None:
            raise NotFoundError(f"no import with id {import_id}")
        if record.status == "rolled_back":
            raise InputError(Problem(f"import {import_id} is already rolled back"))
        if record.kind in ("register", "plan"):
            _revert_register_changes(session, record)
        else:
            identities = select(UsageRow.identity).where(UsageRow.import_id == import_id)
            dependent = session.execute(
                select(UsageRow.ref).where(UsageRow.import_id != import_id,
                                           UsageRow.reverses.in_(identities)).limit(1)
            ).first()
            if dependent is not None:
                raise InputError(Problem(
                    f"a later import reverses usage of import {import_id}; roll that one back "
                    "first"))
            session.execute(delete(UsageRow).where(UsageRow.import_id == import_id))
        record.status = "rolled_back"
        record.rolled_back_at = now
        return record


_ENTITY_MODELS: dict[str, type[Base]] = {
    "setting": SettingRow, "kind": KindRow, "contract": ContractRow, "pool": PoolRow,
    "grant": GrantRow, "milestone": MilestoneRow,
}


def _revert_register_changes(session: Session, record: ImportRow) -> None:
    changes = list(session.scalars(
        select(ChangeRow).where(ChangeRow.import_id == record.id).order_by(ChangeRow.id.desc())
    ))
    for change in changes:
        later = session.execute(
            select(ChangeRow.import_id).join(ImportRow, ImportRow.id == ChangeRow.import_id)
            .where(ChangeRow.entity == change.entity, ChangeRow.entity_id == change.entity_id,
                   ChangeRow.id > change.id, ImportRow.status == "committed").limit(1)
        ).first()
        if later is not None:
            raise InputError(Problem(
                f"import {later[0]} changed {change.entity} {change.entity_id!r} later; roll "
                "that one back first"))
    for change in changes:
        model = _ENTITY_MODELS[change.entity]
        row = session.get(model, change.entity_id)
        if change.action == "create":
            if change.entity == "pool" and session.execute(
                    select(UsageRow.id).where(UsageRow.pool_id == change.entity_id).limit(1)
            ).first():
                raise InputError(Problem(
                    f"pool {change.entity_id!r} has usage; roll back its usage imports first"))
            dependents = pool_dependents(session, change.entity_id) \
                if change.entity == "pool" else None
            if dependents:
                raise InputError(Problem(
                    f"pool {change.entity_id!r} has {dependents}; remove them first"))
            session.delete(row)
            session.flush()
        elif change.action == "delete":
            assert change.before is not None
            session.add(model(**{key: _from_json(model, key, value)
                                 for key, value in change.before.items()}))
            session.flush()
        else:
            assert row is not None and change.before is not None
            for key, value in change.before.items():
                setattr(row, key, _from_json(model, key, value))
            session.flush()


def _from_json(model: type[Base], key: str, value: Any) -> Any:
    if value is None:
        return None
    column_type = model.__table__.columns[key].type
    if isinstance(column_type, ExactDecimal):
        return Decimal(value)
    if isinstance(column_type, UTCDateTime):
        return datetime.fromisoformat(value)
    if isinstance(column_type, Date):
        return date.fromisoformat(value)
    return value
