"""Rate cards: turning usage in natural units (actions, rows, messages) into credits.

A rate card lists usage types, each with a rate per ``per`` natural units (20 credits per action,
75,000 credits per million rows), a sandbox rate where one exists, and optional monthly volume
tiers. Every figure carries its sources, the date it was read and a confidence, so a conversion
can say which numbers it rests on and flag the weak ones.

Tiers are positions in a month's credits (0, 300,000, 1,500,000, 12,500,000 for Data 360): with
the ``graduated`` mode each part of a run is priced at the tier its credits fall into, starting
from the credits already used that month (``month_to_date``); with ``whole_run`` the whole run is
priced at the tier where it ends. Arithmetic is exact (fractions); only the final amount is
rounded, by the card's stated rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction

from creditops.core.errors import InputError, Problem
from creditops.core.numbers import ZERO, normalize


class Confidence(StrEnum):
    HIGH = "high"
    MEDIUM_HIGH = "medium-high"
    MEDIUM = "medium"
    LOW_MEDIUM = "low-medium"
    LOW = "low"

    @property
    def is_low(self) -> bool:
        return self in (Confidence.LOW, Confidence.LOW_MEDIUM)


@dataclass(frozen=True)
class Figure:
    """One number of a card and where it comes from. ``value`` None: not priced (e.g. "TBA")."""

    value: Decimal | None
    sources: tuple[str, ...]
    as_of: date
    confidence: Confidence
    note: str | None = None
    origin: str = "card"  # "card", "workspace" or "contract <id>" when overridden

    def describe(self) -> str:
        where = ", ".join(self.sources) or "no source"
        origin = "" if self.origin == "card" else f"; set by {self.origin}"
        return f"{where}, {self.as_of.isoformat()}, confidence {self.confidence.value}{origin}"


@dataclass(frozen=True)
class UsageType:
    key: str
    label: str
    unit: str
    per: Decimal
    production: tuple[Figure, ...]  # one rate per tier; a single one when the card has no tiers
    sandbox: Figure | None = None
    names: tuple[str, ...] = ()  # other spellings, e.g. Digital Wallet developer names
    whole_units: bool = False  # billed per started unit: 2.3 actions are billed as 3

    def matches(self, name: str) -> bool:
        wanted = _simplified(name)
        return any(_simplified(n) == wanted for n in (self.key, self.label, *self.names))


class TierMode(StrEnum):
    GRADUATED = "graduated"
    WHOLE_RUN = "whole_run"


class TierScope(StrEnum):
    USAGE_TYPE = "usage_type"  # month-to-date counts the usage type's own credits
    CARD = "card"  # month-to-date counts every usage type of the card


@dataclass(frozen=True)
class Tiers:
    starts: tuple[Figure, ...]  # month credit positions where each tier starts; the first is 0
    mode: TierMode = TierMode.GRADUATED
    scope: TierScope = TierScope.USAGE_TYPE


class RoundingMode(StrEnum):
    HALF_UP = "half_up"
    CEILING = "ceiling"


@dataclass(frozen=True)
class Rounding:
    places: int
    mode: RoundingMode = RoundingMode.HALF_UP
    reason: str = ""

    def apply(self, amount: Fraction) -> Decimal:
        quantum = Decimal(1).scaleb(-self.places)
        rounding = ROUND_HALF_UP if self.mode is RoundingMode.HALF_UP else ROUND_CEILING
        if _terminates(amount):
            return normalize(_exact_decimal(amount).quantize(quantum, rounding=rounding))
        # A non-terminating fraction: decide the last digit from the fraction itself, not from a
        # rounded decimal approximation.
        scaled = amount * 10**self.places
        whole = scaled.numerator // scaled.denominator
        remainder = scaled - whole
        if self.mode is RoundingMode.CEILING or remainder >= Fraction(1, 2):
            whole += 1
        return normalize(Decimal(whole).scaleb(-self.places))

    def describe(self) -> str:
        how = "half up" if self.mode is RoundingMode.HALF_UP else "up"
        text = f"rounded {how} to {self.places} decimal place{'s' if self.places != 1 else ''}"
        return f"{text} ({self.reason})" if self.reason else text


@dataclass(frozen=True)
class RateCard:
    name: str
    title: str
    version: date
    converts_to: str  # "credit", "super message"
    usage_types: tuple[UsageType, ...]
    rounding: Rounding
    tiers: Tiers | None = None
    price: Figure | None = None  # currency per converted unit, when published
    currency: str = "USD"
    sources: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def usage_type(self, name: str) -> UsageType:
        for usage_type in self.usage_types:
            if usage_type.matches(name):
                return usage_type
        known = ", ".join(u.key for u in self.usage_types)
        raise InputError(Problem(f"rate card {self.name!r} has no usage type {name!r}; it has: "
                                 f"{known}", column="usage type"))

    def figures(self) -> list[tuple[str, Figure]]:
        """Every figure of the card with a label, for listings and confidence checks."""
        found: list[tuple[str, Figure]] = []
        if self.price is not None:
            found.append((f"price per {self.converts_to}", self.price))
        if self.tiers is not None:
            found += [(f"tier {i + 1} starts", f) for i, f in enumerate(self.tiers.starts)]
        for usage_type in self.usage_types:
            for i, figure in enumerate(usage_type.production):
                tier = f" tier {i + 1}" if len(usage_type.production) > 1 else ""
                found.append((f"{usage_type.key}{tier}", figure))
            if usage_type.sandbox is not None:
                found.append((f"{usage_type.key} sandbox", usage_type.sandbox))
        return found


@dataclass(frozen=True)
class TierStep:
    tier: int  # 1-based; 0 for a sandbox rate
    units: Fraction  # natural units priced at this step
    rate: Figure
    amount: Fraction


@dataclass(frozen=True)
class Conversion:
    card: RateCard
    usage_type: UsageType
    quantity: Decimal
    billed_units: Decimal  # the quantity after whole-unit rounding
    sandbox: bool
    month_to_date: Decimal
    steps: tuple[TierStep, ...]
    exact: Fraction
    amount: Decimal  # the exact amount rounded by the card's rule

    @property
    def figures_used(self) -> list[Figure]:
        used = [step.rate for step in self.steps]
        if self.card.tiers is not None and not self.sandbox:
            used += list(self.card.tiers.starts)
        return used

    @property
    def low_confidence(self) -> list[Figure]:
        return [figure for figure in _unique(self.figures_used) if figure.confidence.is_low]

    def explanation(self) -> list[str]:
        card, usage_type = self.card, self.usage_type
        unit = self.card.converts_to
        lines = [f"{card.title} ({card.name}, version {card.version.isoformat()}): "
                 f"{usage_type.label}, {_count(usage_type.per)} {usage_type.unit}(s) per rate unit"
                 + (", sandbox rate" if self.sandbox else "")]
        if self.billed_units != self.quantity:
            lines.append(f"{_count(self.quantity)} {usage_type.unit}(s) billed as "
                         f"{_count(self.billed_units)} (each started {usage_type.unit} counts)")
        if card.tiers is not None and not self.sandbox:
            scope = ("this usage type's" if card.tiers.scope is TierScope.USAGE_TYPE
                     else "the whole card's")
            starts = ", ".join(_count(_value(f)) for f in card.tiers.starts)
            lines.append(f"monthly volume tiers start at {starts} {unit}s of {scope} usage "
                         f"({card.tiers.mode.value}); month to date: "
                         f"{_count(self.month_to_date)} {unit}s")
        for step in self.steps:
            label = "sandbox" if step.tier == 0 else (
                f"tier {step.tier}" if card.tiers is not None else "rate")
            lines.append(f"{label}: {_fraction_text(step.units)} {usage_type.unit}(s) × "
                         f"{_count(_value(step.rate))} / {_count(usage_type.per)} = "
                         f"{_fraction_text(step.amount)} {unit}s   [{step.rate.describe()}]")
        lines.append(f"exact total {_fraction_text(self.exact)} {unit}s; "
                     f"{card.rounding.describe()}: {_count(self.amount)} {unit}s")
        for figure in self.low_confidence:
            lines.append(f"LOW CONFIDENCE: {figure.describe()}"
                         + (f" — {figure.note}" if figure.note else ""))
        return lines


def convert(card: RateCard, usage_type_name: str, quantity: Decimal, *,
            month_to_date: Decimal = ZERO, sandbox: bool = False) -> Conversion:
    """Converts ``quantity`` natural units of a usage type into the card's unit."""
    usage_type = card.usage_type(usage_type_name)
    if quantity < 0:
        raise InputError(Problem(f"quantity {quantity} is negative", column="quantity"))
    if month_to_date < 0:
        raise InputError(Problem(f"month to date {month_to_date} is negative",
                                 column="month to date"))
    billed = quantity
    steps: tuple[TierStep, ...]
    if usage_type.whole_units:
        billed = quantity.to_integral_value(rounding=ROUND_CEILING)
    units = Fraction(billed)
    if sandbox:
        if usage_type.sandbox is None:
            raise InputError(Problem(f"{usage_type.label} has no sandbox rate on {card.name!r}",
                                     column="usage type"))
        rate = Fraction(_priced(card, usage_type, usage_type.sandbox))
        steps = (TierStep(0, units, usage_type.sandbox, units * rate / Fraction(usage_type.per)),)
    elif card.tiers is None or len(usage_type.production) == 1:
        figure = usage_type.production[0]
        rate = Fraction(_priced(card, usage_type, figure))
        steps = (TierStep(1, units, figure, units * rate / Fraction(usage_type.per)),)
    else:
        steps = _tier_steps(card, usage_type, card.tiers, units, Fraction(month_to_date))
    exact = sum((step.amount for step in steps), Fraction(0))
    return Conversion(card, usage_type, quantity, billed, sandbox, month_to_date, steps, exact,
                      card.rounding.apply(exact))


def _tier_steps(card: RateCard, usage_type: UsageType, tiers: Tiers, units: Fraction,
                position: Fraction) -> tuple[TierStep, ...]:
    starts = [Fraction(_value(f)) for f in tiers.starts]
    rates = [Fraction(_priced(card, usage_type, f)) for f in usage_type.production]
    per = Fraction(usage_type.per)
    steps: list[TierStep] = []
    remaining = units
    tier = max(i for i, start in enumerate(starts) if start <= position)
    while True:
        rate = rates[tier]
        amount = remaining * rate / per
        room = starts[tier + 1] - position if tier + 1 < len(starts) else None
        if room is None or amount <= room or rate == 0:
            steps.append(TierStep(tier + 1, remaining, usage_type.production[tier], amount))
            break
        filled = room * per / rate
        steps.append(TierStep(tier + 1, filled, usage_type.production[tier], room))
        remaining -= filled
        position += room
        tier += 1
    if tiers.mode is TierMode.WHOLE_RUN:
        last = steps[-1].tier - 1
        amount = units * rates[last] / per
        return (TierStep(last + 1, units, usage_type.production[last], amount),)
    return tuple(step for step in steps if step.units or len(steps) == 1)


def _priced(card: RateCard, usage_type: UsageType, figure: Figure) -> Decimal:
    if figure.value is None:
        note = f" ({figure.note})" if figure.note else ""
        raise InputError(Problem(
            f"{usage_type.label} has no rate on {card.name!r}{note}; give it one with a workspace "
            "or contract override (creditops ratecard load FILE)", column="usage type"))
    return figure.value


def _value(figure: Figure) -> Decimal:
    return figure.value if figure.value is not None else ZERO


# -- overrides ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class UsageTypeOverride:
    production: tuple[Figure, ...] | None = None
    sandbox: Figure | None = None


@dataclass(frozen=True)
class CardOverride:
    """Figures a workspace or a contract sets in place of the card's."""

    origin: str
    usage_types: Mapping[str, UsageTypeOverride] = field(default_factory=dict)
    tier_starts: tuple[Figure, ...] | None = None
    price: Figure | None = None


def apply_overrides(card: RateCard, overrides: Iterable[CardOverride]) -> RateCard:
    """The card with each override applied in order (later ones win: workspace, then contract)."""
    problems: list[Problem] = []
    for override in overrides:
        usage_types = list(card.usage_types)
        for name, change in override.usage_types.items():
            position = next((i for i, u in enumerate(usage_types) if u.matches(name)), None)
            if position is None:
                problems.append(Problem(f"{override.origin} overrides usage type {name!r}, which "
                                        f"is not on rate card {card.name!r}", column=name))
                continue
            current = usage_types[position]
            production = current.production
            if change.production is not None:
                if len(change.production) != len(current.production):
                    problems.append(Problem(
                        f"{override.origin} gives {len(change.production)} rate(s) for "
                        f"{current.key}; the card has {len(current.production)}", column=name))
                    continue
                production = tuple(_stamped(f, override.origin) for f in change.production)
            sandbox = current.sandbox
            if change.sandbox is not None:
                sandbox = _stamped(change.sandbox, override.origin)
            usage_types[position] = replace(current, production=production, sandbox=sandbox)
        tiers = card.tiers
        if override.tier_starts is not None:
            if tiers is None or len(tiers.starts) != len(override.tier_starts):
                problems.append(Problem(f"{override.origin} gives tier starts that do not match "
                                        f"the tiers of rate card {card.name!r}", column="tiers"))
            else:
                tiers = replace(tiers, starts=tuple(_stamped(f, override.origin)
                                                    for f in override.tier_starts))
        price = _stamped(override.price, override.origin) if override.price else card.price
        card = replace(card, usage_types=tuple(usage_types), tiers=tiers, price=price)
    if problems:
        raise InputError(problems)
    return card


def _stamped(figure: Figure, origin: str) -> Figure:
    return replace(figure, origin=origin)


# -- text helpers ----------------------------------------------------------------------------

def _simplified(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _terminates(value: Fraction) -> bool:
    denominator = value.denominator
    for factor in (2, 5):
        while denominator % factor == 0:
            denominator //= factor
    return denominator == 1


def _exact_decimal(value: Fraction) -> Decimal:
    # Exact because the denominator has only the factors 2 and 5.
    digits = 0
    while (value * 10**digits).denominator != 1:
        digits += 1
    scaled = value * 10**digits
    return Decimal(scaled.numerator).scaleb(-digits)


def _fraction_text(value: Fraction) -> str:
    if _terminates(value):
        return _count(normalize(_exact_decimal(value)))
    approximate = Rounding(8).apply(value)
    return f"≈{_count(approximate)}"


def _count(value: Decimal) -> str:
    return format(normalize(value), ",f")


def _unique(figures: Iterable[Figure]) -> list[Figure]:
    seen: list[Figure] = []
    for figure in figures:
        if all(figure is not other for other in seen):
            seen.append(figure)
    return seen
