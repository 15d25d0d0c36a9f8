"""Raw usage events at scale: one Ibis expression that skips ids already imported, keeps the
first copy of each id in the batch and sums what is left into daily totals per pool and usage
type (UTC days), run on DuckDB in this process or on an existing Spark cluster.

Exactness across engines rests on decimals (``quantity`` is ``DECIMAL(18,6)``, never a float)
and on UTC sessions (Ibis pins the session time zone of both backends). Ibis's ``row_number`` is
0-based: the first copy is ``copy_number == 0``. The engines are in ``event_engine``; checking
events and locating bad rows is in ``event_problems``.
"""

from __future__ import annotations

import contextlib
import csv
import glob
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from ibis import _

from creditops.adapters.event_engine import EventEngine
from creditops.core.errors import InputError, Problem

EVENT_FIELDS = ("id", "at", "pool", "usage_type", "quantity")
REQUIRED_FIELDS = ("id", "at", "pool", "quantity")
QUANTITY = dt.Decimal(18, 6)
INSTANT = dt.Timestamp(timezone="UTC")
# A quantity is a non-negative decimal with at most 6 places, without an exponent: a cast would
# round further places (or an exponent's) silently. Most texts are told apart by the cast and
# three substring tests, cheaper than a pattern; the rest (spaces around, a sign, zeros past the
# sixth place) are judged by this pattern.
QUANTITY_TEXT = r"^\s*\+?[0-9]{1,12}(\.[0-9]{0,6})?\s*$"


# -- the aggregation ---------------------------------------------------------------------------

MICROSECONDS_PER_DAY = 86_400_000_000


@ibis.udf.scalar.builtin  # type: ignore[untyped-decorator]
def unix_micros(instant: dt.Timestamp(timezone="UTC")) -> dt.int64:  # type: ignore[valid-type]
    """Microseconds since 1970-01-01 UTC (Spark's UNIX_MICROS; DuckDB's EPOCH_US)."""


def fresh_events(events: ibis.Table, seen: ibis.Table) -> ibis.Table:
    """Events whose id no earlier import counted."""
    return events.anti_join(seen, "id")


@ibis.udf.scalar.builtin(name="hash")  # type: ignore[untyped-decorator]
def native_hash(value: str) -> dt.uint64:
    """DuckDB's own unsigned 64-bit hash (Ibis's portable ``hash`` detours through a bit string
    to make it signed, which costs more than the hash)."""


def keyed_events(events: ibis.Table, *, native: bool = False) -> ibis.Table:
    """The events with ``id_hash``, a hash of the id: sorting, grouping and joining ten million
    ids by an integer is several times cheaper than by their text. Computed while the file is
    read, so that no later step hashes again. ``native`` keeps the top 32 bits of DuckDB's own
    hash: they are sorted in half the time of 64, and the few thousand distinct ids they leave
    sharing a hash only send a few more events through the window that tells ids apart."""
    if native:
        return events.mutate(id_hash=(native_hash(events.id) >> 32).cast("uint32"))
    return events.mutate(id_hash=events.id.hash())


def repeated_hashes(keyed: ibis.Table) -> ibis.Table:
    """The hashes that occur more than once in the batch: every id that repeats, plus (rarely)
    distinct ids whose hashes collide."""
    return (keyed.group_by("id_hash").aggregate(copies=_.count())
            .filter(_.copies > 1).select("id_hash"))


def repeated_in_batch(engine: EventEngine, keyed: ibis.Table) -> ibis.Table | None:
    """The hashes that occur more than once in the batch, or None when none does. On DuckDB the
    hashes are sorted in two halves (split by their top bit) on two threads and compared with
    their neighbours: several times cheaper than grouping ten million of them. Elsewhere it is
    the grouping expression, run where the data lives."""
    if not engine.is_duckdb:
        return engine.cache(repeated_hashes(keyed))
    hash_type = keyed.id_hash.type()
    middle = ibis.literal(2**(hash_type.nbytes * 8 - 1) if hash_type.is_unsigned_integer()
                          else 0, hash_type)
    halves = [keyed.filter(half).id_hash.to_pyarrow().to_numpy()
              for half in (keyed.id_hash < middle, keyed.id_hash >= middle)]
    with ThreadPoolExecutor(len(halves)) as pool:
        ordered = list(pool.map(np.sort, halves))
    repeats = np.concatenate([half[1:][half[1:] == half[:-1]] for half in ordered])
    if not len(repeats):
        return None
    distinct = repeats[np.concatenate(([True], repeats[1:] != repeats[:-1]))]
    return ibis.memtable(pa.table({"id_hash": distinct}))


def first_copies(keyed: ibis.Table, repeated: ibis.Table) -> ibis.Table:
    """One event per id: the first by (at, quantity). Only the events whose hash repeats go
    through the window that numbers the copies of each id (0-based in Ibis); the window groups
    by the id itself, so a hash collision costs a little time, never a wrong answer."""
    window = ibis.window(group_by="id", order_by=[_.at, _.quantity])
    firsts_of_repeated = (keyed.semi_join(repeated, "id_hash")
                          .mutate(copy_number=ibis.row_number().over(window))
                          .filter(_.copy_number == 0).drop("copy_number"))
    return keyed.anti_join(repeated, "id_hash").union(firsts_of_repeated, distinct=False)


def first_fresh_events(events: ibis.Table, seen: ibis.Table) -> ibis.Table:
    """Events whose id was not imported before, one per id: the first by (at, quantity)."""
    fresh = keyed_events(fresh_events(events, seen)).view()
    return first_copies(fresh, repeated_hashes(fresh))


def totals_by_day(events: ibis.Table) -> ibis.Table:
    """Daily totals per pool and usage type. ``day`` counts UTC days since 1970-01-01 (an
    integer: exact on every engine, with no time-zone arithmetic; the floor of an exact
    double quotient of integers below 2**53 stays on the right day for centuries); ``flagged``
    counts events with no id or an unusable quantity."""
    flagged = (events.id.isnull() | (events.id == "") | ~events.quantity_ok
               | events.quantity.isnull())
    day = unix_micros(events.at) // MICROSECONDS_PER_DAY
    return (events.group_by(day=day, pool=_.pool, usage_type=_.usage_type)
            .aggregate(quantity=_.quantity.sum(), events=_.count(),
                       flagged=flagged.cast("int64").sum())
            .order_by(["day", "pool", "usage_type"]))


def first_copy_totals(engine: EventEngine, keyed: ibis.Table
                      ) -> tuple[list[dict[str, Any]], ibis.Table | None]:
    """``totals_by_day(first_copies(keyed, repeated))`` and the repeated hashes, computed as the
    totals of every event less those of the later copies of repeated ids: the ten million events
    are grouped once and never joined, and only the few repeated ones go through the window.
    On DuckDB (where ``keyed`` is a table ``keep`` stored) every event is summed on a second
    connection while this one finds the repeated ids and their later copies."""
    summing = engine.rows_on_the_side(totals_by_day(keyed))
    with ThreadPoolExecutor(1) as pool:
        meanwhile = pool.submit(summing) if engine.is_duckdb else None
        repeated = repeated_in_batch(engine, keyed)
        later_copies: list[dict[str, Any]] = []
        if repeated is not None:
            window = ibis.window(group_by="id", order_by=[_.at, _.quantity])
            later = (keyed.semi_join(repeated, "id_hash")
                     .mutate(copy_number=ibis.row_number().over(window))
                     .filter(_.copy_number > 0).drop("copy_number"))
            later_copies = totals_by_day(later).to_pyarrow().to_pylist()
        everything = meanwhile.result() if meanwhile is not None else summing()
    by_key = {(t["day"], t["pool"], t["usage_type"]): t for t in everything}
    for copy in later_copies:
        total = by_key[copy["day"], copy["pool"], copy["usage_type"]]
        for measure in ("events", "flagged"):
            total[measure] -= copy[measure]
        if copy["quantity"] is not None:  # NULL: no copy had a usable quantity
            # (a group left with no usable quantity is flagged, and never imported)
            total["quantity"] -= copy["quantity"]
    return [total for total in everything if total["events"]], repeated


def daily_totals(events: ibis.Table, seen: ibis.Table) -> ibis.Table:
    """The whole aggregation as one expression (what runs where the data lives)."""
    return totals_by_day(first_fresh_events(events, seen))


def day_of(number: int) -> date:
    return EPOCH_DAY + timedelta(days=number)


EPOCH_DAY = date(1970, 1, 1)


# -- reading -----------------------------------------------------------------------------------

@dataclass
class EventSource:
    """What to read: local files (after glob expansion), or for Spark a path or table name the
    cluster resolves. ``mapping`` maps each field to the source's column name."""

    location: str
    files: list[Path]
    format: str  # "csv", "parquet" or "table"
    mapping: dict[str, str]
    rejects: bool = False  # keep rows DuckDB cannot parse aside instead of failing

    @property
    def label(self) -> str:
        return str(self.files[0]) if len(self.files) == 1 else self.location


def parse_mapping(text: str | None) -> dict[str, str]:
    mapping = {name: name for name in EVENT_FIELDS}
    if not text:
        return mapping
    for part in text.split(","):
        target, sep, source = part.partition("=")
        target, source = target.strip(), source.strip()
        if not sep or target not in EVENT_FIELDS or not source:
            raise InputError(Problem(
                f"{part.strip()!r} is not FIELD=COLUMN with FIELD one of {', '.join(EVENT_FIELDS)}",
                column="--map"))
        mapping[target] = source
    return mapping


def resolve_source(location: str, mapping: dict[str, str], *, local: bool,
                   rejects: bool = False) -> EventSource:
    """Expands a path or glob and checks each file's columns (local engines), or passes a
    cluster path or table name through."""
    lowered = location.lower()
    file_format = "parquet" if lowered.endswith((".parquet", ".parq", ".pq")) else "csv"
    if not local:
        if "/" not in location and not lowered.endswith((".csv", ".parquet")):
            file_format = "table"
        return EventSource(location, [], file_format, mapping, rejects)
    files = sorted(Path(p) for p in glob.glob(os.path.expanduser(location)))
    if not files:
        raise InputError(Problem("no such file (or no file matches the pattern)",
                                 source=location))
    problems = []
    for path in files:
        columns = _columns_of(path, file_format)
        missing = [mapping[f] for f in REQUIRED_FIELDS if mapping[f] not in columns]
        if mapping["usage_type"] != "usage_type" and mapping["usage_type"] not in columns:
            missing.append(mapping["usage_type"])
        if missing:
            problems.append(Problem(
                f"missing column(s) {', '.join(missing)}; the file has {', '.join(columns)} "
                "(rename with --map id=EventId,at=EventTime,...)", source=str(path), row=1))
    if problems:
        raise InputError(problems)
    return EventSource(location, files, file_format, mapping, rejects)


def _columns_of(path: Path, file_format: str) -> list[str]:
    if file_format == "parquet":
        try:
            return list(pq.read_schema(path).names)
        except (pa.ArrowInvalid, OSError) as error:
            raise InputError(Problem(f"not a readable Parquet file ({error})",
                                     source=str(path))) from None
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), None)
    except (UnicodeDecodeError, csv.Error) as error:
        raise InputError(Problem(f"not a UTF-8 CSV file ({error})", source=str(path),
                                 row=1)) from None
    if not header:
        raise InputError(Problem("the file is empty", source=str(path)))
    return [name.strip() for name in header]


def read_events(engine: EventEngine, source: EventSource, skip: ibis.Table | None = None
                ) -> ibis.Table:
    """The events with the five fields, typed: ``id`` text, ``at`` UTC instant, ``quantity``
    decimal (NULL when the text is no plain non-negative decimal), plus ``quantity_ok``.
    ``skip``: a table of ids whose events are left out before any field is converted."""
    backend, mapping = engine.backend, source.mapping
    has_usage_type = mapping["usage_type"] != "usage_type" or source.format == "table" \
        or all("usage_type" in _columns_of(p, source.format) for p in source.files)
    if engine.is_duckdb:
        paths = [str(p) for p in source.files]
        if source.format == "parquet":
            raw = backend.read_parquet(paths)
        else:
            # The header was read and checked already: give DuckDB the dialect and every
            # column's type instead of letting it guess them from a sample.
            columns = dict.fromkeys(_columns_of(source.files[0], "csv"), "VARCHAR")
            columns[mapping["at"]] = "TIMESTAMPTZ"
            options: dict[str, Any] = {
                "columns": columns, "header": True, "delim": ",", "quote": '"',
                "escape": '"', "auto_detect": False, "filename": True}
            if source.rejects:
                options["store_rejects"] = True
            raw = backend.read_csv(paths, **options)
    elif source.format == "table":
        raw = backend.table(source.location)
    elif source.format == "parquet":
        raw = backend.read_parquet(source.location)
    else:
        raw = backend.read_csv(source.location, header=True)
    if skip is not None:
        raw = raw.anti_join(skip, raw[mapping["id"]].cast("string") == skip.id)
    return _typed(raw, mapping, has_usage_type)


def _typed(raw: ibis.Table, mapping: dict[str, str], has_usage_type: bool) -> ibis.Table:
    quantity = raw[mapping["quantity"]]
    if quantity.type().is_string():
        text, quantity = quantity, quantity.try_cast(QUANTITY)
        plain = ((quantity >= 0) & ~text.like("%._______%")  # no 7th character after a point
                 & ~text.contains("e") & ~text.contains("E"))
        quantity_ok = ibis.cases((plain, True),
                                 else_=text.re_search(QUANTITY_TEXT).fill_null(False))
    elif quantity.type().is_numeric():
        quantity = quantity.cast(QUANTITY)
        quantity_ok = quantity.notnull() & (quantity >= 0)
    else:
        raise InputError(Problem(f"column {mapping['quantity']!r} holds "
                                 f"{quantity.type()}, not numbers", column=mapping["quantity"]))
    at = raw[mapping["at"]]
    at = at.try_cast(INSTANT) if at.type().is_string() else at.cast(INSTANT)
    usage_type = raw[mapping["usage_type"]].cast("string") if has_usage_type \
        else ibis.null("string")
    return raw.select(id=raw[mapping["id"]].cast("string"), at=at,
                      pool=raw[mapping["pool"]].cast("string"), usage_type=usage_type,
                      quantity=quantity, quantity_ok=quantity_ok)


# -- id manifests ----------------------------------------------------------------------------

MANIFEST_PART_BYTES = 64 * 1024 * 1024


def seen_table(engine: EventEngine, manifest_files: Sequence[Path]) -> ibis.Table:
    if not manifest_files:
        return ibis.memtable(pa.table({"id": pa.array([], pa.string())}))
    if engine.is_duckdb:
        return engine.backend.read_parquet([str(p) for p in manifest_files])
    return ibis.memtable(pa.concat_tables([pq.read_table(p) for p in manifest_files]))


def write_manifest(engine: EventEngine, ids: ibis.Table, path: Path) -> int:
    """Writes a table of ids (and maybe more columns) to a Parquet file; returns how many.
    Zstandard at its fastest level: as quick to write as Snappy, and half the size or less
    (ids share prefixes and alphabets), which the workspace database stores once per import.
    On DuckDB, Parquet 2's encoding of the texts with their lengths delta-encoded rather than a
    dictionary, which distinct ids never fill: 10-40% less work to write, no slower to read."""
    if engine.is_duckdb:
        ids.to_parquet(path, compression="zstd", compression_level=1, parquet_version="v2",
                       dictionary_size_limit=1)
        return int(pq.read_metadata(path).num_rows)
    count = 0
    batches = ids.to_pyarrow_batches()
    with pq.ParquetWriter(path, batches.schema, compression="zstd",
                          compression_level=1) as writer:
        for batch in batches:
            writer.write_batch(batch)
            count += batch.num_rows
    return count


def manifest_parts(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(MANIFEST_PART_BYTES):
            yield chunk


# -- progress --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReadProgress:
    """How far the read of the events has come: ``rows`` of ``total`` (None when the engine
    cannot tell); ``exact`` when the total comes from the files' metadata rather than from
    their size."""

    rows: int
    total: int | None
    exact: bool


SAMPLE_BYTES = 1 << 20


def expected_rows(source: EventSource) -> tuple[int | None, bool]:
    """The number of events the files hold: exact for Parquet (its metadata), estimated for CSV
    (the size over the mean length of the first lines), unknown for cluster sources."""
    if not source.files:
        return None, False
    if source.format == "parquet":
        return sum(pq.read_metadata(path).num_rows for path in source.files), True
    total = 0
    for path in source.files:
        size = path.stat().st_size
        with path.open("rb") as handle:
            sample = handle.read(SAMPLE_BYTES)
        lines = sample.count(b"\n") + (not sample.endswith(b"\n") and bool(sample))
        if len(sample) < size:  # a sample: scale its lines to the whole file
            lines = size * lines // len(sample)
        total += max(lines - 1, 0)  # less the header
    return total, False


@contextlib.contextmanager
def reporting_progress(engine: EventEngine, source: EventSource,
                       on_progress: Callable[[ReadProgress], None] | None) -> Iterator[None]:
    """Reports the rows read so far while the block runs: DuckDB's progress of the running
    query times the rows expected."""
    if on_progress is None:
        yield
        return
    total, exact = expected_rows(source)
    done = threading.Event()

    def poll() -> None:
        while not done.wait(0.2):
            with contextlib.suppress(Exception):
                value = engine.backend.con.query_progress()
                if value is not None and value >= 0 and total is not None:
                    on_progress(ReadProgress(int(total * min(float(value) / 100, 1.0)), total,
                                             exact))

    thread = threading.Thread(target=poll, daemon=True)
    if engine.is_duckdb:
        thread.start()
    try:
        yield
    finally:
        done.set()
        if engine.is_duckdb:
            thread.join()
