"""Marketing Cloud send logs in: each message converted to super messages with a rate card, and
counted once per message id (however many overlapping extracts contain it) through the raw-event
import."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from creditops.adapters.marketing_cloud import SentMessage, parse_zone, read_sent_messages
from creditops.adapters.storage.tables import PoolRow
from creditops.adapters.usage_file import BadRow, file_sha256
from creditops.core.errors import InputError, Problem
from creditops.core.ratecard import Conversion, convert
from creditops.services.consumption import EventsOrigin, EventsSummary, import_events
from creditops.services.errors import NotFoundError
from creditops.services.imports import settle_bad_rows
from creditops.services.ratecards import effective_card, figure_warning
from creditops.services.workspace import Workspace

MARKETING_KIND = "marketing_cloud_messages"
MESSAGE_SCHEMA = pa.schema([("id", pa.string()), ("at", pa.timestamp("us", tz="UTC")),
                            ("pool", pa.string()), ("usage_type", pa.string()),
                            ("quantity", pa.decimal128(18, 6))])


def _marketing_pool(session: Session, pool: str | None) -> PoolRow:
    if pool is not None:
        row = session.get(PoolRow, pool)
        if row is None:
            raise NotFoundError(f"no pool {pool!r}")
        return row
    candidates = list(session.scalars(select(PoolRow).where(PoolRow.kind == MARKETING_KIND)))
    if len(candidates) != 1:
        raise InputError(Problem(
            f"{len(candidates)} pools of kind {MARKETING_KIND}; name one with --pool",
            column="--pool"))
    return candidates[0]


def import_marketing_cloud(workspace: Workspace, path: Path, *, pool: str | None = None,
                           rate_card: str = "marketing-cloud-super-messages",
                           high_priority: Iterable[str] = (), zone: str = "-06:00",
                           quarantine: Path | None = None, actor: str | None = None,
                           now: datetime | None = None,
                           on_progress: Callable[[int], None] | None = None) -> EventsSummary:
    """Imports a send log as super messages per channel and day; each message counts once,
    however many overlapping extracts contain it."""
    zone_info = parse_zone(zone)
    with workspace.session() as session:
        target = _marketing_pool(session, pool)
        card = effective_card(session, rate_card, target.contract_id)
    per_message: dict[str, Conversion] = {}
    bad_rows: list[BadRow] = []
    not_events = 0
    with tempfile.TemporaryDirectory(prefix="creditops-messages-") as folder:
        events_file = Path(folder) / "messages.parquet"
        batch: list[SentMessage] = []
        with pq.ParquetWriter(events_file, MESSAGE_SCHEMA) as writer:
            def flush() -> None:
                writer.write_table(pa.table({
                    "id": [m.id for m in batch], "at": [m.at for m in batch],
                    "pool": [target.id] * len(batch),
                    "usage_type": [m.usage_type for m in batch],
                    "quantity": [per_message[m.usage_type].amount for m in batch],
                }, schema=MESSAGE_SCHEMA))
                batch.clear()

            rows_read = 0
            for item in read_sent_messages(path, zone_info, set(high_priority), on_progress):
                rows_read += 1
                if item is None:
                    not_events += 1
                    continue
                if isinstance(item, BadRow):
                    bad_rows.append(item)
                    continue
                if item.usage_type not in per_message:
                    try:
                        per_message[item.usage_type] = convert(card, item.usage_type,
                                                               Decimal(1))
                    except InputError as error:
                        bad_rows.append(BadRow(item.row, {"id": item.id}, [
                            Problem(p.reason, source=str(path), row=item.row,
                                    column="usage type") for p in error.problems]))
                        continue
                batch.append(item)
                if len(batch) >= 50_000:
                    flush()
            flush()
        settle_bad_rows(bad_rows, rows_read, str(path), quarantine)
        low = tuple(dict.fromkeys(
            figure_warning(card, c.usage_type.label, f)
            for c in per_message.values() for f in c.low_confidence))
        return import_events(
            workspace, str(events_file), kind="marketing-cloud", actor=actor, now=now,
            origin=EventsOrigin(label=path.name, file_hash=file_sha256(path),
                           rejected=len(bad_rows), not_events=not_events, low_confidence=low))
