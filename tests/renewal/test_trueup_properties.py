"""Properties the issue promises, over random products, growth paths and clauses."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from creditops.adapters import simulation_trueup as vectorised
from creditops.adapters.scenario_file import ScenarioFile, SimulationSettings
from creditops.core.trueup import (
    MONTHS_PER_YEAR,
    Distribution,
    Growth,
    GrowthModel,
    Pricing,
    Product,
    Timing,
    Uncertainty,
    model_product,
    price_table,
    subscription_cost,
)
from creditops.services.renewal import optimise_file
from tests.renewal.helpers import clause, path_product, rate_product, scenario

FAST = settings(max_examples=60, deadline=None)


@st.composite
def products(draw: st.DrawFn) -> tuple[Product, int]:
    years = draw(st.integers(1, 3))
    start = draw(st.integers(0, 60))
    steps = draw(st.lists(st.integers(-4, 6), min_size=years * 12, max_size=years * 12))
    path = []
    level = start
    for step in steps:
        level = max(0, level + step)
        path.append(level)
    ramp = draw(st.one_of(st.just(()), st.lists(st.integers(0, 80), min_size=years,
                                                max_size=years)))
    product = path_product(
        path, quantity=draw(st.integers(0, 60)), ramp=ramp,
        list_price=str(draw(st.integers(100, 50_000)) / 100),
        discount=str(draw(st.integers(0, 90)) / 100),
        escalation=str(draw(st.integers(0, 20)) / 100),
    )
    return product, years


timings = st.sampled_from(list(Timing))


@FAST
@given(products(), timings, st.booleans(), st.booleans())
def test_original_rate_never_dearer_than_discounted_list_never_dearer_than_list(
        drawn: tuple[Product, int], timing: Timing, coterm: bool, backbill: bool) -> None:
    product, years = drawn

    def cost(pricing: Pricing) -> Decimal:
        terms = clause(pricing, timing, coterm=coterm, backbill=backbill)
        return model_product(product, terms, years).figures.trueup_total

    assert (cost(Pricing.ORIGINAL_RATE) <= cost(Pricing.LIST_WITH_DISCOUNT)
            <= cost(Pricing.LIST_NO_DISCOUNT))


@FAST
@given(st.integers(0, 5000), st.integers(0, 100), st.integers(1, 4),
       st.sampled_from([GrowthModel.LINEAR, GrowthModel.COMPOUND]), timings, st.booleans(),
       st.booleans(), st.sampled_from(list(Pricing)))
def test_zero_growth_costs_nothing(quantity: int, below: int, years: int, model: GrowthModel,
                                   timing: Timing, coterm: bool, backbill: bool,
                                   pricing: Pricing) -> None:
    product = rate_product(model, "0", years, quantity=quantity,
                           initial=str(max(quantity - below, 0)))
    terms = clause(pricing, timing, coterm=coterm, backbill=backbill,
                   cap="0.03" if pricing is Pricing.CAPPED_ESCALATION else None)
    figures = model_product(product, terms, years).figures
    assert figures.trueup_total == 0
    assert figures.licences_added == 0


@FAST
@given(products(), st.booleans())
def test_later_settlement_never_costs_more_at_the_original_rate(
        drawn: tuple[Product, int], coterm: bool) -> None:
    product, years = drawn
    costs = [model_product(product, clause(Pricing.ORIGINAL_RATE, timing, coterm=coterm),
                           years).figures.trueup_total
             for timing in (Timing.MONTHLY, Timing.QUARTERLY, Timing.ANNUAL, Timing.AT_RENEWAL)]
    assert costs == sorted(costs, reverse=True)


def test_later_settlement_can_cost_more_at_list() -> None:
    """An add first needed in month 11: settled monthly it is priced in year 1; settled quarterly
    it moves to month 12 and year 2's list (+7%), which outweighs the month it is not billed."""
    product = path_product([1000] * 11 + [1001] * 25, quantity=1000, list_price="175",
                           discount="0.30", escalation="0.07")
    monthly = model_product(product, clause(Pricing.LIST_NO_DISCOUNT), 3).figures.trueup_total
    quarterly = model_product(product, clause(Pricing.LIST_NO_DISCOUNT, Timing.QUARTERLY),
                              3).figures.trueup_total
    assert monthly == 175 * 25
    assert quarterly == Decimal("187.25") * 24
    assert quarterly > monthly


@FAST
@given(products(), st.sampled_from(list(Pricing)), timings, st.booleans(), st.booleans())
def test_years_and_beyond_add_up_and_vectorised_model_agrees(
        drawn: tuple[Product, int], pricing: Pricing, timing: Timing, coterm: bool,
        backbill: bool) -> None:
    product, years = drawn
    terms = clause(pricing, timing, coterm=coterm, backbill=backbill,
                   cap="0.04" if pricing is Pricing.CAPPED_ESCALATION else None)
    result = model_product(product, terms, years)
    figures = result.figures
    assert sum(figures.trueup_by_year) + figures.beyond_term == figures.trueup_total
    assert sum(figures.trueup_by_month) == sum(figures.trueup_by_year)
    assert sum(add.cost for add in result.adds) == figures.trueup_total

    needed = np.array([result.needed], dtype=np.int64)
    kernel = vectorised.ClauseKernel.of(terms, years)
    contracted = [product.contracted(m // MONTHS_PER_YEAR) for m in range(12 * years)]
    deltas = vectorised.first_needed(needed, contracted)
    months = vectorised.licence_months(deltas, kernel)[0]
    prices = price_table(product, terms, years)
    assert sum(int(n) * price for n, price in zip(months, prices, strict=True)) == (
        figures.trueup_total)
    buckets = vectorised.licence_months_by_bucket(deltas, kernel)[0]
    assert int(buckets.sum()) == sum(add.quantity * add.schedule.billed_months
                                     for add in result.adds)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.integers(0, 30), min_size=24, max_size=24), min_size=1, max_size=4),
       st.sampled_from(list(Pricing)), timings, st.booleans(), st.booleans())
def test_quantity_curve_matches_the_exact_model_for_every_quantity(
        paths: list[list[int]], pricing: Pricing, timing: Timing, coterm: bool,
        backbill: bool) -> None:
    terms = clause(pricing, timing, coterm=coterm, backbill=backbill,
                   cap="0.02" if pricing is Pricing.CAPPED_ESCALATION else None)
    needed = np.array(paths, dtype=np.int64)
    lowest, highest = int(needed[:, 0].min()), int(needed.max())
    curve = vectorised.quantity_curve(needed, vectorised.ClauseKernel.of(terms, 2), lowest,
                                      highest)
    template = path_product(paths[0])
    prices = price_table(template, terms, 2)
    for quantity, months in zip(curve.quantities, curve.licence_months, strict=True):
        flat = replace(template, quantity=int(quantity))
        exact = sum(model_product(flat, terms, 2, needed=path).figures.trueup_total
                    for path in paths)
        assert sum(int(n) * p for n, p in zip(months, prices, strict=True)) == exact


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 4), st.integers(0, 20), st.integers(5, 25), timings, st.booleans(),
       st.booleans(), st.integers(0, 2**32 - 1))
def test_optimiser_commits_at_least_as_much_under_list_as_under_original_rate(
        escalation: int, mean: int, sd: int, timing: Timing, coterm: bool, backbill: bool,
        seed: int) -> None:
    years = 2
    product = replace(
        rate_product(GrowthModel.LINEAR, str(mean / 100), years, quantity=200,
                     escalation=str(escalation / 100)),
        growth=Growth(GrowthModel.LINEAR, annual=(Decimal(mean) / 100,) * years,
                      uncertainty=Uncertainty(Distribution.NORMAL, sd=Decimal(sd) / 100)))
    terms = [clause(Pricing.LIST_NO_DISCOUNT, timing, coterm=coterm, backbill=backbill,
                    clause_id="list"),
             clause(Pricing.ORIGINAL_RATE, timing, coterm=coterm, backbill=backbill,
                    clause_id="original")]
    file = ScenarioFile("test", scenario([product], terms, years), SimulationSettings(200, seed),
                        None, ())
    result = optimise_file(file)
    best = {c.clause.id: c.products[0].best.quantity for c in result.clauses}
    assert best["list"] >= best["original"]
    for optimum in (c.products[0] for c in result.clauses):
        assert min(point.expected_total for point in optimum.curve) == (
            optimum.best.expected_total)
        assert optimum.best.subscription == subscription_cost(product, optimum.best.quantity,
                                                              years)
