"""Rate-card files (YAML): the cards shipped with the package, a workspace's own cards, and
override files that replace figures for a whole workspace or for one contract.

Every figure is written with its sources, the date it was read and a confidence; numbers are read
as exact decimals. A typo'd key, a missing source or a wrong number of tier rates is reported with
the file, the line and the key.
"""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from creditops.adapters.yamlio import YamlDocument, load_yaml, parse_yaml
from creditops.core.errors import InputError
from creditops.core.numbers import parse_decimal
from creditops.core.ratecard import (
    CardOverride,
    Confidence,
    Figure,
    RateCard,
    Rounding,
    RoundingMode,
    TierMode,
    Tiers,
    TierScope,
    UsageType,
    UsageTypeOverride,
)

DATA_PACKAGE = "creditops.data"
CARDS_FOLDER = "ratecards"


def _number(value: object) -> Decimal:
    number = parse_decimal(value)
    if number < 0:
        raise ValueError("must not be negative")
    return number


def _positive(value: object) -> Decimal:
    number = _number(value)
    if number == 0:
        raise ValueError("must be more than 0")
    return number


Number = Annotated[Decimal, BeforeValidator(_number)]
Positive = Annotated[Decimal, BeforeValidator(_positive)]
ConfidenceText = Literal["high", "medium-high", "medium", "low-medium", "low"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Provenance(_Strict):
    sources: list[str] = Field(min_length=1)
    as_of: date
    confidence: ConfidenceText
    note: str | None = None

    def figure(self, value: Decimal | None, origin: str = "card") -> Figure:
        return Figure(value, tuple(self.sources), self.as_of, Confidence(self.confidence),
                      self.note, origin)


class FigureSpec(_Provenance):
    value: Number | None


class FiguresSpec(_Provenance):
    values: list[Number] = Field(min_length=2)


class RoundingSpec(_Strict):
    places: int = Field(ge=0, le=12)
    mode: Literal["half_up", "ceiling"] = "half_up"
    reason: str = ""


class TiersSpec(_Strict):
    mode: Literal["graduated", "whole_run"] = "graduated"
    scope: Literal["usage_type", "card"] = "usage_type"
    starts: FiguresSpec

    @model_validator(mode="after")
    def _ascending(self) -> TiersSpec:
        values = self.starts.values
        if values[0] != 0 or any(b <= a for a, b in itertools.pairwise(values)):
            raise ValueError("tier starts must begin at 0 and increase")
        return self


class UsageTypeSpec(_Strict):
    label: str
    unit: str
    per: Positive = Decimal(1)
    whole_units: bool = False
    names: list[str] = []
    rate: FigureSpec | None = None
    rates: FiguresSpec | None = None
    sandbox: FigureSpec | None = None

    @model_validator(mode="after")
    def _one_rate(self) -> UsageTypeSpec:
        if (self.rate is None) == (self.rates is None):
            raise ValueError("give either `rate` (one figure) or `rates` (one per tier)")
        return self


class RateCardSpec(_Strict):
    schema_version: Literal[1] = 1
    name: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    title: str
    version: date
    converts_to: str = "credit"
    currency: str = "USD"
    price: FigureSpec | None = None
    rounding: RoundingSpec
    sources: dict[str, str] = {}
    notes: list[str] = []
    tiers: TiersSpec | None = None
    usage_types: dict[str, UsageTypeSpec] = Field(min_length=1)


class UsageTypeOverrideSpec(_Strict):
    rate: FigureSpec | None = None
    rates: FiguresSpec | None = None
    sandbox: FigureSpec | None = None


class OverrideSpec(_Strict):
    card: str
    contract: str | None = None
    price: FigureSpec | None = None
    tier_starts: FiguresSpec | None = None
    usage_types: dict[str, UsageTypeOverrideSpec] = {}


class OverridesFileSpec(_Strict):
    schema_version: Literal[1] = 1
    overrides: list[OverrideSpec] = Field(min_length=1)


# -- translation ---------------------------------------------------------------------------------

def card_from_document(document: YamlDocument) -> RateCard:
    spec: RateCardSpec = document.validate(RateCardSpec)
    problems = []
    tiers = None
    tier_count = 1
    if spec.tiers is not None:
        tier_count = len(spec.tiers.starts.values)
        tiers = Tiers(tuple(spec.tiers.starts.figure(v) for v in spec.tiers.starts.values),
                      TierMode(spec.tiers.mode), TierScope(spec.tiers.scope))
    usage_types = []
    for key, usage in spec.usage_types.items():
        if usage.rates is not None:
            production = tuple(usage.rates.figure(v) for v in usage.rates.values)
            if len(production) != tier_count:
                problems.append(document.problem(
                    ("usage_types", key, "rates"),
                    f"{len(production)} rates but the card has {tier_count} tier(s)"))
        else:
            assert usage.rate is not None
            production = (usage.rate.figure(usage.rate.value),)
        for part in (usage.rate, usage.rates, usage.sandbox):
            unknown = [s for s in (part.sources if part else []) if s not in spec.sources]
            if unknown:
                problems.append(document.problem(
                    ("usage_types", key), f"unknown source(s) {', '.join(unknown)}; declare them "
                    "under `sources:`"))
        sandbox = usage.sandbox.figure(usage.sandbox.value) if usage.sandbox else None
        usage_types.append(UsageType(key, usage.label, usage.unit, usage.per, production, sandbox,
                                     tuple(usage.names), usage.whole_units))
    if problems:
        raise InputError(problems)
    return RateCard(
        name=spec.name, title=spec.title, version=spec.version, converts_to=spec.converts_to,
        usage_types=tuple(usage_types),
        rounding=Rounding(spec.rounding.places, RoundingMode(spec.rounding.mode),
                          spec.rounding.reason),
        tiers=tiers, price=spec.price.figure(spec.price.value) if spec.price else None,
        currency=spec.currency, sources=dict(spec.sources), notes=tuple(spec.notes))


def overrides_from_document(document: YamlDocument) -> list[tuple[str, str | None,
                                                                 CardOverride]]:
    """(card name, contract or None, override) for each entry of an overrides file."""
    spec: OverridesFileSpec = document.validate(OverridesFileSpec)
    found = []
    for entry in spec.overrides:
        origin = f"contract {entry.contract}" if entry.contract else "workspace"
        usage_types = {}
        for key, change in entry.usage_types.items():
            production: tuple[Figure, ...] | None = None
            if change.rate is not None:
                production = (change.rate.figure(change.rate.value, origin),)
            if change.rates is not None:
                production = tuple(change.rates.figure(v, origin) for v in change.rates.values)
            sandbox = change.sandbox.figure(change.sandbox.value, origin) if change.sandbox \
                else None
            usage_types[key] = UsageTypeOverride(production, sandbox)
        starts = None
        if entry.tier_starts is not None:
            starts = tuple(entry.tier_starts.figure(v, origin) for v in entry.tier_starts.values)
        price = entry.price.figure(entry.price.value, origin) if entry.price else None
        found.append((entry.card, entry.contract,
                      CardOverride(origin, usage_types, starts, price)))
    return found


def is_overrides_document(document: YamlDocument) -> bool:
    return isinstance(document.data, dict) and "overrides" in document.data


# -- shipped cards -------------------------------------------------------------------------------

def shipped_card_texts() -> dict[str, str]:
    """File name → YAML text of every card shipped with the package."""
    folder = resources.files(DATA_PACKAGE).joinpath(CARDS_FOLDER)
    return {entry.name: entry.read_text(encoding="utf-8")
            for entry in sorted(folder.iterdir(), key=lambda e: e.name)
            if entry.name.endswith(".yaml")}


def shipped_cards() -> dict[str, RateCard]:
    cards = {}
    for file_name, text in shipped_card_texts().items():
        card = card_from_document(parse_yaml(text, f"shipped rate card {file_name}"))
        cards[card.name] = card
    return cards


def read_card_file(path: Path) -> YamlDocument:
    return load_yaml(path)
