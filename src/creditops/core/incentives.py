"""Partner incentive programs: the program model and its exact meaning.

A program names a period, how partners fall into segments (first match wins) and the rules that
pay them. This module holds the validated, immutable model and the checks that make a program
meaningful (ordered tiers, defined segments, no negative rates...). Shapes and types are checked
by the file adapter; everything here is about what the values mean together.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import Enum

from creditops.core.errors import InputError, Problem
from creditops.core.numbers import ZERO

DEAL_CLOSED = "deal_closed"
DEAL_REVERSED = "deal_reversed"
DEAL_KINDS = frozenset({DEAL_CLOSED, DEAL_REVERSED})
STANDARD_KINDS = (
    DEAL_CLOSED, DEAL_REVERSED, "opportunity_registered", "training_completed",
    "customer_meeting", "campaign_run", "email_sent",
)
BEHAVIOUR_KINDS = tuple(kind for kind in STANDARD_KINDS if kind not in DEAL_KINDS)

METRIC_DEALS = "deals"
METRIC_REVENUE = "revenue"

ALL_SEGMENTS = "all"
UNSEGMENTED = "unsegmented"
RESERVED_SEGMENTS = frozenset({ALL_SEGMENTS, UNSEGMENTED})

CLAWBACK = "clawback"
PER_PARTNER_CAP = "per_partner_cap"
PROGRAM_CAP = "program_cap"
SYSTEM_LINES = (CLAWBACK, PER_PARTNER_CAP, PROGRAM_CAP)

# The columnar engine computes in DECIMAL(22,8) for program figures; the model refuses what
# would not fit, so both engines see the same exact values.
MAX_PLACES = 8
MAX_INTEGER_DIGITS = 14
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


class Baseline(Enum):
    PREVIOUS = "previous"
    SAME_PERIOD_LAST_YEAR = "same_period_last_year"


@dataclass(frozen=True)
class Period:
    """Inclusive dates."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def previous(self) -> Period:
        """The period of equal length in days ending the day before ``start``."""
        end = self.start - timedelta(days=1)
        return Period(end - timedelta(days=self.days - 1), end)

    def year_earlier(self) -> Period:
        return Period(_year_earlier(self.start), _year_earlier(self.end))

    def baseline(self, mode: Baseline) -> Period:
        return self.previous() if mode is Baseline.PREVIOUS else self.year_earlier()

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


def _year_earlier(day: date) -> date:
    # 29 February has no twin in the year before: it maps to 28 February.
    return day.replace(year=day.year - 1, day=min(day.day, 28 if day.month == 2 else day.day))


@dataclass(frozen=True)
class Segment:
    """Partners whose attribute values are listed for every attribute named here."""

    name: str
    criteria: tuple[tuple[str, frozenset[str]], ...]

    def matches(self, attributes: Mapping[str, str]) -> bool:
        return all(attributes.get(key) in values for key, values in self.criteria)

    def shadowed_by(self, earlier: Segment) -> bool:
        """True when every partner this segment accepts is already taken by ``earlier``."""
        mine = dict(self.criteria)
        return all(key in mine and mine[key] <= values for key, values in earlier.criteria)


@dataclass(frozen=True)
class PerDealRebate:
    """``rate`` × amount of each net deal, or a fixed ``amount`` per net deal."""

    id: str
    segments: tuple[str, ...]
    rate: Decimal | None = None
    amount: Decimal | None = None
    type: str = field(default="per_deal_rebate", init=False)


@dataclass(frozen=True)
class Target:
    """``bonus`` when the metric reaches ``threshold``."""

    id: str
    segments: tuple[str, ...]
    metric: str
    threshold: Decimal
    bonus: Decimal
    type: str = field(default="target", init=False)


@dataclass(frozen=True)
class Tier:
    start: Decimal
    rate: Decimal


@dataclass(frozen=True)
class Tiered:
    """Marginal: each slice of the metric between a tier's start and the next earns its rate."""

    id: str
    segments: tuple[str, ...]
    metric: str
    tiers: tuple[Tier, ...]
    type: str = field(default="tiered", init=False)


@dataclass(frozen=True)
class Improvement:
    """Pays ``rate`` × (metric − B) when the metric reaches B × (1 + min_gain), where B is the
    partner's own baseline metric, at least ``floor``; at most ``cap``."""

    id: str
    segments: tuple[str, ...]
    metric: str
    min_gain: Decimal
    rate: Decimal
    floor: Decimal = ZERO
    cap: Decimal | None = None
    type: str = field(default="improvement", init=False)


@dataclass(frozen=True)
class Points:
    """Points per behaviour event, at most ``cap_points``, each worth ``point_value``."""

    id: str
    segments: tuple[str, ...]
    point_value: Decimal
    points: tuple[tuple[str, int], ...]
    cap_points: int | None = None
    type: str = field(default="points", init=False)


Rule = PerDealRebate | Target | Tiered | Improvement | Points
GOAL_RULES = (Target, Tiered, Improvement)


@dataclass(frozen=True)
class Caps:
    per_partner: Decimal | None = None
    per_program: Decimal | None = None


@dataclass(frozen=True)
class Program:
    id: str
    currency: str
    period: Period
    baseline: Baseline
    segments: tuple[Segment, ...]
    rules: tuple[Rule, ...]
    caps: Caps = Caps()
    timezone: str = "UTC"
    kinds: tuple[str, ...] = ()
    version: str | None = None

    @property
    def baseline_period(self) -> Period:
        return self.period.baseline(self.baseline)

    @property
    def known_kinds(self) -> tuple[str, ...]:
        return STANDARD_KINDS + tuple(kind for kind in self.kinds if kind not in STANDARD_KINDS)

    @property
    def tracked_kinds(self) -> tuple[str, ...]:
        """Behaviour kinds some rule counts (as a metric or for points), sorted."""
        used: set[str] = set()
        for rule in self.rules:
            if isinstance(rule, Points):
                used.update(kind for kind, _ in rule.points)
            elif isinstance(rule, GOAL_RULES) and rule.metric not in (
                    METRIC_DEALS, METRIC_REVENUE):
                used.add(rule.metric)
        return tuple(sorted(used))

    @property
    def segment_names(self) -> tuple[str, ...]:
        return tuple(segment.name for segment in self.segments)

    def segment_of(self, attributes: Mapping[str, str]) -> str:
        for segment in self.segments:
            if segment.matches(attributes):
                return segment.name
        return UNSEGMENTED

    def rules_for(self, segment: str) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if applies_to(rule, segment))

    def with_period(self, period: Period) -> Program:
        return replace(self, period=period)


def applies_to(rule: Rule, segment: str) -> bool:
    return ALL_SEGMENTS in rule.segments or segment in rule.segments


def check_program(program: Program, source: str | None = None) -> Program:
    """Returns the program when it means something; raises ``InputError`` listing every
    problem, each naming the key (and the rule) at fault."""
    problems = [Problem(reason, source=source, column=key)
                for key, reason in _program_problems(program)]
    if problems:
        raise InputError(problems)
    return program


def _program_problems(program: Program) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    period = program.period
    if period.start > period.end:
        problems.append(("period", f"start {period.start} is after end {period.end}"))
    elif program.baseline_period.end >= period.start:
        problems.append(("baseline", f"the baseline period {program.baseline_period} overlaps "
                                     f"the period {period}: a period longer than a year cannot "
                                     "use same_period_last_year"))
    problems += _kinds_problems(program)
    problems += _segments_problems(program)
    problems += _money_problems("caps.per_partner", program.caps.per_partner, places=2)
    problems += _money_problems("caps.per_program", program.caps.per_program, places=2)
    seen: set[str] = set()
    for index, rule in enumerate(program.rules):
        key = f"rules[{index}]"
        if rule.id in seen:
            problems.append((f"{key}.id", f"rule id {rule.id!r} is used twice"))
        seen.add(rule.id)
        if rule.id in SYSTEM_LINES:
            problems.append((f"{key}.id", f"rule id {rule.id!r} is reserved for "
                                          f"{', '.join(SYSTEM_LINES)} lines"))
        problems += [(f"{key}.{sub}", f"rule {rule.id!r}: {reason}")
                     for sub, reason in _rule_problems(rule, program)]
    return problems


def _kinds_problems(program: Program) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for index, kind in enumerate(program.kinds):
        if not NAME_PATTERN.match(kind):
            problems.append((f"kinds[{index}]", f"event kind {kind!r} must be lowercase letters, "
                                                "digits and underscores"))
        elif kind in STANDARD_KINDS:
            problems.append((f"kinds[{index}]", f"{kind!r} is a standard kind; declare only "
                                                "extra kinds"))
    return problems


def _segments_problems(program: Program) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for index, segment in enumerate(program.segments):
        key = f"segments.{segment.name}"
        if segment.name in RESERVED_SEGMENTS:
            problems.append((key, f"segment name {segment.name!r} is reserved: {ALL_SEGMENTS!r} "
                                  f"means every partner, {UNSEGMENTED!r} those no segment "
                                  "matches"))
        if not segment.criteria:
            problems.append((key, f"segment {segment.name!r} names no attribute to match"))
        empty = [attribute for attribute, values in segment.criteria if not values]
        problems += [(f"{key}.{attribute}",
                      f"segment {segment.name!r} lists no value for {attribute!r}")
                     for attribute in empty]
        if empty or not segment.criteria:
            continue
        for earlier in program.segments[:index]:
            if segment.shadowed_by(earlier):
                problems.append((key, f"segment {segment.name!r} can never match: every partner "
                                      f"it accepts is taken by the earlier segment "
                                      f"{earlier.name!r} (first match wins)"))
                break
    return problems


def _rule_problems(rule: Rule, program: Program) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if not rule.segments:
        problems.append(("segments", "lists no segment (use [all] for every partner)"))
    defined = set(program.segment_names) | {ALL_SEGMENTS}
    problems += [("segments", f"segment {name!r} is not defined (defined: "
                              f"{', '.join(sorted(defined))})")
                 for name in rule.segments if name not in defined]
    if isinstance(rule, PerDealRebate):
        if (rule.rate is None) == (rule.amount is None):
            problems.append(("rate", "give either rate (share of each deal's amount) or amount "
                                     "(fixed per deal), not both and not neither"))
        problems += _rate_problems("rate", rule.rate)
        problems += _money_problems("amount", rule.amount)
    elif isinstance(rule, Target):
        problems += _metric_problems(rule.metric, program)
        problems += _money_problems("threshold", rule.threshold)
        problems += _money_problems("bonus", rule.bonus)
    elif isinstance(rule, Tiered):
        problems += _metric_problems(rule.metric, program)
        problems += _tiers_problems(rule.tiers)
    elif isinstance(rule, Improvement):
        problems += _metric_problems(rule.metric, program)
        problems += _rate_problems("min_gain", rule.min_gain)
        problems += _rate_problems("rate", rule.rate)
        problems += _money_problems("floor", rule.floor)
        problems += _money_problems("cap", rule.cap)
    else:
        problems += _points_problems(rule, program)
    return problems


def _metric_problems(metric: str, program: Program) -> list[tuple[str, str]]:
    if metric in (METRIC_DEALS, METRIC_REVENUE):
        return []
    if metric in program.known_kinds and metric not in DEAL_KINDS:
        return []
    counted = [kind for kind in program.known_kinds if kind not in DEAL_KINDS]
    return [("metric", f"unknown metric {metric!r} (expected {METRIC_DEALS}, {METRIC_REVENUE} "
                       f"or the count of an event kind: {', '.join(counted)})")]


def _tiers_problems(tiers: tuple[Tier, ...]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if not tiers:
        problems.append(("tiers", "lists no tier"))
    for index, tier in enumerate(tiers):
        problems += _money_problems(f"tiers[{index}].from", tier.start)
        problems += _rate_problems(f"tiers[{index}].rate", tier.rate)
        if index and tier.start == tiers[index - 1].start:
            problems.append((f"tiers[{index}].from", f"tiers overlap: two tiers start at "
                                                     f"{tier.start}"))
        elif index and tier.start < tiers[index - 1].start:
            problems.append((f"tiers[{index}].from", f"tiers are not in ascending order: "
                                                     f"{tier.start} comes after "
                                                     f"{tiers[index - 1].start}"))
    return problems


def _points_problems(rule: Points, program: Program) -> list[tuple[str, str]]:
    problems = _rate_problems("point_value", rule.point_value)
    if rule.cap_points is not None and rule.cap_points <= 0:
        problems.append(("cap_points", f"must be positive (got {rule.cap_points})"))
    if not rule.points:
        problems.append(("points", "lists no event kind"))
    for kind, points in rule.points:
        if kind in DEAL_KINDS:
            problems.append((f"points.{kind}", "deals earn through per_deal_rebate, target, "
                                               "tiered or improvement rules, not points"))
        elif kind not in program.known_kinds:
            problems.append((f"points.{kind}", f"unknown event kind {kind!r} (declare it under "
                                               "kinds:)"))
        if points < 0:
            problems.append((f"points.{kind}", f"points must not be negative (got {points})"))
    return problems


def _rate_problems(key: str, value: Decimal | None) -> list[tuple[str, str]]:
    if value is not None and value < 0:
        return [(key, f"must not be negative (got {value})")]
    return _precision_problems(key, value, MAX_PLACES)


def _money_problems(key: str, value: Decimal | None,
                    places: int = MAX_PLACES) -> list[tuple[str, str]]:
    if value is not None and value < 0:
        return [(key, f"must not be negative (got {value})")]
    return _precision_problems(key, value, places)


def _precision_problems(key: str, value: Decimal | None, places: int) -> list[tuple[str, str]]:
    if value is None:
        return []
    if decimal_places(value) > places:
        return [(key, f"{value} has more than {places} decimal places")]
    if abs(value) >= Decimal(10) ** MAX_INTEGER_DIGITS:
        return [(key, f"{value} is too large (at most {MAX_INTEGER_DIGITS} integer digits)")]
    return []


def decimal_places(value: Decimal) -> int:
    """Significant decimal places: 1.50 has one, 1500 none."""
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0
