"""Partner program files (YAML) and partner lists (CSV); activity events are ``partner_events``.

The program is validated in two steps: shapes and types here (pydantic, unknown keys refused with
the keys expected, numbers read exactly from their text), meaning in the core (``check_program``).
"""

from __future__ import annotations

import csv
import re
import zoneinfo
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, ValidationError

from creditops.adapters.yamlio import YamlDocument, load_yaml
from creditops.core.errors import InputError, Problem
from creditops.core.incentive_reference import (
    Partner,
)
from creditops.core.incentives import (
    Baseline,
    Caps,
    Improvement,
    PerDealRebate,
    Period,
    Points,
    Program,
    Rule,
    Segment,
    Target,
    Tier,
    Tiered,
    check_program,
)
from creditops.core.numbers import parse_decimal

# --- the program file ----------------------------------------------------------------------


def _exact(value: object) -> Decimal:
    return parse_decimal(value)


def _values(value: object) -> object:
    """A segment attribute lists its values; a single value is a list of one."""
    return value if isinstance(value, list) else [value]


Exact = Annotated[Decimal, BeforeValidator(_exact)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class PeriodIn(_Strict):
    start: date
    end: date


class CapsIn(_Strict):
    per_partner: Exact | None = None
    per_program: Exact | None = None


class _RuleIn(_Strict):
    id: str = Field(min_length=1)
    segments: list[str]


class RebateIn(_RuleIn):
    type: Literal["per_deal_rebate"]
    rate: Exact | None = None
    amount: Exact | None = None


class TargetIn(_RuleIn):
    type: Literal["target"]
    metric: str
    threshold: Exact
    bonus: Exact


class TierIn(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    start: Exact = Field(alias="from")
    rate: Exact


class TieredIn(_RuleIn):
    type: Literal["tiered"]
    metric: str
    tiers: list[TierIn]


class ImprovementIn(_RuleIn):
    type: Literal["improvement"]
    metric: str
    min_gain: Exact
    rate: Exact
    floor: Exact = Decimal(0)
    cap: Exact | None = None


class PointsIn(_RuleIn):
    type: Literal["points"]
    point_value: Exact
    cap_points: StrictInt | None = None
    points: dict[str, StrictInt]


RULE_MODELS: dict[str, type[_RuleIn]] = {
    "per_deal_rebate": RebateIn, "target": TargetIn, "tiered": TieredIn,
    "improvement": ImprovementIn, "points": PointsIn,
}

SegmentValues = Annotated[list[str], BeforeValidator(_values)]


class ProgramIn(_Strict):
    program: str = Field(min_length=1)
    version: str | None = None
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    period: PeriodIn
    baseline: Literal["previous", "same_period_last_year"] = "previous"
    timezone: str = "UTC"
    kinds: list[str] = Field(default_factory=list)
    segments: dict[str, dict[str, SegmentValues]] = Field(default_factory=dict)
    rules: list[dict[str, Any]] = Field(min_length=1)
    caps: CapsIn = CapsIn()


def load_program(path: Path | str) -> Program:
    """Reads and checks a program file; every problem names the key (and rule) at fault."""
    document = load_yaml(path)
    if not isinstance(document.data, dict):
        raise InputError(Problem("a program file is a mapping (program:, period:, rules: …)",
                                 source=document.source))
    raw_rules = document.data.get("rules")
    model: ProgramIn = document.validate(ProgramIn)
    rules, problems = _rules(document, model.rules if isinstance(raw_rules, list) else [])
    if model.timezone != "UTC" and model.timezone not in zoneinfo.available_timezones():
        problems.append(document.problem(("timezone",), f"unknown time zone {model.timezone!r} "
                                                        "(an IANA name, e.g. Europe/Paris)"))
    if problems:
        raise InputError(problems)
    program = Program(
        id=model.program, currency=model.currency,
        period=Period(model.period.start, model.period.end),
        baseline=Baseline(model.baseline),
        segments=tuple(
            Segment(name, tuple(sorted((key, frozenset(values))
                                       for key, values in criteria.items())))
            for name, criteria in model.segments.items()),
        rules=tuple(rules),
        caps=Caps(model.caps.per_partner, model.caps.per_program),
        timezone=model.timezone, kinds=tuple(model.kinds), version=model.version)
    try:
        return check_program(program, document.source)
    except InputError as error:
        raise InputError([_with_line(document, problem) for problem in error.problems]) from None


def _with_line(document: YamlDocument, problem: Problem) -> Problem:
    path = tuple(int(part) if part.isdigit() else part
                 for part in re.split(r"[.\[\]]+", problem.column or "") if part)
    return Problem(problem.reason, problem.source, document.line(path), problem.column)


def _rules(document: YamlDocument, raw: list[dict[str, Any]]) -> tuple[list[Rule], list[Problem]]:
    rules: list[Rule] = []
    problems: list[Problem] = []
    for index, item in enumerate(raw):
        name = f"rule {item.get('id')!r}" if item.get("id") else f"rules[{index}]"
        kind = item.get("type")
        model = RULE_MODELS.get(kind) if isinstance(kind, str) else None
        if model is None:
            reason = (f"{name}: unknown rule type {kind!r}" if kind is not None else
                      f"{name}: missing required key 'type'")
            problems.append(document.problem(("rules", index, "type"), reason + (
                f" (expected one of: {', '.join(RULE_MODELS)})")))
            continue
        try:
            parsed = model.model_validate(item)
        except ValidationError as error:
            problems += [Problem(f"{name}: {problem.reason}", problem.source, problem.row,
                                 problem.column)
                         for problem in _prefixed(document, error, model, ("rules", index))]
            continue
        rules.append(_rule(parsed))
    return rules, problems


def _prefixed(document: YamlDocument, error: ValidationError, model: type[BaseModel],
              prefix: tuple[str | int, ...]) -> list[Problem]:
    sub = YamlDocument(document.source, None, {
        path[len(prefix):]: line for path, line in document.lines.items()
        if path[:len(prefix)] == prefix})
    problems = sub.problems_from(error, model)
    return [Problem(problem.reason, problem.source, problem.row,
                    _join(prefix, problem.column)) for problem in problems]


def _join(prefix: tuple[str | int, ...], column: str | None) -> str:
    head = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in prefix)
    head = head.lstrip(".")
    if not column:
        return head
    return f"{head}{column}" if column.startswith("[") else f"{head}.{column}"


def _rule(model: _RuleIn) -> Rule:
    segments = tuple(model.segments)
    if isinstance(model, RebateIn):
        return PerDealRebate(model.id, segments, model.rate, model.amount)
    if isinstance(model, TargetIn):
        return Target(model.id, segments, model.metric, model.threshold, model.bonus)
    if isinstance(model, TieredIn):
        return Tiered(model.id, segments, model.metric,
                      tuple(Tier(tier.start, tier.rate) for tier in model.tiers))
    if isinstance(model, ImprovementIn):
        return Improvement(model.id, segments, model.metric, model.min_gain, model.rate,
                           model.floor, model.cap)
    assert isinstance(model, PointsIn)
    return Points(model.id, segments, model.point_value, tuple(model.points.items()),
                  model.cap_points)


# --- the partners file ---------------------------------------------------------------------

PARTNER_COLUMNS = ("partner_id", "name", "tier", "type", "region")


def read_partners(path: Path | str) -> list[Partner]:
    """Partners CSV: ``partner_id``, ``name``, ``tier``, ``type``, ``region``; other columns
    are kept as attributes (segments may match on them). Row numbers count the header as 1."""
    source = str(path)
    rows = csv_rows(Path(path), source)
    header = rows[0] if rows else []
    missing = [column for column in PARTNER_COLUMNS if column not in header]
    if missing:
        raise InputError([Problem(f"missing column {column!r} (expected "
                                  f"{', '.join(PARTNER_COLUMNS)}, extra columns are attributes)",
                                  source, 1, column) for column in missing])
    partners: list[Partner] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for number, values in enumerate(rows[1:], start=2):
        if len(values) != len(header):
            problems.append(Problem(f"{len(values)} fields where the header has {len(header)}",
                                    source, number))
            continue
        record = {key: value.strip() for key, value in zip(header, values, strict=True)}
        partner_id = record["partner_id"]
        if not partner_id:
            problems.append(Problem("missing partner_id", source, number, "partner_id"))
            continue
        if partner_id in seen:
            problems.append(Problem(f"partner {partner_id!r} is listed twice (first at row "
                                    f"{seen[partner_id]})", source, number, "partner_id"))
            continue
        seen[partner_id] = number
        attributes = {key: value for key, value in record.items()
                      if key not in ("partner_id", "name")}
        partners.append(Partner(partner_id, record["name"], attributes))
    if problems:
        raise InputError(problems)
    return partners


def segment_attribute_problems(program: Program, partners: Sequence[Partner],
                               source: str) -> list[Problem]:
    """A segment matching on an attribute the partners file does not have can never match."""
    columns = set(partners[0].attributes) if partners else set()
    return [Problem(f"segment {segment.name!r} matches on {key!r}, which is not a column of the "
                    f"partners file ({', '.join(sorted(columns))})", source,
                    column=f"segments.{segment.name}.{key}")
            for segment in program.segments for key, _ in segment.criteria
            if partners and key not in columns]


def csv_rows(path: Path, source: str) -> list[list[str]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return [row for row in csv.reader(handle) if row]
    except FileNotFoundError:
        raise InputError(Problem("file not found", source=source)) from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputError(Problem(f"cannot read the CSV file: {error}", source=source)) from None
