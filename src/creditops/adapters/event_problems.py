"""Problems in raw events: the checks every event passes (an id, an instant, a known pool, a
usable quantity), the rows that fail them located by file and row (a second, slower read, only
when something failed), the rows the CSV reader itself refused, and engine errors translated into
located problems."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import ibis

from creditops.adapters.event_engine import EventEngine
from creditops.adapters.events import EVENT_FIELDS, EventSource, read_events
from creditops.core.errors import InputError, Problem

LOCATED_PROBLEMS = 50

PROBLEM_REASONS = {
    "missing_id": ("id", "empty event id"),
    "missing_at": ("at", "no instant (expected ISO 8601, e.g. 2026-08-01T14:30:00Z)"),
    "missing_pool": ("pool", "empty pool"),
    "unknown_pool": ("pool", "unknown pool"),
    "bad_quantity": ("quantity", "not a non-negative decimal with at most 6 decimal places "
                                "(and no exponent)"),
}


def problem_flags(events: ibis.Table, pools: Sequence[str]) -> dict[str, ibis.Value]:
    pool = events.pool
    return {
        "missing_id": events.id.isnull() | (events.id == ""),
        "missing_at": events.at.isnull(),
        "missing_pool": pool.isnull() | (pool == ""),
        "unknown_pool": pool.notnull() & (pool != "") & ~pool.isin(list(pools)),
        "bad_quantity": ~events.quantity_ok | events.quantity.isnull(),
    }


def has_problems(totals: list[dict[str, Any]], pools: Sequence[str]) -> bool:
    """Whether some daily total has no day, an empty or unknown pool, or flagged events."""
    known = set(pools)
    return any(t["day"] is None or not t["pool"] or t["pool"] not in known or t["flagged"]
               for t in totals)


def valid_only(events: ibis.Table, pools: Sequence[str]) -> ibis.Table:
    flags = list(problem_flags(events, pools).values())
    bad = flags[0]
    for flag in flags[1:]:
        bad = bad | flag
    return events.filter(~bad.fill_null(True))


@dataclass
class LocatedRow:
    source: str
    row: int | None
    values: dict[str, str]
    problems: list[Problem] = field(default_factory=list)


def locate_problems(engine: EventEngine, source: EventSource, pools: Sequence[str],
                    limit: int | None) -> list[LocatedRow]:
    """The bad rows with their file and row (the slow path: it reads the files again)."""
    located: list[LocatedRow] = []
    if engine.is_duckdb and source.files:
        for path in source.files:
            single = EventSource(source.location, [path], source.format, source.mapping)
            located += _locate_in(engine, single, pools, limit, str(path), with_rows=True)
            if limit is not None and len(located) >= limit:
                break
        return located[:limit] if limit is not None else located
    return _locate_in(engine, source, pools, limit, source.label, with_rows=False)


def _locate_in(engine: EventEngine, source: EventSource, pools: Sequence[str], limit: int | None,
               label: str, with_rows: bool) -> list[LocatedRow]:
    events = read_events(engine, source)
    header_rows = 2 if source.format == "csv" else 1
    if with_rows:
        engine.backend.raw_sql("SET preserve_insertion_order = true")
        events = events.mutate(row_number=ibis.row_number() + header_rows)
    flags = problem_flags(events, pools)
    bad = events.mutate(**{k: v.fill_null(True) for k, v in flags.items()})
    any_bad = None
    for key in flags:
        any_bad = bad[key] if any_bad is None else any_bad | bad[key]
    bad = bad.filter(any_bad)
    if limit is not None:
        bad = bad.limit(limit)
    rows = bad.to_pyarrow().to_pylist()
    if with_rows:
        engine.backend.raw_sql("SET preserve_insertion_order = false")
    located = []
    for row in rows:
        values = {name: "" if row[name] is None else str(row[name]) for name in EVENT_FIELDS}
        number = row.get("row_number")
        problems = []
        for key, (column, reason) in PROBLEM_REASONS.items():
            if row[key]:
                detail = f" {values['pool']!r}" if key == "unknown_pool" else ""
                where = "" if number is not None else f" (event id {values['id']!r})"
                problems.append(Problem(reason + detail + where, source=label,
                                        row=number, column=source.mapping[column]))
        located.append(LocatedRow(label, number, values, problems))
    return located


def rejected_by_reader(engine: EventEngine) -> list[LocatedRow]:
    """Rows DuckDB's CSV reader could not parse (kept aside with ``store_rejects``)."""
    try:
        rows = engine.backend.raw_sql(
            "SELECT s.file_path, e.line, e.column_name, e.error_message, e.csv_line "
            "FROM reject_errors e JOIN reject_scans s USING (scan_id, file_id) "
            "ORDER BY s.file_path, e.line").fetchall()
    except duckdb.Error:  # no rejects table: nothing was rejected
        return []
    return [LocatedRow(path, int(line), {"line": text or ""},
                       [Problem(_short_reason(message), source=path, row=int(line),
                                column=column)])
            for path, line, column, message, text in rows]


_LINE = re.compile(r"CSV Error on Line: (\d+)")
_COLUMN = re.compile(r'converting column "([^"]+)"')
_FILE = re.compile(r"^\s*file = (.+)$", re.MULTILINE)


def translate_engine_error(error: Exception, source: EventSource) -> InputError | None:
    """A reader or conversion error of the engine, as a located problem (or None if it is not
    about the input)."""
    name = type(error).__name__
    about_input = isinstance(error, duckdb.Error) and not isinstance(
        error, duckdb.InternalException | duckdb.OutOfMemoryException
        | duckdb.InterruptException)
    if not about_input and not any(kind in name for kind in (
            "Analysis", "NumberFormat", "DateTime", "Parse", "Conversion")):
        return None
    message = str(error)
    line = _LINE.search(message)
    column = _COLUMN.search(message)
    file_match = _FILE.search(message)
    return InputError(Problem(
        _short_reason(message),
        source=file_match.group(1).strip() if file_match else source.label,
        row=int(line.group(1)) if line else None,
        column=column.group(1) if column else None))


def _short_reason(message: str) -> str:
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("Error when converting column") or "Could not convert" in line:
            return line
    first = lines[0] if lines else message
    return first.split(": ", 1)[-1] if "Error" in first.split(": ", 1)[0] else first
