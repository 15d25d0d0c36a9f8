"""Helpers shared by the commands: JSON with exact decimals, CSV, Rich tables, exact
numeric options."""

from __future__ import annotations

import csv
import dataclasses
import importlib
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from rich.console import Console
from rich.table import Table

from creditops.core.errors import InputError, Problem
from creditops.core.numbers import parse_decimal


def _console(stderr: bool = False) -> Console:
    # Piped output (a file, CI, `make demo | less`) gets a wide table instead of Rich's
    # 80-column fallback; $COLUMNS still wins.
    probe = Console(stderr=stderr)
    if probe.is_terminal or os.environ.get("COLUMNS"):
        return probe
    return Console(stderr=stderr, width=180)


console = _console()
err_console = _console(stderr=True)


def to_jsonable(value: Any) -> Any:
    """Decimals become strings (exact), instants ISO 8601, dataclasses and mappings dicts."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    return value


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(to_jsonable(value), indent=2, ensure_ascii=False) + "\n")


def print_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else to_jsonable(v) for v in row])


def print_table(title: str | None, header: Sequence[str], rows: Iterable[Sequence[Any]],
                numeric: Sequence[str] = ()) -> None:
    table = Table(title=title, header_style="bold")
    for name in header:
        table.add_column(name, justify="right" if name in numeric else "left")
    for row in rows:
        table.add_row(*("" if v is None else str(to_jsonable(v)) for v in row))
    console.print(table)


def decimal_option(text: str | None, option: str) -> Decimal | None:
    """An exact decimal given on the command line (None when the option is absent)."""
    if text is None:
        return None
    try:
        return parse_decimal(text)
    except ValueError as error:
        raise InputError(Problem(str(error), column=option)) from None


class LazyModule:
    """A module imported on first use: a command's stack (databases, DuckDB, Spark, HTTP
    clients) is not needed to list the commands or show their help."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self._name), attribute)
