"""The true-up model against figures worked out by hand from the definitions."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal

import pytest

from creditops.core.numbers import round_to
from creditops.core.trueup import (
    Figures,
    Growth,
    GrowthModel,
    Pricing,
    Timing,
    add_schedule,
    cumulative_adds,
    first_needed,
    headcount_path,
    later_settlement_costs,
    model_product,
    model_scenario,
    month_start,
    needed_licences,
    net_annual_licence,
    subscription_cost,
    sum_figures,
)
from tests.renewal.helpers import clause, path_product, rate_product, scenario

# 10 contracted; 2 more needed from month 5, a dip at month 14 (adds are not removed),
# 3 more from month 15: Δ(5) = 2, Δ(15) = 3.
HAND_PATH = [10] * 5 + [12] * 9 + [11] + [15] * 9


def test_cumulative_adds_never_shrink() -> None:
    added = cumulative_adds([10, 12, 11, 15], [10, 10, 10, 10])
    assert added == (0, 2, 2, 5)
    assert first_needed(added) == (0, 2, 0, 3)


def test_monthly_list_no_discount_by_hand() -> None:
    result = model_product(path_product(HAND_PATH), clause(Pricing.LIST_NO_DISCOUNT), years=2)
    figures = result.figures
    # month-5 add: 2 × 100 × 19 months (7 in year 1, 12 in year 2);
    # month-15 add: priced in year 2 at 110, 3 × 110 × 9 months.
    assert figures.trueup_by_year == (Decimal(1400), Decimal(2400 + 2970))
    assert figures.trueup_total == 6770
    assert figures.beyond_term == 0
    assert figures.original_contract_value == 10 * 12 * 80 * 2
    assert round_to(figures.trueup_pct_of_original or 0, 20) == round_to(
        Decimal(6770) / Decimal(19200), 20)
    list_value = 10 * 12 * 100 + 10 * 12 * 110 + 2 * 7 * 100 + 2 * 12 * 110 + 3 * 9 * 110
    assert figures.list_value == list_value
    assert round_to(figures.effective_discount or 0, 20) == round_to(
        1 - Decimal(19200 + 6770) / Decimal(list_value), 20)
    assert figures.licences_added == 5
    assert [add.quantity for add in result.adds] == [2, 3]
    assert sum(figures.trueup_by_month) == 6770
    assert figures.trueup_by_month[5] == 200 and figures.trueup_by_month[15] == 200 + 330


def test_quarterly_original_rate_by_hand() -> None:
    figures = model_product(path_product(HAND_PATH),
                            clause(Pricing.ORIGINAL_RATE, Timing.QUARTERLY), years=2).figures
    # settled at months 6 and 18: 2 × 80 × 18 + 3 × 80 × 6
    assert figures.trueup_by_year == (Decimal(960), Decimal(1920 + 1440))
    assert figures.trueup_total == 4320


def test_annual_own_term_backbilled_by_hand() -> None:
    figures = model_product(
        path_product(HAND_PATH),
        clause(Pricing.LIST_WITH_DISCOUNT, Timing.ANNUAL, coterm=False, backbill=True),
        years=2).figures
    # Both adds settle at an anniversary in price year 2 (list 110 less 20% = 88) and run
    # 12 months from the month first needed; the second spills 3 months past the term.
    assert figures.trueup_by_year == (Decimal(2 * 88 * 7), Decimal(2 * 88 * 5 + 3 * 88 * 9))
    assert figures.beyond_term == 3 * 88 * 3
    assert figures.trueup_total == 5280
    # months past the term are valued at the list of the year after the term (121)
    assert figures.list_value == 25200 + 2 * 7 * 100 + 2 * 5 * 110 + 3 * 9 * 110 + 3 * 3 * 121


def test_at_renewal_without_backbill_costs_nothing_in_a_coterm_contract() -> None:
    product = path_product(HAND_PATH)
    assert model_product(product, clause(Pricing.LIST_NO_DISCOUNT, Timing.AT_RENEWAL),
                         years=2).figures.trueup_total == 0
    backbilled = model_product(
        product, clause(Pricing.CAPPED_ESCALATION, Timing.AT_RENEWAL, backbill=True, cap="0.05"),
        years=2).figures
    # priced at the last contract year: 80 × 1.05
    assert backbilled.trueup_total == 2 * Decimal("84") * 19 + 3 * Decimal("84") * 9


def test_schedule_past_the_term_is_beyond_term() -> None:
    schedule = add_schedule(clause(Pricing.ORIGINAL_RATE, Timing.AT_RENEWAL, coterm=False),
                            month=3, years=1)
    assert schedule.settlement_month == 12
    assert schedule.price_year == 0
    assert schedule.months_by_year == (0,)
    assert schedule.months_beyond_term == 12


def test_ramp_sets_the_contracted_quantity_per_year() -> None:
    product = path_product([12] * 24, ramp=[10, 12])
    figures = model_product(product, clause(Pricing.ORIGINAL_RATE), years=2).figures
    # 2 licences short in year 1 from month 0; the ramp covers them in year 2 but adds stay.
    assert figures.trueup_total == 2 * 80 * 24
    assert figures.original_contract_value == (10 + 12) * 12 * 80


def test_linear_and_compound_growth_are_exact_on_whole_months() -> None:
    linear = rate_product(GrowthModel.LINEAR, "0.10", 3)
    path = headcount_path(linear, 3)
    assert path[0] == 1000 and path[6] == 1050 and path[12] == 1100 and path[35] > 1291
    assert needed_licences(linear, 3)[1] == 1009  # 1008.33… rounds up
    compound = rate_product(GrowthModel.COMPOUND, ["0.10", "0.20"], 2)
    path = headcount_path(compound, 2)
    assert path[12] == 1100
    assert float(path[18]) == pytest.approx(1100 * math.sqrt(1.2))
    per_year = rate_product(GrowthModel.LINEAR, ["0.10", "0.20"], 2, initial="500")
    assert headcount_path(per_year, 2)[18] == 500 * Decimal("1.2")


def test_seed_example_against_a_direct_sum() -> None:
    """1,000 licences, 30% off $175, 7% list escalation, +100 licences a year, 3 years."""
    product = rate_product(GrowthModel.LINEAR, "0.10", 3)
    clauses = [clause(pricing, clause_id=pricing.value) for pricing in Pricing if
               pricing is not Pricing.CAPPED_ESCALATION]
    result = model_scenario(scenario([product], clauses, 3))
    needed = [math.ceil(1000 + 100 * month / 12 - 1e-9) for month in range(36)]
    expected = {}
    for pricing, price in (("list_no_discount", lambda y: Decimal(175) * Decimal("1.07") ** y),
                           ("list_with_discount",
                            lambda y: Decimal(175) * Decimal("1.07") ** y * Decimal("0.7")),
                           ("original_rate", lambda y: Decimal("122.5"))):
        total = Decimal(0)
        previous = 1000
        for month, need in enumerate(needed):
            fresh = max(need, previous) - previous
            previous = max(need, previous)
            total += fresh * price(month // 12) * (36 - month)
        expected[pricing] = total
    assert {c.clause.id: c.figures.trueup_total for c in result.clauses} == expected
    assert result.best.clause.id == "original_rate"
    assert result.worst.clause.id == "list_no_discount"
    assert result.spread == expected["list_no_discount"] - expected["original_rate"]


def test_scenario_sums_products() -> None:
    first = path_product(HAND_PATH, product_id="a")
    second = path_product([10] * 23 + [11], product_id="b")
    result = model_scenario(scenario([first, second], [clause(Pricing.ORIGINAL_RATE)], 2))
    figures = result.clauses[0].figures
    assert figures.trueup_total == sum(p.figures.trueup_total for p in result.clauses[0].products)
    assert figures.licences_added == 6
    assert net_annual_licence(scenario([first, second], [], 2)) == 2 * 10 * 12 * 80


def test_empty_sum_and_ratios_without_a_base() -> None:
    empty = sum_figures([], 2)
    assert empty.trueup_by_year == (0, 0) and len(empty.trueup_by_month) == 24
    assert empty.trueup_pct_of_original is None and empty.effective_discount is None
    free = Figures((), (), Decimal(0), Decimal(0), Decimal(100), 0)
    assert free.effective_discount == 1


def test_subscription_and_calendar_helpers() -> None:
    product = path_product(HAND_PATH)
    assert subscription_cost(product, 7, 2) == 7 * 24 * 80
    assert month_start(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert month_start(date(2027, 2, 1), 35) == date(2030, 1, 1)


def test_unknown_initial_headcount_defaults_to_quantity() -> None:
    product = rate_product(GrowthModel.COMPOUND, "0", 1, quantity=7)
    assert product.initial_headcount == 7
    explicit = rate_product(GrowthModel.COMPOUND, "0", 1, quantity=7, initial="9.5")
    assert needed_licences(explicit, 1) == (10,) * 12
    assert explicit.growth == Growth(GrowthModel.COMPOUND, annual=(Decimal(0),),
                                     initial=Decimal("9.5"))


def test_later_settlement_that_costs_more_is_reported_not_hidden() -> None:
    # 25 licences first needed in month 11: settled monthly in year 1, quarterly in year 2.
    product = path_product([10] * 11 + [35] * 25, escalation="0.07")
    clauses = [clause(Pricing.LIST_NO_DISCOUNT, Timing.MONTHLY, clause_id="list-m"),
               clause(Pricing.LIST_NO_DISCOUNT, Timing.QUARTERLY, clause_id="list-q"),
               clause(Pricing.ORIGINAL_RATE, Timing.MONTHLY, clause_id="orig-m"),
               clause(Pricing.ORIGINAL_RATE, Timing.QUARTERLY, clause_id="orig-q")]
    result = model_scenario(scenario([product], clauses, 3))
    cases = later_settlement_costs(result)
    assert [(c.earlier.clause.id, c.later.clause.id) for c in cases] == [("list-m", "list-q")]
    assert cases[0].extra == (cases[0].later.figures.trueup_total
                              - cases[0].earlier.figures.trueup_total) > 0
