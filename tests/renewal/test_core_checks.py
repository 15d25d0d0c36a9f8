"""Scenario checks on core objects: every rule names its key."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from creditops.core.trueup import (
    Distribution,
    Growth,
    GrowthModel,
    Pricing,
    Uncertainty,
)
from creditops.core.trueup_checks import scenario_problems
from tests.renewal.helpers import clause, path_product, rate_product, scenario


def keys(found: list) -> dict[str, str]:  # type: ignore[type-arg]
    return {problem.column: problem.reason for problem in found}


def test_a_sound_scenario_has_no_problems() -> None:
    good = scenario([rate_product(GrowthModel.LINEAR, "0.1", 2)],
                    [clause(Pricing.CAPPED_ESCALATION, cap="0.03")], 2)
    assert scenario_problems(good) == []


def test_structural_problems() -> None:
    found = keys(scenario_problems(scenario([], [], 0), source="f.yaml"))
    assert set(found) == {"term.years", "products", "clauses"}
    product = path_product([1] * 12)
    duplicated = scenario([product, product], [clause(Pricing.ORIGINAL_RATE)] * 2, 1)
    found = keys(scenario_problems(duplicated))
    assert "products[1].id" in found and "clauses[1].id" in found


def test_product_problems() -> None:
    product = replace(path_product([1] * 12), list_price=Decimal(-1), quantity=-2,
                      discount=Decimal(1), list_escalation=Decimal(-1), ramp=(1, -1))
    found = keys(scenario_problems(scenario([product], [clause(Pricing.ORIGINAL_RATE)], 1)))
    assert {"products[0].list_price", "products[0].quantity", "products[0].discount",
            "products[0].list_escalation", "products[0].ramp"} <= set(found)


def test_growth_problems() -> None:
    path = replace(path_product([-1] * 12), growth=Growth(
        GrowthModel.PATH, path=(Decimal(-1),) * 12, initial=Decimal(-1)))
    found = keys(scenario_problems(scenario([path], [clause(Pricing.ORIGINAL_RATE)], 1)))
    assert found["products[0].growth.path"] == "a headcount cannot be negative"
    assert "products[0].growth.initial" in found
    rates = replace(rate_product(GrowthModel.COMPOUND, "-1", 1),
                    growth=Growth(GrowthModel.COMPOUND, annual=(Decimal(-1),),
                                  path=(Decimal(1),)))
    found = keys(scenario_problems(scenario([rates], [clause(Pricing.ORIGINAL_RATE)], 1)))
    assert "must be above -1" in found["products[0].growth.annual"]
    assert "takes an annual rate, not a path" in found["products[0].growth.path"]
    linear = rate_product(GrowthModel.LINEAR, "-1", 1)
    assert scenario_problems(scenario([linear], [clause(Pricing.ORIGINAL_RATE)], 1)) == []


def _with(spread: Uncertainty) -> dict[str, str]:
    product = rate_product(GrowthModel.LINEAR, "0.1", 1)
    product = replace(product, growth=replace(product.growth, uncertainty=spread))
    return keys(scenario_problems(scenario([product], [clause(Pricing.ORIGINAL_RATE)], 1)))


def test_uncertainty_problems() -> None:
    prefix = "products[0].growth.uncertainty."
    assert _with(Uncertainty(Distribution.NORMAL, sd=Decimal("0.1"))) == {}
    found = _with(Uncertainty(Distribution.NORMAL, low=Decimal(0), sd=Decimal(-1),
                              minimum=Decimal(1), maximum=Decimal(0)))
    assert found[prefix + "low"] == "does not apply to a normal distribution"
    assert found[prefix + "sd"] == "cannot be negative"
    assert found[prefix + "minimum"] == "must not exceed maximum"
    found = _with(Uncertainty(Distribution.UNIFORM, low=Decimal(1), high=Decimal(0),
                              minimum=Decimal(0)))
    assert found[prefix + "low"] == "must not exceed high"
    assert found[prefix + "minimum"] == "clipping applies to normal distributions only"
    found = _with(Uncertainty(Distribution.TRIANGULAR, low=Decimal(0), mode=Decimal(2),
                              high=Decimal(1)))
    assert found[prefix + "mode"] == "must lie between low and high"
    found = _with(Uncertainty(Distribution.TRIANGULAR, mode=Decimal(0)))
    assert found[prefix + "low"] == "is required for a triangular distribution"
    assert _with(Uncertainty(Distribution.TRIANGULAR, low=Decimal(0), mode=Decimal(0),
                             high=Decimal(0))) == {}


def test_clause_problems() -> None:
    product = rate_product(GrowthModel.LINEAR, "0.1", 1)
    found = keys(scenario_problems(scenario([product], [
        clause(Pricing.CAPPED_ESCALATION, cap="-1"),
        clause(Pricing.ORIGINAL_RATE, cap="0.1", clause_id="Y")], 1)))
    assert found["clauses[0].cap"] == "must be above -1; got -1"
    assert "applies only to capped_escalation" in found["clauses[1].cap"]
