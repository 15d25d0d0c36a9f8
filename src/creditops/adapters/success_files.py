"""CSV files of the success-plan area: the Accelerator catalogue, the development backlog,
support cases and delivered sessions.

Headers are matched loosely (case, spaces, and the names Jira, Azure DevOps and Salesforce exports
use); leading ``#`` lines are comments. Every problem names the file, the row and the column, and
all of a file's problems are reported at once.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path

from creditops.core.accelerators import BacklogItem, CatalogueEntry, UsedSession
from creditops.core.advisor import SupportCase
from creditops.core.errors import InputError, Problem
from creditops.core.numbers import parse_decimal

DATA_PACKAGE = "creditops.data.success"
EXAMPLE_ACCELERATORS = "example-accelerator-catalogue.csv"

# ---------------------------------------------------------------------------------------------
# CSV files


def _header_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


@dataclass(frozen=True)
class _Row:
    number: int  # the line of the file where the row starts, as a spreadsheet shows it
    values: Mapping[str, str]


def read_csv(path: Path, columns: Mapping[str, Sequence[str]], required: Sequence[str]
             ) -> list[_Row]:
    """Rows of a CSV file keyed by canonical column names. ``columns`` maps each canonical
    name to the header spellings accepted for it (Jira, Azure DevOps, Salesforce exports).
    Leading lines starting with ``#`` are comments (the example files say what they are)."""
    source = str(path)
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise InputError(Problem("file not found", source=source)) from None
    except OSError as error:
        raise InputError(Problem(f"cannot read the file: {error}", source=source)) from None
    with handle:
        reader = csv.reader(handle, strict=True)
        try:
            header: list[str] | None = None
            for cells in reader:
                if cells and not cells[0].lstrip().startswith("#") and any(
                        cell.strip() for cell in cells):
                    header = cells
                    break
            if header is None:
                raise InputError(Problem("the file is empty: expected a header row",
                                         source=source))
            header_line = reader.line_num
            aliases = {_header_key(alias): canonical
                       for canonical, names in columns.items() for alias in (canonical, *names)}
            positions: dict[str, int] = {}
            for index, cell in enumerate(header):
                canonical = aliases.get(_header_key(cell))
                if canonical is not None and canonical not in positions:
                    positions[canonical] = index
            missing = [name for name in required if name not in positions]
            if missing:
                raise InputError(Problem(
                    f"missing column(s) {', '.join(missing)}; the header has: "
                    f"{', '.join(cell.strip() for cell in header)}", source=source,
                    row=header_line))
            rows: list[_Row] = []
            start = reader.line_num + 1
            for cells in reader:
                if any(cell.strip() for cell in cells):
                    if len(cells) > len(header):
                        raise InputError(Problem(
                            f"{len(cells)} values but the header has {len(header)} columns",
                            source=source, row=start))
                    values = {name: cells[index].strip() if index < len(cells) else ""
                              for name, index in positions.items()}
                    rows.append(_Row(start, values))
                start = reader.line_num + 1
        except csv.Error as error:
            raise InputError(Problem(f"not valid CSV: {error}", source=source,
                                     row=reader.line_num)) from None
        except UnicodeDecodeError:
            raise InputError(Problem("not UTF-8 text: save the file as CSV UTF-8",
                                     source=source)) from None
    return rows


class _RowProblems:
    """Collects problems of a file so the user sees them all at once."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def add(self, row: _Row, column: str | None, reason: str) -> None:
        self.problems.append(Problem(reason, source=self.source, row=row.number, column=column))

    def text(self, row: _Row, column: str) -> str:
        value = row.values.get(column, "")
        if not value:
            self.add(row, column, "empty: a value is required")
        return value

    def number(self, row: _Row, column: str, optional: bool = False) -> Decimal | None:
        text = row.values.get(column, "")
        if not text and optional:
            return None
        try:
            value = parse_decimal(text)
        except ValueError as error:
            self.add(row, column, str(error))
            return None
        if value < 0:
            self.add(row, column, f"must not be negative, got {value}")
            return None
        return value

    def day(self, row: _Row, column: str) -> date | None:
        text = row.values.get(column, "")
        try:
            if len(text) > 10:
                return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
            return date.fromisoformat(text)
        except ValueError:
            self.add(row, column, f"{text!r} is not a date (write it as 2026-03-31)")
            return None

    def unique(self, rows: Sequence[_Row], column: str) -> None:
        first: dict[str, int] = {}
        for row in rows:
            key = row.values.get(column, "")
            if key and key in first:
                self.add(row, column, f"{key!r} already appears on row {first[key]}")
            first.setdefault(key, row.number)

    def raise_if_any(self) -> None:
        if self.problems:
            raise InputError(self.problems)


CATALOGUE_COLUMNS = {
    "id": ("accelerator_id", "key", "code"),
    "title": ("name", "accelerator", "topic"),
    "description": ("summary", "details"),
    "product": ("cloud", "products"),
    "hours": ("duration_hours", "duration", "length_hours"),
}


def read_accelerator_catalogue(path: Path) -> list[CatalogueEntry]:
    rows = read_csv(path, CATALOGUE_COLUMNS, ("id", "title", "description"))
    check = _RowProblems(str(path))
    check.unique(rows, "id")
    entries = []
    for row in rows:
        entry_id, title = check.text(row, "id"), check.text(row, "title")
        hours = check.number(row, "hours", optional=True)
        entries.append(CatalogueEntry(entry_id, title, row.values["description"],
                                      row.values.get("product", ""), hours))
    check.raise_if_any()
    return entries


def example_accelerator_catalogue_path() -> Path:
    """The small example catalogue shipped with the package (example data, not Salesforce's)."""
    return Path(str(resources.files(DATA_PACKAGE).joinpath(EXAMPLE_ACCELERATORS)))


BACKLOG_COLUMNS = {
    "id": ("issue_key", "key", "work_item_id", "item_id"),
    "title": ("summary", "name"),
    "description": ("details", "body"),
    "owner": ("assignee", "assigned_to"),
    "priority": ("rank",),
    "questions": ("preparation", "preparation_notes", "notes"),
}
PRIORITY_NAMES = {
    "highest": 1, "blocker": 1, "critical": 1, "urgent": 1,
    "high": 2, "major": 2,
    "medium": 3, "normal": 3, "moderate": 3,
    "low": 4, "minor": 4,
    "lowest": 5, "trivial": 5,
}
UNSET_PRIORITY = 5


def parse_priority(text: str) -> int:
    """1 is the most urgent. Accepts ranks (1, P1), Jira and Azure DevOps names; blank is
    the least urgent. Raises ValueError with the reason."""
    cleaned = text.strip().lower()
    if not cleaned:
        return UNSET_PRIORITY
    if cleaned in PRIORITY_NAMES:
        return PRIORITY_NAMES[cleaned]
    match = re.fullmatch(r"p?(\d+)(\s*-.*)?", cleaned)
    if match and int(match.group(1)) >= 1:
        return int(match.group(1))
    word = re.match(r"[a-z]+", cleaned)
    if word and word.group(0) in PRIORITY_NAMES:
        return PRIORITY_NAMES[word.group(0)]
    raise ValueError(f"{text!r} is not a priority (use 1 for the most urgent, P1..P5, or "
                     "Highest/High/Medium/Low/Lowest)")


def read_backlog(path: Path) -> list[BacklogItem]:
    rows = read_csv(path, BACKLOG_COLUMNS, ("id", "title"))
    check = _RowProblems(str(path))
    check.unique(rows, "id")
    items = []
    for row in rows:
        item_id, title = check.text(row, "id"), check.text(row, "title")
        try:
            priority = parse_priority(row.values.get("priority", ""))
        except ValueError as error:
            check.add(row, "priority", str(error))
            priority = UNSET_PRIORITY
        items.append(BacklogItem(item_id, title, row.values.get("description", ""),
                                 row.values.get("owner", ""), priority,
                                 row.values.get("questions", "")))
    check.raise_if_any()
    return items


CASE_COLUMNS = {
    "id": ("case_number", "case_id", "case"),
    "opened": ("date_opened", "created", "created_date", "opened_date"),
    "severity": ("sev", "priority"),
    "first_response_hours": ("first_response", "response_hours"),
    "resolution_hours": ("resolution", "time_to_resolution_hours"),
}


def parse_severity(text: str) -> str:
    """``sev1``..``sev4`` from 1, Sev 1, Severity 1 - Critical, S1 or P1."""
    match = re.fullmatch(r"(?:sev(?:erity)?|s|p)?\s*([1-4])(?:\s*[-:].*)?", text.strip().lower())
    if match is None:
        raise ValueError(f"{text!r} is not a severity (use sev1, sev2, sev3 or sev4)")
    return f"sev{match.group(1)}"


def read_support_cases(path: Path) -> list[SupportCase]:
    rows = read_csv(path, CASE_COLUMNS,
                    ("id", "opened", "severity", "first_response_hours", "resolution_hours"))
    check = _RowProblems(str(path))
    check.unique(rows, "id")
    cases = []
    for row in rows:
        case_id = check.text(row, "id")
        opened = check.day(row, "opened")
        try:
            severity = parse_severity(row.values["severity"])
        except ValueError as error:
            check.add(row, "severity", str(error))
            severity = None
        first = check.number(row, "first_response_hours")
        resolution = check.number(row, "resolution_hours", optional=True)
        if opened is not None and severity is not None and first is not None:
            cases.append(SupportCase(case_id, opened, severity, first, resolution))
    check.raise_if_any()
    return cases


USED_COLUMNS = {
    "date": ("day", "delivered", "session_date"),
    "catalogue_id": ("catalog_id", "accelerator_id", "accelerator"),
    "backlog_id": ("item_id", "issue_key", "work_item_id"),
}


def read_used_sessions(path: Path) -> list[UsedSession]:
    rows = read_csv(path, USED_COLUMNS, ("date", "catalogue_id"))
    check = _RowProblems(str(path))
    sessions = []
    for row in rows:
        day = check.day(row, "date")
        catalogue_id = check.text(row, "catalogue_id")
        if day is not None:
            sessions.append(UsedSession(day, catalogue_id, row.values.get("backlog_id") or None))
    check.raise_if_any()
    return sessions
