"""Raw events at any scale, aggregated to daily totals before they reach the workspace (rate
cards, which convert them, are in ``ratecards``).

Raw events are idempotent by id: each import keeps a manifest of the ids it counted (a Parquet
file stored in the workspace database, in the same transaction as the usage it produced), and the
next import skips every id of the manifests of imports still committed. Each daily total is a
usage row whose identity names its import, so a later file that adds events to a day already
imported adds only the new ones.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import logging
import os
import sys
import tempfile
import threading
import time as clock
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from creditops.adapters.event_engine import EventEngine, connect_engine
from creditops.adapters.event_problems import (
    LOCATED_PROBLEMS,
    LocatedRow,
    has_problems,
    locate_problems,
    rejected_by_reader,
    translate_engine_error,
    valid_only,
)
from creditops.adapters.events import (
    EventSource,
    ReadProgress,
    day_of,
    first_copies,
    first_copy_totals,
    fresh_events,
    keyed_events,
    manifest_parts,
    parse_mapping,
    read_events,
    reporting_progress,
    resolve_source,
    seen_table,
    totals_by_day,
    write_manifest,
)
from creditops.adapters.storage.repository import insert_rows
from creditops.adapters.storage.tables import (
    EventManifestRow,
    ImportRow,
    PoolRow,
    UsageRow,
)
from creditops.adapters.usage_file import file_sha256
from creditops.core.errors import InputError, Problem
from creditops.core.numbers import normalize
from creditops.core.ratecard import (
    RateCard,
    TierScope,
    convert,
)
from creditops.services.ratecards import effective_card, figure_warning
from creditops.services.workspace import Workspace, current_actor

log = logging.getLogger("creditops.consumption")


@contextlib.contextmanager
def _step(name: str) -> Any:
    """Logs how long a step of an import took (``--verbose``, and the benchmark, show it)."""
    started, cpu = clock.perf_counter(), clock.process_time()
    yield
    log.debug("%s: %.2f s (%.2f s of processor time)", name, clock.perf_counter() - started,
              clock.process_time() - cpu)


# -- raw events --------------------------------------------------------------------------------

@dataclass(frozen=True)
class EventsSummary:
    import_id: int
    rows_read: int
    events: int  # fresh events counted
    duplicate: int
    rejected: int
    daily_totals: int  # usage rows written
    quantity: Decimal  # in the pools' units
    quarantine: Path | None
    low_confidence: tuple[str, ...] = ()
    by_pool: dict[str, Decimal] = field(default_factory=dict)


def _manifest_files(session: Session, folder: Path, kind: str) -> list[Path]:
    """Writes the id manifests of the committed imports of a kind (raw events, Marketing Cloud
    messages) to Parquet files in ``folder``."""
    query = (select(EventManifestRow.import_id, EventManifestRow.part, EventManifestRow.ids)
             .join(ImportRow, ImportRow.id == EventManifestRow.import_id)
             .where(ImportRow.status == "committed", ImportRow.kind == kind)
             .order_by(EventManifestRow.import_id, EventManifestRow.part))
    files: dict[int, Path] = {}
    for import_id, _part, data in session.execute(query):
        path = files.setdefault(import_id, folder / f"seen-{import_id}.parquet")
        with path.open("ab") as handle:
            handle.write(data)
    return list(files.values())


@dataclass(frozen=True)
class EventsOrigin:
    """What an importer that turns its own file into events tells the events import."""

    label: str | None = None
    file_hash: str | None = None
    rejected: int = 0  # bad rows it quarantined
    not_events: int = 0  # rows it read that are no usage (e.g. inbound SMS)
    low_confidence: tuple[str, ...] = ()


class _Hasher:
    """SHA-256 of the input files, computed in a thread while the engine reads them. On Linux
    the thread runs at the lowest priority, on what the engine leaves idle, rather than
    taking turns with it."""

    def __init__(self, files: list[Path]) -> None:
        self.value = ""
        self._files = files
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        if sys.platform == "linux":
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        if len(self._files) == 1:
            self.value = file_sha256(self._files[0])
            return
        digest = hashlib.sha256()
        for path in self._files:
            digest.update(file_sha256(path).encode())
        self.value = digest.hexdigest()

    def result(self) -> str:
        self._thread.join()
        return self.value


def import_events(workspace: Workspace, location: str, *, mapping: str | None = None,
                  rate_card: str | None = None, sandbox: bool = False,
                  engine_url: str = "duckdb", quarantine: Path | None = None,
                  kind: str = "events", actor: str | None = None, now: datetime | None = None,
                  on_progress: Callable[[ReadProgress], None] | None = None,
                  origin: EventsOrigin | None = None) -> EventsSummary:
    """Imports raw events (CSV or Parquet files, a glob, or on Spark a table or cluster path)
    as daily totals per pool and usage type, in one transaction."""
    now = now or datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="creditops-events-") as folder:
        work = Path(folder)
        engine = connect_engine(engine_url, work)
        try:
            source = resolve_source(location, parse_mapping(mapping), local=engine.is_duckdb,
                                    rejects=quarantine is not None)
            hasher = _Hasher(source.files)
            with workspace.session() as session:
                return _import_events(session, engine, source, work, hasher, rate_card=rate_card,
                                      sandbox=sandbox, quarantine=quarantine, kind=kind,
                                      actor=actor or current_actor(), now=now,
                                      on_progress=on_progress, origin=origin or EventsOrigin())
        finally:
            engine.close()


def _import_events(session: Session, engine: EventEngine, source: EventSource, work: Path,
                   hasher: _Hasher, *, rate_card: str | None, sandbox: bool,
                   quarantine: Path | None, kind: str, actor: str, now: datetime,
                   on_progress: Callable[[ReadProgress], None] | None, origin: EventsOrigin
                   ) -> EventsSummary:
    pools: dict[str, str | None] = {pool_id: contract for pool_id, contract in
                                    session.execute(select(PoolRow.id, PoolRow.contract_id))}
    pool_ids = sorted(pools)
    cards = {contract: effective_card(session, rate_card, contract)
             for contract in set(pools.values())} if rate_card else {}
    label = origin.label or source.label
    record = ImportRow(kind=kind, source=label[:500], file_hash="", actor=actor, at=now)
    session.add(record)
    session.flush()
    with _step("seen ids"):
        manifest_files = _manifest_files(session, work, kind)
        # Without manifests there is nothing to skip (and no table to build for it).
        seen = seen_table(engine, manifest_files) if manifest_files else None
    manifest = work / "imported-ids.parquet"
    try:
        events = keyed_events(read_events(engine, source), native=engine.is_duckdb)
        with _step("read"), reporting_progress(engine, source, on_progress):
            if seen is None or (source.format != "parquet" and not engine.is_duckdb):
                # The files are read once (and each id hashed once); every later step works
                # on the engine's own copy.
                raw, rows_in_engine = engine.keep(events)
                fresh = raw if seen is None else engine.cache(fresh_events(raw, seen))
            else:
                # Only the events not seen before are kept (none, when a file comes again),
                # and only they are converted and hashed. Parquet files count their rows in
                # their metadata; for CSV files DuckDB's profile of the read tells.
                csv_on_duckdb = source.format == "csv" and engine.is_duckdb
                unseen = keyed_events(read_events(engine, source, skip=seen),
                                      native=engine.is_duckdb)
                with engine.building_on_the_right():
                    if engine.is_duckdb:
                        fresh, _ = engine.keep(unseen, profile=csv_on_duckdb)
                    else:
                        fresh = engine.cache(unseen)
                scanned = engine.rows_scanned("READ_CSV") if csv_on_duckdb else None
                rows_in_engine = (scanned if scanned is not None
                                  else int(events.count().to_pyarrow().as_py()))
        if on_progress is not None:
            on_progress(ReadProgress(rows_in_engine, rows_in_engine, exact=True))
        with _step("repeated ids and daily totals"):
            totals, repeated = first_copy_totals(engine, fresh)
            bad = has_problems(totals, pool_ids)
    except InputError:
        raise
    except Exception as error:
        translated = translate_engine_error(error, source)
        if translated is None:
            raise
        raise translated from None
    reader_rejects = rejected_by_reader(engine) if quarantine is not None else []
    bad_rows: list[LocatedRow] = []
    # Every fresh id, later copies included: the same set as the first copies' ids, without
    # computing them a second time (a manifest is only ever anti-joined).
    counted_ids = fresh.select("id")
    if bad:
        bad_rows = locate_problems(engine, source, pool_ids,
                                   None if quarantine is not None else LOCATED_PROBLEMS)
        if quarantine is None:
            problems = [p for row in bad_rows for p in row.problems]
            problems.append(Problem(
                "nothing was imported; fix the rows above, or import the good rows with "
                "--quarantine FILE", source=source.label))
            raise InputError(problems)
        firsts = fresh if repeated is None else first_copies(fresh, repeated)
        firsts = engine.cache(valid_only(firsts, pool_ids))
        totals = totals_by_day(firsts).to_pyarrow().to_pylist()
        counted_ids = firsts.select("id")
    if quarantine is not None and (bad_rows or reader_rejects):
        write_located_quarantine(quarantine, [*reader_rejects, *bad_rows])
    counted = sum(int(total["events"]) for total in totals)
    # The engine writes the manifest while this thread stores the usage rows.
    with _step("manifest and usage rows"), ThreadPoolExecutor(1) as background:
        writing = background.submit(write_manifest, engine, counted_ids, manifest)
        rows, low = _usage_rows(session, totals, record.id, kind, pools, cards, rate_card,
                                sandbox, source.label)
        # Identities name this import, so nothing can conflict: a plain bulk insert.
        insert_rows(session, UsageRow, rows)
        written = len(rows)
        writing.result()
    engine.close_in_background()  # nothing more is asked of it
    with _step("store manifest"):
        for part, data in enumerate(manifest_parts(manifest)):
            session.add(EventManifestRow(import_id=record.id, part=part, id_count=counted,
                                         ids=data))
        session.flush()
    rejected = len(reader_rejects) + len(bad_rows) + origin.rejected
    rows_read = rows_in_engine + len(reader_rejects) + origin.rejected + origin.not_events
    with _step("file hash"):
        file_hash = hasher.result()
    record.file_hash = (origin.file_hash or file_hash
                        or hashlib.sha256(source.location.encode()).hexdigest())
    record.rows_read = rows_read
    record.rows_accepted = counted
    record.rows_rejected = rejected
    record.rows_duplicate = max(rows_read - counted - rejected, 0)
    by_pool: dict[str, Decimal] = {}
    for row in rows:
        by_pool[row["pool_id"]] = by_pool.get(row["pool_id"], Decimal(0)) + row["quantity"]
    return EventsSummary(record.id, rows_read, counted, record.rows_duplicate, rejected, written,
                         sum(by_pool.values(), Decimal(0)),
                         quarantine if (bad_rows or reader_rejects or origin.rejected) else None,
                         tuple(dict.fromkeys((*origin.low_confidence, *low))), by_pool)


def write_located_quarantine(path: Path, rows: Iterable[LocatedRow]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "row", "id", "at", "pool", "usage_type", "quantity", "error"])
        for row in rows:
            values = row.values
            reasons = "; ".join(f"{p.column}: {p.reason}" if p.column else p.reason
                                for p in row.problems)
            writer.writerow([row.source, row.row or "", values.get("id", ""),
                             values.get("at", values.get("line", "")), values.get("pool", ""),
                             values.get("usage_type", ""), values.get("quantity", ""), reasons])


def _month_to_date(session: Session, pool: str, usage_types: list[str] | None, day: date
                   ) -> Decimal:
    start = datetime.combine(day.replace(day=1), time(0), tzinfo=UTC)
    end_month = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    end = datetime.combine(end_month, time(0), tzinfo=UTC)
    query = select(UsageRow.quantity).where(UsageRow.pool_id == pool, UsageRow.at >= start,
                                            UsageRow.at < end)
    if usage_types is not None:
        query = query.where(UsageRow.usage_type.in_(usage_types))
    return sum(session.scalars(query), Decimal(0))


def _usage_rows(session: Session, totals: list[dict[str, Any]], import_id: int, kind: str,
                pools: dict[str, str | None], cards: dict[str | None, RateCard],
                card_name: str | None, sandbox: bool, label: str
                ) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    rows: list[dict[str, Any]] = []
    low: dict[str, None] = {}
    month_position: dict[tuple[str, str, int, int], Decimal] = {}
    problems: list[Problem] = []
    days: dict[int, tuple[date, datetime, str]] = {}  # tens of thousands of totals, a few days
    for total in totals:
        if (day_fields := days.get(total["day"])) is None:
            day = day_of(total["day"])
            day_fields = days[total["day"]] = (day, datetime.combine(day, time(0), tzinfo=UTC),
                                               day.isoformat())
        day, midnight, iso_day = day_fields
        pool, usage_type = total["pool"], total["usage_type"]
        quantity = normalize(Decimal(total["quantity"]))
        note = f"{total['events']} event(s)"
        if card_name is not None:
            card = cards[pools[pool]]
            if usage_type is None:
                problems.append(Problem(f"events without a usage type cannot be converted with "
                                        f"rate card {card_name!r}", source=label,
                                        column="usage_type"))
                continue
            try:
                known = card.usage_type(usage_type)
            except InputError as error:
                problems += [Problem(p.reason, source=label, column="usage_type")
                             for p in error.problems]
                continue
            tiered = card.tiers is not None and not sandbox
            scope_types = None
            scope_key = known.key
            if tiered and card.tiers is not None and card.tiers.scope is TierScope.CARD:
                scope_key, scope_types = "*", [u.key for u in card.usage_types]
            key = (pool, scope_key, day.year, day.month)
            if tiered and key not in month_position:
                month_position[key] = _month_to_date(
                    session, pool, scope_types or [usage_type, known.key], day)
            conversion = convert(card, known.key, quantity,
                                 month_to_date=month_position.get(key, Decimal(0)),
                                 sandbox=sandbox)
            if tiered:
                month_position[key] += conversion.amount
            for figure in conversion.low_confidence:
                low[figure_warning(card, known.label, figure)] = None
            note += (f"; {quantity.normalize():f} {known.unit}(s) → {conversion.amount:f} "
                     f"{card.converts_to}(s) with {card.name}")
            quantity = conversion.amount
        rows.append({
            "pool_id": pool, "at": midnight,
            "quantity": quantity, "usage_type": usage_type,
            "identity": f"{kind}:{import_id}:{iso_day}:{usage_type or ''}",
            "reverses": None, "ref": None, "source": kind, "note": note,
            "import_id": import_id,
        })
    if problems:
        raise InputError(problems)
    return rows, tuple(low)
