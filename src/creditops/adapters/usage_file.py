"""Usage files (CSV or XLSX) read row by row, without loading the whole file.

Columns: ``date`` or ``at``, ``pool``, ``quantity``; optional ``usage_type``, ``ref``, ``source``,
``note``. A row's identity (what makes a re-import change nothing) is its ``ref`` when present;
otherwise its content plus its occurrence number among identical rows of the file. A negative
quantity is a reversal: its ``ref`` names the row it reverses.
"""

from __future__ import annotations

import csv
import hashlib
import mmap
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any

from creditops.core.errors import InputError, Problem
from creditops.core.model import day_start
from creditops.core.numbers import ZERO, normalize, parse_decimal

REQUIRED = ("pool", "quantity")
OPTIONAL = ("usage_type", "ref", "source", "note")
TIME_COLUMNS = ("date", "at")


@dataclass(frozen=True)
class UsageRecord:
    row: int
    pool: str
    at: datetime
    quantity: Decimal
    usage_type: str | None
    ref: str | None
    source: str | None
    note: str | None
    identity: str
    reverses: str | None


@dataclass(frozen=True)
class BadRow:
    row: int
    values: dict[str, str]
    problems: list[Problem]


HASH_WINDOW = 64 << 20  # a multiple of every page size


def file_sha256(path: Path) -> str:
    """The file's SHA-256, hashed where the file lies in memory (a mapping of it: no copy of a
    raw-event file of hundreds of megabytes), or read in chunks where it cannot be mapped."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        try:
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except (ValueError, OSError):  # empty, or not a regular file (a pipe): nothing read yet
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
            return digest.hexdigest()
        with mapped, memoryview(mapped) as view:
            for start in range(0, len(view), HASH_WINDOW):
                window = view[start:start + HASH_WINDOW]
                digest.update(window)
                if hasattr(mmap, "MADV_DONTNEED"):
                    # The pages hashed leave this process's resident memory (the system's cache
                    # of the file keeps them): a whole file mapped would count in it.
                    mapped.madvise(mmap.MADV_DONTNEED, start, len(window))
                window.release()
    return digest.hexdigest()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        # openpyxl hands numeric cells over as floats; repr gives the shortest exact text of the
        # number Excel stored, which is what the user typed.
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def raw_position(handle: Any) -> int:
    """How far into the file (bytes) a text handle's buffer has read."""
    return int(handle.buffer.tell())


def iter_table(path: Path, on_bytes: Callable[[int], None] | None = None
               ) -> Iterator[tuple[int, dict[str, str]]]:
    """Yields (row number, {column: text}) from a CSV or XLSX file. The first item is the
    header (row 1) as {name: name}, so that a file with a header and no rows is still checked."""
    source = str(path)
    if not path.exists():
        raise InputError(Problem("file not found", source=source))
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        yield from _iter_xlsx(path)
        return
    with path.open("rb") as raw:
        if not raw.read(1):
            raise InputError(Problem("the file is empty", source=source))
    handle = path.open(encoding="utf-8-sig", newline="")
    row_number = 1
    try:
        reader = csv.reader(handle)
        try:
            header = [name.strip() for name in next(reader)]
        except StopIteration:
            raise InputError(Problem("the file is empty", source=source)) from None
        yield 1, {name: name for name in header}
        for row_number, cells in enumerate(reader, start=2):
            if on_bytes is not None and row_number % 4096 == 0:
                on_bytes(raw_position(handle))
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(header):
                raise InputError(Problem(
                    f"{len(cells)} cells but the header has {len(header)} columns",
                    source=source, row=row_number,
                ))
            yield row_number, {name: cell.strip() for name, cell in zip(header, cells,
                                                                        strict=False)}
    except UnicodeDecodeError as error:
        raise InputError(Problem(
            f"not UTF-8 text ({error.reason}); save the file as UTF-8 CSV",
            source=source, row=row_number + 1,
        )) from None
    except csv.Error as error:
        raise InputError(Problem(f"not a valid CSV file: {error}", source=source,
                                 row=row_number + 1)) from None
    finally:
        handle.close()


def _iter_xlsx(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    source = str(path)
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError) as error:
        raise InputError(Problem(f"not a readable XLSX workbook ({error})", source=source)) \
            from None
    try:
        rows = workbook.active.iter_rows(values_only=True) if workbook.active else iter(())
        header_cells = next(rows, None)
        if header_cells is None:
            raise InputError(Problem("the workbook's first sheet is empty", source=source))
        header = [_cell_text(cell) for cell in header_cells]
        yield 1, {name: name for name in header}
        for row_number, cells in enumerate(rows, start=2):
            texts = [_cell_text(cell) for cell in cells]
            if not any(texts):
                continue
            yield row_number, dict(zip(header, texts, strict=False))
    finally:
        workbook.close()


def _parse_instant(text: str, column: str, zone: tzinfo) -> datetime:
    if column == "date":
        if len(text) > 10 and text[10] in "T " and not text[11:].strip("0:. "):
            text = text[:10]  # a spreadsheet's date cell comes with a midnight time
        try:
            return day_start(date.fromisoformat(text), zone)
        except ValueError:
            raise ValueError(f"{text!r} is not a date (expected YYYY-MM-DD)") from None
    try:
        instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO 8601 instant (e.g. 2026-03-01T14:30:00Z)"
        ) from None
    if len(text) == 10:
        return day_start(instant.date(), zone)
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=zone)


def check_header(header: list[str], source: str) -> str:
    """Returns the time column; refuses missing and unknown columns."""
    known = set(REQUIRED) | set(OPTIONAL) | set(TIME_COLUMNS)
    unknown = [name for name in header if name not in known]
    missing = [name for name in REQUIRED if name not in header]
    time_columns = [name for name in TIME_COLUMNS if name in header]
    problems = []
    if unknown:
        problems.append(Problem(
            f"unknown column(s) {', '.join(map(repr, unknown))}; expected date or at, pool, "
            "quantity, and optionally usage_type, ref, source, note", source=source, row=1,
        ))
    if missing:
        problems.append(Problem(f"missing column(s) {', '.join(missing)}", source=source, row=1))
    if len(time_columns) != 1:
        problems.append(Problem("exactly one of the columns `date` or `at` is needed",
                                source=source, row=1))
    if problems:
        raise InputError(problems)
    return time_columns[0]


def _collector(problems: list[Problem], source: str, row: int) -> Callable[[str, str], None]:
    def bad(column: str, reason: str) -> None:
        problems.append(Problem(reason, source=source, row=row, column=column))

    return bad


def read_usage_rows(
    path: Path,
    pools: set[str],
    zone: tzinfo,
    on_bytes: Callable[[int], None] | None = None,
) -> Iterator[UsageRecord | BadRow]:
    """Parses each row into a usage record or a bad row with every reason it is bad."""
    source = str(path)
    occurrences: Counter[str] = Counter()
    rows = iter_table(path, on_bytes)
    _, header = next(rows)
    time_column = check_header(list(header), source)
    for row_number, values in rows:
        problems: list[Problem] = []
        bad = _collector(problems, source, row_number)

        pool = values.get("pool", "")
        if not pool:
            bad("pool", "empty pool")
        elif pool not in pools:
            bad("pool", f"unknown pool {pool!r}")
        quantity = ZERO
        try:
            quantity = parse_decimal(values.get("quantity", ""))
        except ValueError as error:
            bad("quantity", str(error))
        at = None
        try:
            at = _parse_instant(values.get(time_column, ""), time_column, zone)
        except ValueError as error:
            bad(time_column, str(error))
        ref = values.get("ref") or None
        if quantity < ZERO and ref is None:
            bad("quantity", "a negative quantity is only allowed as a reversal whose `ref` "
                "names the row it reverses")
        if problems or at is None:
            yield BadRow(row_number, values, problems)
            continue
        usage_type = values.get("usage_type") or None
        reverses = None
        if quantity < ZERO:
            reverses = f"ref:{ref}"
            identity = f"rev:{ref}:{at.isoformat()}:{normalize(quantity)}"
        elif ref is not None:
            identity = f"ref:{ref}"
        else:
            content = "\x1f".join([pool, at.isoformat(), format(normalize(quantity), "f"),
                                   usage_type or "", values.get("source", ""),
                                   values.get("note", "")])
            digest = hashlib.sha256(content.encode()).hexdigest()[:24]
            identity = f"row:{digest}"
        occurrences[identity] += 1
        if occurrences[identity] > 1:
            if identity.startswith("ref:"):
                yield BadRow(row_number, values, [Problem(
                    f"ref {ref!r} appears more than once in the file", source=source,
                    row=row_number, column="ref")])
                continue
            identity = f"{identity}:{occurrences[identity]}"
        yield UsageRecord(
            row=row_number, pool=pool, at=at, quantity=quantity, usage_type=usage_type,
            ref=ref, source=values.get("source") or None, note=values.get("note") or None,
            identity=identity, reverses=reverses,
        )
