"""What makes a true-up scenario meaningless, reported by key so the user can fix the file.

Keys are written the way the scenario file spells them: ``products[0].discount``.
"""

from __future__ import annotations

from decimal import Decimal

from creditops.core.errors import Problem
from creditops.core.trueup import (
    MONTHS_PER_YEAR,
    Clause,
    Distribution,
    GrowthModel,
    Pricing,
    Product,
    Scenario,
    Uncertainty,
)

MAX_TERM_YEARS = 20


def scenario_problems(scenario: Scenario, source: str | None = None) -> list[Problem]:
    """Every problem of the scenario at once; empty when the model can run."""
    found: list[tuple[str, str]] = []
    years = scenario.term.years
    if not 1 <= years <= MAX_TERM_YEARS:
        found.append(("term.years", f"must be a whole number of years from 1 to {MAX_TERM_YEARS}"))
    if not scenario.products:
        found.append(("products", "at least one product is needed"))
    if not scenario.clauses:
        found.append(("clauses", "at least one clause is needed"))
    found += _duplicates("products", [product.id for product in scenario.products])
    found += _duplicates("clauses", [clause.id for clause in scenario.clauses])
    for index, product in enumerate(scenario.products):
        found += [(f"products[{index}].{key}", reason)
                  for key, reason in _product_problems(product, years)]
    for index, clause in enumerate(scenario.clauses):
        found += [(f"clauses[{index}].{key}", reason) for key, reason in _clause_problems(clause)]
    return [Problem(reason, source=source, column=key) for key, reason in found]


def _duplicates(key: str, ids: list[str]) -> list[tuple[str, str]]:
    seen: set[str] = set()
    found = []
    for index, identifier in enumerate(ids):
        if identifier in seen:
            found.append((f"{key}[{index}].id", f"id {identifier!r} is used twice"))
        seen.add(identifier)
    return found


def _product_problems(product: Product, years: int) -> list[tuple[str, str]]:
    found = []
    if product.list_price < 0:
        found.append(("list_price", f"a price cannot be negative (got {product.list_price})"))
    if product.quantity < 0:
        found.append(("quantity", f"cannot be negative (got {product.quantity})"))
    if not 0 <= product.discount < 1:
        found.append(("discount", "must be at least 0 and below 1 (0.30 means 30% off list); "
                                  f"got {product.discount}"))
    if product.list_escalation <= -1:
        found.append(("list_escalation", "must be above -1 (0.07 means +7% a year); "
                                         f"got {product.list_escalation}"))
    if product.ramp and len(product.ramp) != years:
        found.append(("ramp", f"has {len(product.ramp)} entries; the term has {years} years"))
    if any(quantity < 0 for quantity in product.ramp):
        found.append(("ramp", "quantities cannot be negative"))
    return found + [(f"growth.{key}", reason) for key, reason in _growth_problems(product, years)]


def _growth_problems(product: Product, years: int) -> list[tuple[str, str]]:
    growth = product.growth
    found = []
    if growth.initial is not None and growth.initial < 0:
        found.append(("initial", f"a headcount cannot be negative (got {growth.initial})"))
    if growth.model is GrowthModel.PATH:
        months = MONTHS_PER_YEAR * years
        if growth.annual:
            found.append(("annual", "a path model takes no annual rate (use linear or compound)"))
        if len(growth.path) != months:
            found.append(("path", f"has {len(growth.path)} months; a {years}-year term has "
                                  f"{months} (one headcount per month)"))
        if any(value < 0 for value in growth.path):
            found.append(("path", "a headcount cannot be negative"))
        if growth.uncertainty is not None:
            found.append(("uncertainty", "applies to linear or compound growth, not to a path"))
        return found
    if growth.path:
        found.append(("path", f"a {growth.model} model takes an annual rate, not a path"))
    if len(growth.annual) != years:
        found.append(("annual", f"has {len(growth.annual)} rates; give one rate, or one per "
                                f"contract year ({years})"))
    # Compound growth takes a power of (1 + g), which must stay positive.
    floor = Decimal(-1)
    if any(rate < floor or (growth.model is GrowthModel.COMPOUND and rate == floor)
           for rate in growth.annual):
        found.append(("annual", "a growth rate must be above -1 (-0.05 means shrinking 5% a year)"))
    if growth.uncertainty is not None:
        found += [(f"uncertainty.{key}", reason)
                  for key, reason in _uncertainty_problems(growth.uncertainty)]
    return found


def _uncertainty_problems(spread: Uncertainty) -> list[tuple[str, str]]:
    given = {name for name in ("mean", "sd", "low", "high", "mode")
             if getattr(spread, name) is not None}
    needs = {
        Distribution.NORMAL: {"sd"},
        Distribution.UNIFORM: {"low", "high"},
        Distribution.TRIANGULAR: {"low", "mode", "high"},
    }[spread.distribution]
    allowed = needs | ({"mean"} if spread.distribution is Distribution.NORMAL else set())
    found = [(name, f"is required for a {spread.distribution} distribution")
             for name in sorted(needs - given)]
    found += [(name, f"does not apply to a {spread.distribution} distribution")
              for name in sorted(given - allowed)]
    if spread.sd is not None and spread.sd < 0:
        found.append(("sd", "cannot be negative"))
    if spread.low is not None and spread.high is not None and spread.low > spread.high:
        found.append(("low", "must not exceed high"))
    if spread.mode is not None and not (
            (spread.low is None or spread.low <= spread.mode)
            and (spread.high is None or spread.mode <= spread.high)):
        found.append(("mode", "must lie between low and high"))
    if (spread.minimum is not None or spread.maximum is not None) and (
            spread.distribution is not Distribution.NORMAL):
        found.append(("minimum", "clipping applies to normal distributions only"))
    if (spread.minimum is not None and spread.maximum is not None
            and spread.minimum > spread.maximum):
        found.append(("minimum", "must not exceed maximum"))
    return found


def _clause_problems(clause: Clause) -> list[tuple[str, str]]:
    if clause.pricing is Pricing.CAPPED_ESCALATION:
        if clause.cap is None:
            return [("cap", "capped_escalation needs a cap (0.03 means +3% a year)")]
        if clause.cap <= -1:
            return [("cap", f"must be above -1; got {clause.cap}")]
    elif clause.cap is not None:
        return [("cap", f"a cap applies only to capped_escalation, not to {clause.pricing}")]
    return []
