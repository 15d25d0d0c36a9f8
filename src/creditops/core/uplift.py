"""Renewal uplift: licence and success-plan cost over several terms, with and without a cap.

Years t = 0 … terms·term_years − 1; term k = t // term_years. An *increase point* is a year where
the vendor asks for the uplift: the first year of every term after the first (``renewal`` timing)
or every year after the first (``annual`` timing). At an increase point that comes ``k`` years
after the previous one, the applied increase is min(requested, allowed), where allowed is

- no cap: the requested uplift;
- ``per_year`` cap c: (1 + c)^k − 1 (a cap per year of time since the last increase);
- ``per_renewal`` cap c: c at the first year of a term; in-term annual increases are not renewals
  and are not limited by it;
- ``cpi``: Π (1 + cpi_j + margin) − 1 over those k years (the CPI path's last rate repeats).

A cap never forces a decrease: allowed is floored at 0. The success plan costs a fixed share of
the year's net licence, so it compounds with the licence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Context, Decimal, localcontext
from enum import StrEnum

from creditops.core.errors import Problem
from creditops.core.numbers import ZERO

_CONTEXT = Context(prec=40)


class UpliftTiming(StrEnum):
    RENEWAL = "renewal"
    ANNUAL = "annual"


class CapKind(StrEnum):
    NONE = "none"
    PER_YEAR = "per_year"
    PER_RENEWAL = "per_renewal"
    CPI = "cpi"


@dataclass(frozen=True)
class Cap:
    kind: CapKind
    rate: Decimal = ZERO
    cpi: tuple[Decimal, ...] = ()
    margin: Decimal = ZERO

    @property
    def label(self) -> str:
        if self.kind is CapKind.NONE:
            return "no cap"
        if self.kind is CapKind.CPI:
            path = ", ".join(format(rate, "f") for rate in self.cpi)
            extra = f" + {format(self.margin, 'f')}" if self.margin else ""
            return f"CPI [{path}]{extra}"
        return f"cap {format(self.rate, 'f')} {self.kind.value.replace('_', ' ')}"


NO_CAP = Cap(CapKind.NONE)


@dataclass(frozen=True)
class UpliftTerms:
    licence: Decimal  # net licence per year at the start
    uplift: Decimal  # increase requested at each increase point
    terms: int
    term_years: int
    success_plan_pct: Decimal = ZERO
    timing: UpliftTiming = UpliftTiming.RENEWAL


@dataclass(frozen=True)
class UpliftYear:
    year: int
    term: int
    requested: Decimal
    applied: Decimal
    licence: Decimal
    success_plan: Decimal

    @property
    def total(self) -> Decimal:
        return self.licence + self.success_plan


@dataclass(frozen=True)
class UpliftPath:
    cap: Cap
    years: tuple[UpliftYear, ...]

    @property
    def licence_total(self) -> Decimal:
        return sum((year.licence for year in self.years), ZERO)

    @property
    def success_plan_total(self) -> Decimal:
        return sum((year.success_plan for year in self.years), ZERO)

    @property
    def total(self) -> Decimal:
        return self.licence_total + self.success_plan_total

    def term_totals(self) -> tuple[Decimal, ...]:
        terms = max(year.term for year in self.years) + 1
        return tuple(sum((year.total for year in self.years if year.term == term), ZERO)
                     for term in range(terms))

    @property
    def cumulative_increase(self) -> Decimal:
        """Final year's licence over the first year's, less one."""
        first = self.years[0].licence
        if first == 0:
            return ZERO
        with localcontext(_CONTEXT):
            return self.years[-1].licence / first - 1


def uplift_problems(terms: UpliftTerms, caps: Sequence[Cap] = ()) -> list[Problem]:
    """Problems keyed by the option or file key that holds the value."""
    found = []
    if terms.licence < 0:
        found.append(("licence", "cannot be negative"))
    if terms.uplift <= -1:
        found.append(("uplift", "must be above -1 (0.07 means +7%)"))
    if terms.terms < 1:
        found.append(("terms", "at least one term"))
    if terms.term_years < 1:
        found.append(("term_years", "at least one year per term"))
    if terms.success_plan_pct < 0:
        found.append(("success_plan_pct", "cannot be negative (0.30 means 30% of net licence)"))
    for cap in caps:
        if cap.kind is CapKind.CPI and not cap.cpi:
            found.append(("cpi", "a CPI path needs at least one rate"))
        if cap.kind in (CapKind.PER_YEAR, CapKind.PER_RENEWAL) and cap.rate < 0:
            found.append((cap.kind.value, "a cap cannot be negative"))
        if any(rate <= -1 for rate in cap.cpi):
            found.append(("cpi", "a CPI rate must be above -1"))
    return [Problem(reason, column=key) for key, reason in found]


def _allowed(cap: Cap, year: int, since: int, is_renewal: bool, requested: Decimal) -> Decimal:
    if cap.kind is CapKind.NONE:
        return requested
    if cap.kind is CapKind.PER_YEAR:
        return (1 + cap.rate) ** since - 1
    if cap.kind is CapKind.PER_RENEWAL:
        return cap.rate if is_renewal else requested
    factor = Decimal(1)
    for past in range(year - since + 1, year + 1):
        factor *= 1 + cap.cpi[min(past, len(cap.cpi)) - 1] + cap.margin
    return factor - 1


def project_uplift(terms: UpliftTerms, cap: Cap = NO_CAP) -> UpliftPath:
    """Licence and success plan for every year of every term under one cap."""
    years = []
    price = terms.licence
    last_increase = 0
    with localcontext(_CONTEXT):
        for year in range(terms.terms * terms.term_years):
            is_renewal = year > 0 and year % terms.term_years == 0
            requested = applied = ZERO
            if year > 0 and (is_renewal or terms.timing is UpliftTiming.ANNUAL):
                requested = terms.uplift
                since = year - last_increase
                allowed = max(ZERO, _allowed(cap, year, since, is_renewal, requested))
                applied = min(requested, allowed)
                price = price * (1 + applied)
                last_increase = year
            years.append(UpliftYear(
                year=year,
                term=year // terms.term_years,
                requested=requested,
                applied=applied,
                licence=price,
                success_plan=price * terms.success_plan_pct,
            ))
    return UpliftPath(cap, tuple(years))


@dataclass(frozen=True)
class UpliftComparison:
    terms: UpliftTerms
    uncapped: UpliftPath
    capped: tuple[UpliftPath, ...]

    def saving(self, path: UpliftPath) -> Decimal:
        """What the cap saves over the whole horizon against no cap."""
        return self.uncapped.total - path.total


def compare_caps(terms: UpliftTerms, caps: Sequence[Cap]) -> UpliftComparison:
    return UpliftComparison(terms, project_uplift(terms),
                            tuple(project_uplift(terms, cap) for cap in caps))
