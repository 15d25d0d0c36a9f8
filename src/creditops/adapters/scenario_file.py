"""Scenario files (YAML) → a validated true-up scenario.

Numbers are read from the scalar text the user wrote (``0.30`` stays exactly 0.30), unknown keys
are refused with the keys that were expected, and every problem is reported by key path and line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainValidator

from creditops.adapters.yamlio import load_yaml
from creditops.core.errors import InputError, Problem
from creditops.core.numbers import parse_decimal
from creditops.core.trueup import (
    Clause,
    Distribution,
    DrawPer,
    Growth,
    GrowthModel,
    Pricing,
    Product,
    Scenario,
    Term,
    Timing,
    Uncertainty,
    net_annual_licence,
)
from creditops.core.trueup_checks import scenario_problems
from creditops.core.uplift import Cap, CapKind, UpliftTerms, UpliftTiming, uplift_problems


def _count(value: object) -> int:
    number = parse_decimal(value)
    if number != number.to_integral_value():
        raise ValueError(f"{format(number, 'f')} is not a whole number")
    return int(number)


def _rates(value: object) -> tuple[Decimal, ...]:
    """One rate, or a list of rates (one per contract year)."""
    if isinstance(value, list):
        return tuple(parse_decimal(item) for item in value)
    return (parse_decimal(value),)


Num = Annotated[Decimal, PlainValidator(parse_decimal)]
Count = Annotated[int, PlainValidator(_count)]
Rates = Annotated[tuple[Decimal, ...], PlainValidator(_rates)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, frozen=True)


class TermIn(_Strict):
    start: date
    years: Count


class UncertaintyIn(_Strict):
    distribution: Distribution
    mean: Num | None = None
    sd: Num | None = None
    low: Num | None = None
    high: Num | None = None
    mode: Num | None = None
    minimum: Num | None = None
    maximum: Num | None = None
    per: DrawPer = DrawPer.YEAR


class GrowthIn(_Strict):
    model: GrowthModel
    annual: Rates = ()
    path: list[Num] = Field(default_factory=list)
    initial: Num | None = None
    uncertainty: UncertaintyIn | None = None


class ProductIn(_Strict):
    id: str
    name: str | None = None
    list_price: Num
    quantity: Count
    discount: Num = Decimal(0)
    list_escalation: Num = Decimal(0)
    ramp: list[Count] = Field(default_factory=list)
    growth: GrowthIn


class ClauseIn(_Strict):
    id: str
    name: str = ""
    pricing: Pricing
    cap: Num | None = None
    timing: Timing
    coterm: bool = True
    backbill: bool = False


class SimulationIn(_Strict):
    paths: Count = 10_000
    seed: Count = 1


class UpliftIn(_Strict):
    rate: Num
    terms: Count = 1
    licence: Num | None = None
    success_plan_pct: Num = Decimal(0)
    timing: UpliftTiming = UpliftTiming.RENEWAL
    cap_per_year: Num | None = None
    cap_per_renewal: Num | None = None
    cpi: list[Num] = Field(default_factory=list)
    cpi_margin: Num = Decimal(0)


class ScenarioIn(_Strict):
    name: str = ""
    currency: str = "USD"
    term: TermIn
    products: list[ProductIn]
    clauses: list[ClauseIn]
    simulation: SimulationIn = SimulationIn()
    uplift: UpliftIn | None = None


@dataclass(frozen=True)
class SimulationSettings:
    paths: int
    seed: int


@dataclass(frozen=True)
class ScenarioFile:
    """A scenario and the optional sections that go with it."""

    source: str
    scenario: Scenario
    simulation: SimulationSettings
    uplift: UpliftTerms | None
    caps: tuple[Cap, ...]


def read_scenario(path: Path) -> ScenarioFile:
    """Reads and validates a scenario file; raises InputError listing every problem."""
    document = load_yaml(path)
    if not isinstance(document.data, dict):
        raise InputError(document.problem(
            (), "a scenario file is a mapping with term, products and clauses"))
    parsed: ScenarioIn = document.validate(ScenarioIn)
    scenario = _to_scenario(parsed)
    problems = scenario_problems(scenario)
    uplift, caps = _to_uplift(parsed.uplift, scenario) if parsed.uplift else (None, ())
    if uplift is not None:
        problems += [Problem(p.reason, column=f"uplift.{_uplift_key(p.column)}")
                     for p in uplift_problems(uplift, caps)]
    if parsed.simulation.paths < 1:
        problems.append(Problem("at least one path", column="simulation.paths"))
    if problems:
        raise InputError([document.locate(problem) for problem in problems])
    return ScenarioFile(document.source, scenario,
                        SimulationSettings(parsed.simulation.paths, parsed.simulation.seed),
                        uplift, caps)


def _uplift_key(option: str | None) -> str:
    return {"uplift": "rate", "per_year": "cap_per_year", "per_renewal": "cap_per_renewal",
            "term_years": "terms"}.get(option or "", option or "")


def _to_scenario(parsed: ScenarioIn) -> Scenario:
    years = parsed.term.years
    products = []
    for product in parsed.products:
        growth = product.growth
        annual = growth.annual
        if len(annual) == 1:
            annual = annual * max(years, 1)
        spread = growth.uncertainty
        products.append(Product(
            id=product.id,
            name=product.name or product.id,
            list_price=product.list_price,
            quantity=product.quantity,
            discount=product.discount,
            list_escalation=product.list_escalation,
            ramp=tuple(product.ramp),
            growth=Growth(
                model=growth.model,
                annual=tuple(annual),
                path=tuple(growth.path),
                initial=growth.initial,
                uncertainty=None if spread is None else Uncertainty(
                    distribution=spread.distribution, mean=spread.mean, sd=spread.sd,
                    low=spread.low, high=spread.high, mode=spread.mode,
                    minimum=spread.minimum, maximum=spread.maximum, per=spread.per),
            ),
        ))
    clauses = tuple(Clause(id=c.id, name=c.name, pricing=c.pricing, cap=c.cap, timing=c.timing,
                           coterm=c.coterm, backbill=c.backbill) for c in parsed.clauses)
    return Scenario(currency=parsed.currency, term=Term(parsed.term.start, years),
                    products=tuple(products), clauses=clauses, name=parsed.name)


def _to_uplift(spec: UpliftIn, scenario: Scenario) -> tuple[UpliftTerms, tuple[Cap, ...]]:
    terms = UpliftTerms(
        licence=spec.licence if spec.licence is not None else net_annual_licence(scenario),
        uplift=spec.rate, terms=spec.terms, term_years=scenario.term.years,
        success_plan_pct=spec.success_plan_pct, timing=spec.timing)
    caps = []
    if spec.cap_per_year is not None:
        caps.append(Cap(CapKind.PER_YEAR, rate=spec.cap_per_year))
    if spec.cap_per_renewal is not None:
        caps.append(Cap(CapKind.PER_RENEWAL, rate=spec.cap_per_renewal))
    if spec.cpi:
        caps.append(Cap(CapKind.CPI, cpi=tuple(spec.cpi), margin=spec.cpi_margin))
    return terms, tuple(caps)

