"""Errors about data: what was wrong, and where (file, row, column)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located as precisely as the source allows."""

    reason: str
    source: str | None = None
    row: int | None = None
    column: str | None = None
    # A YAML file has lines and keys where a table has rows and columns.
    row_label: str = "row"
    column_label: str = "column"

    def __str__(self) -> str:
        where = [part for part in (
            self.source,
            f"{self.row_label} {self.row}" if self.row is not None else None,
            f"{self.column_label} {self.column!r}" if self.column is not None else None,
        ) if part]
        return f"{', '.join(where)}: {self.reason}" if where else self.reason


class InputError(Exception):
    """Bad input: carries every problem found, so the user can fix them all at once."""

    def __init__(self, problems: list[Problem] | Problem) -> None:
        self.problems = problems if isinstance(problems, list) else [problems]
        super().__init__("\n".join(str(problem) for problem in self.problems))
