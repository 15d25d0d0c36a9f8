"""Tables of the renewal area (CSV or XLSX): recorded true-up settlements and daily credit usage.

Every problem is reported with file, row (the line number, header = 1) and column; all of a file's
problems are reported at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from creditops.adapters.usage_file import iter_table
from creditops.core.errors import InputError, Problem
from creditops.core.numbers import parse_decimal
from creditops.core.trueup_history import Settlement

SETTLEMENT_REQUIRED = ("date", "product", "quantity_added", "price_paid", "original_rate")
SETTLEMENT_OPTIONAL = ("months", "amount", "forecast_quantity", "disputed", "note")
USAGE_COLUMNS = ("date", "quantity")
_TRUE = {"true", "yes", "y", "1", "x"}
_FALSE = {"false", "no", "n", "0", ""}

T = TypeVar("T")


class _Rows:
    """A table's rows as {column: text} (column names in lower case), after the header is
    checked; gathers the problems of the rows instead of stopping at the first."""

    def __init__(self, path: Path, required: tuple[str, ...], optional: tuple[str, ...]) -> None:
        self.source = str(path)
        self.problems: list[Problem] = []
        self._table = iter_table(path)
        _, names = next(self._table)
        header = [name.lower() for name in names]
        missing = [name for name in required if name not in header]
        unknown = [name for name in header if name not in required + optional]
        problems = [Problem(f"missing column (the columns are: {', '.join(required)}"
                            + (f"; optional: {', '.join(optional)}" if optional else "") + ")",
                            source=self.source, row=1, column=name) for name in missing]
        problems += [Problem("unknown column; expected one of: "
                             f"{', '.join(required + optional)}", source=self.source, row=1,
                             column=name) for name in unknown]
        if problems:
            raise InputError(problems)

    def __iter__(self) -> Iterator[tuple[int, dict[str, str]]]:
        for row, values in self._table:
            yield row, {name.lower(): text for name, text in values.items()}

    def field(self, row: int, values: dict[str, str], column: str,
              parse: Callable[[str], T], *, required: bool = True) -> T | None:
        text = values.get(column, "")
        if not text:
            if required:
                self.problems.append(Problem("empty value", self.source, row, column))
            return None
        try:
            return parse(text)
        except ValueError as error:
            self.problems.append(Problem(str(error), self.source, row, column))
            return None

    def finish(self) -> None:
        if self.problems:
            raise InputError(self.problems)


def _date(text: str) -> date:
    """YYYY-MM-DD; a spreadsheet's date cell comes as midnight of that day."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.time() != time(0):
        raise ValueError(f"{text!r} is not a date (write YYYY-MM-DD)")
    return moment.date()


def _count(text: str) -> int:
    number = parse_decimal(text)
    if number != number.to_integral_value() or number < 0:
        raise ValueError(f"{text!r} is not a whole number of licences (0 or more)")
    return int(number)


def _amount(text: str) -> Decimal:
    number = parse_decimal(text)
    if number < 0:
        raise ValueError(f"{text!r} is negative")
    return number


def _flag(text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{text!r} is not yes/no (true, false, yes, no, 1, 0)")


def read_settlements(path: Path) -> list[Settlement]:
    """Columns: date, product, quantity_added, price_paid and original_rate (per licence per
    month); optional months (billed), amount (invoiced), forecast_quantity, disputed, note."""
    rows = _Rows(path, SETTLEMENT_REQUIRED, SETTLEMENT_OPTIONAL)
    settlements = []
    for row, values in rows:
        when = rows.field(row, values, "date", _date)
        product = values.get("product", "")
        if not product:
            rows.problems.append(Problem("empty value", rows.source, row, "product"))
        quantity = rows.field(row, values, "quantity_added", _count)
        price = rows.field(row, values, "price_paid", _amount)
        original = rows.field(row, values, "original_rate", _amount)
        months = rows.field(row, values, "months", _count, required=False)
        amount = rows.field(row, values, "amount", _amount, required=False)
        forecast = rows.field(row, values, "forecast_quantity", _count, required=False)
        disputed = rows.field(row, values, "disputed", _flag, required=False)
        if when is None or quantity is None or price is None or original is None or not product:
            continue
        settlements.append(Settlement(
            when=when, product=product, quantity_added=quantity, price_paid=price,
            original_rate=original, months=months, amount=amount, forecast_quantity=forecast,
            disputed=bool(disputed), note=values.get("note", "")))
    rows.finish()
    if not settlements:
        raise InputError(Problem("no settlements in the file", source=rows.source))
    return settlements


def read_daily_usage(path: Path) -> list[tuple[date, Decimal]]:
    """Columns: date, quantity. Rows of the same day add up; the result is sorted by day."""
    rows = _Rows(path, USAGE_COLUMNS, ())
    days: dict[date, Decimal] = {}
    for row, values in rows:
        when = rows.field(row, values, "date", _date)
        quantity = rows.field(row, values, "quantity", _amount)
        if when is not None and quantity is not None:
            days[when] = days.get(when, Decimal(0)) + quantity
    rows.finish()
    if not days:
        raise InputError(Problem("no usage rows in the file", source=rows.source))
    return sorted(days.items())
