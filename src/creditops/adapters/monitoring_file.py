"""The monitoring parts of the register file (a pool's `plan:` of milestones, `alerts:` rules at
workspace and pool level) and the plan CSV (`creditops plan import`).

Alert thresholds are fractions, like `risk_threshold` ("0.85" for 85%); lead times are whole
days. Every problem names the file, the line or row, and the key or column.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from creditops.adapters.notify import chat_url_problem
from creditops.core.errors import InputError, Problem
from creditops.core.numbers import parse_decimal

if TYPE_CHECKING:
    from creditops.adapters.register_file import RegisterData, RegisterFile
    from creditops.adapters.yamlio import YamlDocument


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MilestoneSpec(_Strict):
    """Planned use of ``quantity`` units on ``date``."""

    id: str | None = Field(default=None, min_length=1)
    date: date
    quantity: Decimal = Field(gt=0)
    description: str | None = None
    owner: str | None = None
    project: str | None = None
    usage_type: str | None = None


def _fractions(values: list[Decimal], what: str) -> list[Decimal]:
    for value in values:
        if not Decimal(0) < value <= Decimal(1):
            raise ValueError(
                f"{what} {value} is not a fraction between 0 and 1: write 0.5 for 50%")
    if len(set(values)) != len(values):
        raise ValueError(f"{what}s repeat a value")
    return sorted(values)


def _day_counts(values: list[int]) -> list[int]:
    for value in values:
        if value <= 0:
            raise ValueError(f"{value} is not a number of days before the date (> 0)")
    if len(set(values)) != len(values):
        raise ValueError("the lead times repeat a value")
    return sorted(values, reverse=True)


class ConsumptionRule(_Strict):
    enabled: bool = True
    thresholds: list[Decimal] | None = Field(default=None, min_length=1)

    @field_validator("thresholds")
    @classmethod
    def _check(cls, value: list[Decimal] | None) -> list[Decimal] | None:
        return None if value is None else _fractions(value, "consumption threshold")


class LapseRule(_Strict):
    enabled: bool = True


class LeadTimeRule(_Strict):
    enabled: bool = True
    days: list[int] | None = Field(default=None, min_length=1)

    @field_validator("days")
    @classmethod
    def _check(cls, value: list[int] | None) -> list[int] | None:
        return None if value is None else _day_counts(value)


class PlanBehindRule(_Strict):
    enabled: bool = True
    threshold: Decimal | None = None

    @field_validator("threshold")
    @classmethod
    def _check(cls, value: Decimal | None) -> Decimal | None:
        return None if value is None else _fractions([value], "plan-behind threshold")[0]


class AlertsSpec(_Strict):
    """Alert rules (each may be switched off or tuned), extra recipients and digest mode."""

    consumption: ConsumptionRule | None = None
    projected_lapse: LapseRule | None = None
    expiry: LeadTimeRule | None = None
    plan_behind: PlanBehindRule | None = None
    renewal: LeadTimeRule | None = None
    recipients: list[str] = []
    digest: bool | None = None


def alerts_json(spec: AlertsSpec) -> dict[str, Any]:
    return spec.model_dump(mode="json", exclude_none=True, exclude_defaults=False)


def milestone_id(pool_id: str, day: date, occurrence: int) -> str:
    """The id of a milestone given without one: its pool and day (and its rank among the
    pool's milestones of that day), so that reloading the file updates it in place."""
    return f"{pool_id}@{day.isoformat()}" + (f"#{occurrence + 1}" if occurrence else "")


def add_monitoring(document: YamlDocument, spec: RegisterFile, data: RegisterData) -> None:
    """Adds the plans and alert settings of a validated register file to ``data``."""
    problems: list[Problem] = []
    if spec.alerts is not None:
        data.settings["alerts"] = alerts_json(spec.alerts)
    for position, url in enumerate(spec.notify):
        reason = chat_url_problem(url)
        if reason:
            problems.append(document.problem(("notify", position), reason))
    ids: list[tuple[tuple[Any, ...], str]] = []
    columns_by_pool = {columns["id"]: columns for columns in data.pools}
    for i, pool in enumerate(spec.pools):
        for position, url in enumerate(pool.notify):
            reason = chat_url_problem(url)
            if reason:
                problems.append(document.problem(("pools", i, "notify", position), reason))
        if pool.alerts is not None:
            columns_by_pool[pool.id]["attributes"]["alerts"] = alerts_json(pool.alerts)
        seen: Counter[date] = Counter()
        for j, milestone in enumerate(pool.plan):
            identifier = milestone.id or milestone_id(pool.id, milestone.date,
                                                      seen[milestone.date])
            seen[milestone.date] += 1
            ids.append((("pools", i, "plan", j), identifier))
            data.milestones.append(milestone_columns(identifier, pool.id, milestone, "register"))
    counts = Counter(identifier for _, identifier in ids)
    problems += [document.problem(path, f"duplicate milestone id {identifier!r}")
                 for path, identifier in ids if counts[identifier] > 1]
    if problems:
        raise InputError(problems)


def milestone_columns(identifier: str, pool_id: str, milestone: MilestoneSpec, origin: str
                      ) -> dict[str, Any]:
    return {"id": identifier, "pool_id": pool_id, "day": milestone.date,
            "quantity": milestone.quantity, "description": milestone.description,
            "owner": milestone.owner, "project": milestone.project,
            "usage_type": milestone.usage_type, "origin": origin}


# -- the plan CSV ---------------------------------------------------------------------------------

PLAN_COLUMNS = ("pool", "date", "quantity", "description", "owner", "project", "usage_type", "id")
REQUIRED_PLAN_COLUMNS = ("pool", "date", "quantity")


@dataclass(frozen=True)
class PlanRow:
    row: int
    pool: str
    milestone: MilestoneSpec


def read_plan_csv(path: Path, pools: set[str]) -> list[PlanRow]:
    """Reads milestones (columns pool, date, quantity; optional description, owner, project,
    usage_type, id). Every bad row is reported at once."""
    rows: list[PlanRow] = []
    problems: list[Problem] = []
    for number, values in _csv_rows(path):
        row, found = _plan_row(number, values, pools, str(path))
        problems += found
        if row is not None:
            rows.append(row)
    if problems:
        raise InputError(problems)
    return rows


def _plan_row(number: int, values: dict[str, str], pools: set[str], source: str
              ) -> tuple[PlanRow | None, list[Problem]]:
    found: list[Problem] = []

    def bad(column: str, reason: str) -> None:
        found.append(Problem(reason, source=source, row=number, column=column))

    pool = (values.get("pool") or "").strip()
    if not pool:
        bad("pool", "missing pool id")
    elif pool not in pools:
        bad("pool", f"unknown pool {pool!r}")
    day: date | None = None
    try:
        day = date.fromisoformat((values.get("date") or "").strip())
    except ValueError:
        bad("date", f"{values.get('date')!r} is not a date (YYYY-MM-DD)")
    quantity: Decimal | None = None
    try:
        quantity = parse_decimal(values.get("quantity") or "")
    except ValueError as error:
        bad("quantity", str(error))
    if quantity is not None and quantity <= 0:
        bad("quantity", f"{quantity} is not a positive quantity")
    if found or day is None or quantity is None:
        return None, found
    return PlanRow(number, pool, MilestoneSpec(
        id=(values.get("id") or "").strip() or None, date=day, quantity=quantity,
        **{key: (values.get(key) or "").strip() or None
           for key in ("description", "owner", "project", "usage_type")})), []


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    source = str(path)
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as error:
        raise InputError(Problem(f"cannot read the file ({error.strerror or error})",
                                 source=source)) from None
    with handle:
        reader = csv.DictReader(handle)
        header = [name.strip() for name in reader.fieldnames or []]
        missing = [name for name in REQUIRED_PLAN_COLUMNS if name not in header]
        unknown = [name for name in header if name and name not in PLAN_COLUMNS]
        if missing or unknown:
            reasons = ([f"missing column(s) {', '.join(missing)}"] if missing else []) + (
                [f"unknown column(s) {', '.join(unknown)}; expected {', '.join(PLAN_COLUMNS)}"]
                if unknown else [])
            raise InputError(Problem("; ".join(reasons), source=source, row=1))
        reader.fieldnames = header
        try:
            for values in reader:
                yield reader.line_num, {k: v for k, v in values.items() if k}
        except UnicodeDecodeError as error:
            raise InputError(Problem(f"not UTF-8 text ({error.reason})", source=source)
                             ) from None
