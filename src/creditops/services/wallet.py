"""Digital Wallet usage in: each row's UnitsConsumed becomes usage of the pool whose `match:`
list claims its card, usage type, org and environment; rows no pool claims are kept in the
workspace (never dropped) and imported once a pool maps them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from creditops.adapters.digital_wallet import WalletRow, read_wallet_rows
from creditops.adapters.storage.tables import ImportRow, PoolRow, UsageRow, WalletPendingRow
from creditops.adapters.usage_file import BadRow, file_sha256
from creditops.core.wallet_mapping import WalletMatch, make_match, pool_for
from creditops.services.imports import (
    BATCH,
    ImportSummary,
    insert_ignoring_duplicates,
    settle_bad_rows,
)
from creditops.services.workspace import Workspace, current_actor

SOURCE = "digital-wallet"


@dataclass(frozen=True)
class UnmappedGroup:
    card: str
    usage_type: str | None
    org: str | None
    env: str | None
    rows: int
    total: Decimal


@dataclass(frozen=True)
class WalletSummary:
    base: ImportSummary
    unmapped: list[UnmappedGroup]
    pending_imported: int = 0


def wallet_matchers(session: Session) -> list[WalletMatch]:
    matchers = []
    for pool_id, attributes in session.execute(select(PoolRow.id, PoolRow.attributes)
                                               .order_by(PoolRow.id)):
        for position, entry in enumerate((attributes or {}).get("match", [])):
            matchers.append(make_match(pool_id, entry["card"], entry.get("usage_types"),
                                       entry.get("org"), entry.get("env"), position))
    return matchers


def _usage_row(row: WalletRow, pool: str, import_id: int) -> dict[str, Any]:
    return {"pool_id": pool, "at": row.event_time, "quantity": row.units_consumed,
            "usage_type": row.usage_type, "identity": f"dw:{row.id}", "reverses": None,
            "ref": row.id, "source": SOURCE, "note": None, "import_id": import_id}


def _insert_new(session: Session, rows: list[dict[str, Any]]) -> int:
    """Inserts the rows whose Digital Wallet Id no pool has yet (a row counts once, even if the
    mapping moved its card to another pool since)."""
    if not rows:
        return 0
    present = set(session.scalars(select(UsageRow.identity).where(
        UsageRow.identity.in_([r["identity"] for r in rows]))))
    return insert_ignoring_duplicates(session, [r for r in rows if r["identity"] not in present])


def _keep_pending(session: Session, rows: list[WalletRow], origin: str, import_id: int) -> None:
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(WalletPendingRow).on_conflict_do_nothing(index_elements=["id"])
    session.execute(statement, [
        {"id": r.id, "event_time": r.event_time, "card": r.card, "usage_type": r.usage_type,
         "org": r.org, "env": r.env, "units_consumed": r.units_consumed, "origin": origin,
         "import_id": import_id} for r in rows])


def import_pending_rows(session: Session, matchers: list[WalletMatch], import_id: int) -> int:
    """Imports the kept rows that a pool maps now; returns how many became usage."""
    moved = 0
    mapped: list[dict[str, Any]] = []
    done: list[str] = []
    for row in session.scalars(select(WalletPendingRow).order_by(WalletPendingRow.id)):
        pool = pool_for(matchers, row.card, row.usage_type, row.org, row.env)
        if pool is None:
            continue
        done.append(row.id)
        mapped.append(_usage_row(WalletRow(0, row.id, row.event_time, row.card, row.usage_type,
                                           row.org, row.env, row.units_consumed), pool,
                                 import_id))
    for start in range(0, len(mapped), BATCH):
        moved += _insert_new(session, mapped[start:start + BATCH])
    for start in range(0, len(done), BATCH):
        session.execute(delete(WalletPendingRow).where(
            WalletPendingRow.id.in_(done[start:start + BATCH])))
    return moved


def pending_groups(session: Session) -> list[UnmappedGroup]:
    query = (select(WalletPendingRow.card, WalletPendingRow.usage_type, WalletPendingRow.org,
                    WalletPendingRow.env, func.count())
             .group_by(WalletPendingRow.card, WalletPendingRow.usage_type,
                       WalletPendingRow.org, WalletPendingRow.env)
             .order_by(WalletPendingRow.card, WalletPendingRow.usage_type))
    groups = []
    for card, usage_type, org, env, count in session.execute(query):
        units = session.scalars(select(WalletPendingRow.units_consumed).where(
            WalletPendingRow.card == card, _same(WalletPendingRow.usage_type, usage_type),
            _same(WalletPendingRow.org, org), _same(WalletPendingRow.env, env)))
        groups.append(UnmappedGroup(card, usage_type, org, env, int(count),
                                    sum(units, Decimal(0))))
    return groups


def _same(column: Any, value: Any) -> Any:
    return column.is_(None) if value is None else column == value


@dataclass
class WalletCounts:
    rows_read: int = 0
    accepted: int = 0
    unmapped: int = 0
    bad_rows: list[BadRow] | None = None


def import_wallet_rows(session: Session, record: ImportRow,
                       rows: Iterable[WalletRow | BadRow], origin: str,
                       quarantine: Path | None, matchers: list[WalletMatch]) -> WalletCounts:
    """Maps and stores rows in the open transaction; bad rows raise an InputError unless a
    quarantine file is given."""
    counts = WalletCounts(bad_rows=[])
    assert counts.bad_rows is not None
    batch: list[dict[str, Any]] = []
    unmapped: list[WalletRow] = []
    for item in rows:
        counts.rows_read += 1
        if isinstance(item, BadRow):
            counts.bad_rows.append(item)
            continue
        pool = pool_for(matchers, item.card, item.usage_type, item.org, item.env)
        if pool is None:
            unmapped.append(item)
            counts.unmapped += 1
        else:
            batch.append(_usage_row(item, pool, record.id))
        if len(batch) >= BATCH:
            counts.accepted += _insert_new(session, batch)
            batch = []
        if len(unmapped) >= BATCH:
            _keep_pending(session, unmapped, origin, record.id)
            unmapped = []
    counts.accepted += _insert_new(session, batch)
    _keep_pending(session, unmapped, origin, record.id)
    settle_bad_rows(counts.bad_rows, counts.rows_read, origin, quarantine)
    return counts


def _summary(session: Session, record: ImportRow, counts: WalletCounts,
             quarantine: Path | None, pending_imported: int) -> WalletSummary:
    rejected = len(counts.bad_rows or [])
    valid = counts.rows_read - rejected
    record.rows_read = counts.rows_read
    record.rows_accepted = counts.accepted + pending_imported
    record.rows_rejected = rejected
    record.rows_duplicate = max(valid - counts.accepted - counts.unmapped, 0)
    base = ImportSummary(record.id, counts.rows_read, counts.accepted, record.rows_duplicate,
                         rejected, quarantine if rejected else None)
    return WalletSummary(base, pending_groups(session), pending_imported)


def import_wallet_file(workspace: Workspace, path: Path, *, quarantine: Path | None = None,
                       actor: str | None = None, now: datetime | None = None,
                       on_progress: Callable[[int], None] | None = None) -> WalletSummary:
    """Imports a Digital Wallet export in one transaction; re-importing it changes nothing."""
    with workspace.session() as session:
        matchers = wallet_matchers(session)
        record = ImportRow(kind=SOURCE, source=path.name, file_hash=file_sha256(path),
                           actor=actor or current_actor(), at=now or datetime.now(UTC))
        session.add(record)
        session.flush()
        pending_imported = import_pending_rows(session, matchers, record.id)
        counts = import_wallet_rows(session, record, read_wallet_rows(path, on_progress),
                                    str(path), quarantine, matchers)
        return _summary(session, record, counts, quarantine, pending_imported)


def import_pending(workspace: Workspace, *, actor: str | None = None,
                   now: datetime | None = None) -> WalletSummary:
    """Imports the kept rows that a pool's `match:` list claims now."""
    with workspace.session() as session:
        record = ImportRow(kind=SOURCE, source="kept rows", file_hash="-",
                           actor=actor or current_actor(), at=now or datetime.now(UTC))
        session.add(record)
        session.flush()
        moved = import_pending_rows(session, wallet_matchers(session), record.id)
        return _summary(session, record, WalletCounts(bad_rows=[]), None, moved)
