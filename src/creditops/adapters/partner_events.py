"""Partner activity events, CSV or Parquet: what the files hold, and every row parsed for the
reference evaluator.

The columnar engine reads the same files itself; the patterns and the problem wording here are
shared with it, so both accept and refuse the same rows with the same words. Row numbers count a
CSV header as row 1 (a Parquet file's first record is row 1).
"""

from __future__ import annotations

import csv
import re
import zoneinfo
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from creditops.adapters.partner_files import csv_rows
from creditops.core.errors import InputError, Problem
from creditops.core.incentive_reference import Event, raise_problems
from creditops.core.incentives import DEAL_CLOSED, DEAL_REVERSED

EVENT_COLUMNS = ("id", "partner_id", "at", "kind", "amount", "ref")
REQUIRED_EVENT_COLUMNS = ("id", "partner_id", "at", "kind")
# The same patterns drive both engines, so they accept and refuse the same texts.
DATE_PATTERN = r"\d{4}-\d{2}-\d{2}"
INSTANT_PATTERN = r"\d{4}-\d{2}-\d{2}[T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?"
OFFSET_PATTERN = INSTANT_PATTERN + r"(Z|[+-]([01]\d|2[0-3]):[0-5]\d)"
AMOUNT_PATTERN = r"-?\d{1,14}(\.\d{1,4}0*)?"
AMOUNT_PLACES = 4
AMOUNT_LIMIT = Decimal(10) ** 14
_DATE = re.compile(DATE_PATTERN)
_INSTANT = re.compile(INSTANT_PATTERN)
_OFFSET = re.compile(OFFSET_PATTERN)
_AMOUNT = re.compile(AMOUNT_PATTERN)


@dataclass(frozen=True)
class EventsFile:
    """An events file and what its columns hold: ``text`` (CSV, or Parquet strings),
    ``integer``, ``decimal``, ``date``, ``timestamp`` (naive: local time) or ``instant``."""

    path: Path
    format: Literal["csv", "parquet"]
    columns: dict[str, str]

    @property
    def source(self) -> str:
        return str(self.path)


def inspect_events(path: Path | str) -> EventsFile:
    """Which format the file is and what its columns hold; refuses missing columns and column
    types that cannot hold the data exactly (floating-point amounts)."""
    path = Path(path)
    source = str(path)
    if not path.exists():
        raise InputError(Problem("file not found", source=source))
    if path.suffix.lower() == ".parquet":
        columns = _parquet_columns(path, source)
        fmt: Literal["csv", "parquet"] = "parquet"
    else:
        rows = _csv_header(path, source)
        columns = {name: "text" for name in rows}
        fmt = "csv"
    missing = [name for name in REQUIRED_EVENT_COLUMNS if name not in columns]
    if missing:
        raise InputError([Problem(f"missing column {name!r} (expected "
                                  f"{', '.join(EVENT_COLUMNS)})", source, column=name)
                          for name in missing])
    return EventsFile(path, fmt, {name: kind for name, kind in columns.items()
                                  if name in EVENT_COLUMNS})


def _csv_header(path: Path, source: str) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputError(Problem(f"cannot read the CSV file: {error}", source=source)) from None


def _parquet_columns(path: Path, source: str) -> dict[str, str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException) as error:
        raise InputError(Problem(f"cannot read the Parquet file: {error}", source)) from None
    columns: dict[str, str] = {}
    problems: list[Problem] = []
    allowed = {"id": {"text", "integer"}, "partner_id": {"text", "integer"},
               "ref": {"text", "integer"}, "kind": {"text"},
               "at": {"text", "date", "timestamp", "instant"},
               "amount": {"text", "integer", "decimal"}}
    for field in schema:
        kind = _arrow_kind(field.type)
        if field.name in allowed and kind not in allowed[field.name]:
            advice = (" (floating-point amounts are inexact: store them as decimals or text)"
                      if field.name == "amount" else "")
            problems.append(Problem(f"column type {field.type} cannot hold {field.name}{advice}",
                                    source, column=field.name))
        columns[field.name] = kind
    if problems:
        raise InputError(problems)
    return columns


def _arrow_kind(arrow_type: Any) -> str:
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    checks = (("text", pa.types.is_string), ("text", pa.types.is_large_string),
              ("integer", pa.types.is_integer), ("decimal", pa.types.is_decimal),
              ("date", pa.types.is_date))
    for kind, check in checks:
        if check(arrow_type):
            return kind
    if pa.types.is_timestamp(arrow_type):
        return "instant" if arrow_type.tz is not None else "timestamp"
    return str(arrow_type)


# Problems found in a single row, worded once for both engines.

def missing_problem(source: str, row: int, column: str) -> Problem:
    return Problem(f"missing {column}", source, row, column)


def bad_date_problem(source: str, row: int, text: str) -> Problem:
    return Problem(f"{text!r} is not a date (YYYY-MM-DD) or an instant "
                   "(YYYY-MM-DDTHH:MM[:SS[.ffffff]][Z|±HH:MM])", source, row, "at")


def unknown_kind_problem(source: str, row: int, kind: str, known: Sequence[str]) -> Problem:
    return Problem(f"unknown event kind {kind!r} (known: {', '.join(known)}; declare others "
                   "under kinds: in the program)", source, row, "kind")


def missing_amount_problem(source: str, row: int) -> Problem:
    return Problem("a deal_closed needs an amount", source, row, "amount")


def bad_amount_problem(source: str, row: int, text: str) -> Problem:
    return Problem(f"{text!r} is not an amount (a plain decimal, at most 14 digits before the "
                   f"point and {AMOUNT_PLACES} after)", source, row, "amount")


def negative_amount_problem(source: str, row: int, text: str) -> Problem:
    return Problem(f"amount {text} of a deal is negative", source, row, "amount")


def missing_ref_problem(source: str, row: int) -> Problem:
    return Problem("a deal_reversed needs ref: the id of the deal it reverses", source, row,
                   "ref")


def read_events(events: EventsFile, timezone: str, known_kinds: Sequence[str]) -> list[Event]:
    """Every row parsed, for the reference evaluator; all row problems are reported at once."""
    zone = zoneinfo.ZoneInfo(timezone)
    known = frozenset(known_kinds)
    source = events.source
    parsed: list[Event] = []
    problems: list[Problem] = []
    for row, record in _records(events):
        found: list[Problem] = []
        event_id, partner_id, kind = (_text(record.get(name))
                                      for name in ("id", "partner_id", "kind"))
        ref = _text(record.get("ref"))
        found += [missing_problem(source, row, name) for name, value in
                  (("id", event_id), ("partner_id", partner_id)) if value is None]
        on = _day(record.get("at"), zone)
        if on is None:
            raw = record.get("at")
            found.append(missing_problem(source, row, "at") if _text(raw) is None
                         else bad_date_problem(source, row, str(raw)))
        if kind is None:
            found.append(missing_problem(source, row, "kind"))
        elif kind not in known:
            found.append(unknown_kind_problem(source, row, kind, known_kinds))
        amount = None
        if kind == DEAL_CLOSED:
            amount, problem = _amount(record.get("amount"), source, row)
            found += [problem] if problem else []
        elif kind == DEAL_REVERSED and ref is None:
            found.append(missing_ref_problem(source, row))
        if found:
            problems += found
        elif not problems:
            assert event_id and partner_id and kind and on
            parsed.append(Event(event_id, partner_id, on, kind, amount, ref, row))
    raise_problems(problems, source=source)
    return parsed


def _records(events: EventsFile) -> Iterator[tuple[int, dict[str, Any]]]:
    if events.format == "csv":
        rows = csv_rows(events.path, events.source)
        header = rows[0]
        for number, values in enumerate(rows[1:], start=2):
            if len(values) != len(header):
                raise InputError(Problem(f"{len(values)} fields where the header has "
                                         f"{len(header)}", events.source, number))
            yield number, dict(zip(header, values, strict=True))
        return
    import pyarrow.parquet as pq

    number = 0
    table = pq.ParquetFile(events.path)
    for batch in table.iter_batches(columns=list(events.columns)):
        for record in batch.to_pylist():
            number += 1
            yield number, record


def _text(value: object) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def _day(value: object, zone: zoneinfo.ZoneInfo) -> date | None:
    if isinstance(value, datetime):
        return (value.astimezone(zone) if value.tzinfo else value).date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    try:
        if _DATE.fullmatch(value):
            return date.fromisoformat(value)
        if _OFFSET.fullmatch(value):
            return datetime.fromisoformat(value).astimezone(zone).date()
        if _INSTANT.fullmatch(value):
            return datetime.fromisoformat(value).date()
    except ValueError:
        return None
    return None


def _amount(value: object, source: str, row: int) -> tuple[Decimal | None, Problem | None]:
    if value is None or value == "":
        return None, missing_amount_problem(source, row)
    if isinstance(value, str):
        if not _AMOUNT.fullmatch(value):
            return None, bad_amount_problem(source, row, value)
        amount = Decimal(value)
    else:
        if isinstance(value, int):
            amount = Decimal(value)
        else:
            assert isinstance(value, Decimal)  # the Parquet column types allowed
            amount = value
        if abs(amount) >= AMOUNT_LIMIT or \
                amount != amount.quantize(Decimal(1).scaleb(-AMOUNT_PLACES)):
            return None, bad_amount_problem(source, row, str(value))
    if amount < 0:
        return None, negative_amount_problem(source, row, str(value))
    return amount, None
