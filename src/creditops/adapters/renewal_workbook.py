"""Renewal tables → an XLSX workbook (one sheet per table), numbers kept as numbers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from creditops.core.errors import InputError, Problem

Cell = str | int | Decimal | date | bool | None

_MONEY_FORMAT = "#,##0.00"
_RATIO_FORMAT = "0.00%"
_SHEET_TITLE_LIMIT = 31


@dataclass(frozen=True)
class Table:
    """One sheet: a header row and rows; ``money`` and ``ratio`` name columns to format."""

    title: str
    header: Sequence[str]
    rows: Sequence[Sequence[Cell]]
    money: frozenset[str] = field(default_factory=frozenset)
    ratio: frozenset[str] = field(default_factory=frozenset)


def write_workbook(path: Path, tables: Sequence[Table]) -> None:
    workbook = Workbook()
    for sheet in list(workbook.worksheets):
        workbook.remove(sheet)
    used: set[str] = set()
    for table in tables:
        title = table.title[:_SHEET_TITLE_LIMIT]
        suffix = 2
        while title in used:
            title = f"{table.title[:_SHEET_TITLE_LIMIT - 3]} {suffix}"
            suffix += 1
        used.add(title)
        sheet = workbook.create_sheet(title)
        sheet.append(list(table.header))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append(list(row))
        for index, name in enumerate(table.header, start=1):
            letter = get_column_letter(index)
            number_format = (_MONEY_FORMAT if name in table.money
                             else _RATIO_FORMAT if name in table.ratio else None)
            if number_format:
                for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                    cell.number_format = number_format
            width = max([len(str(name))] + [len(str(row[index - 1])) for row in table.rows
                                            if index - 1 < len(row)])
            sheet.column_dimensions[letter].width = min(max(width + 2, 8), 60)
        sheet.freeze_panes = "A2"
    try:
        workbook.save(path)
    except OSError as error:
        raise InputError(Problem(f"cannot write the workbook: {error.strerror or error}",
                                 source=str(path))) from None
