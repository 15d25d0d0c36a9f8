"""True-up history review and commitment sizing on small hand-made data."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from creditops.core.commitment import (
    ConsumptionPath,
    Validity,
    commitment_problems,
    committed_volume,
    expected_lapse,
    lapse,
    quantile,
    size_commitment,
)
from creditops.core.numbers import round_to
from creditops.core.trueup_history import (
    ForecastVerdict,
    Pattern,
    Settlement,
    forecast_accuracy,
    growth_pattern,
    months_until,
    review_history,
)

D = Decimal


def settlement(when: str, quantity: int, price: str = "175", *, forecast: int | None = None,
               product: str = "p", months: int | None = None, amount: str | None = None,
               disputed: bool = False) -> Settlement:
    return Settlement(date.fromisoformat(when), product, quantity, D(price), D("122.5"),
                      months=months, amount=None if amount is None else D(amount),
                      forecast_quantity=forecast, disputed=disputed, note="n")


def test_costs_premium_and_cumulative() -> None:
    review = review_history([
        settlement("2027-05-01", 10, months=6),
        settlement("2027-02-01", 4, amount="1000", disputed=True),
        settlement("2027-05-01", 2, "122.5", product="q"),
    ], original_contract_value=D(100_000))
    first, second, third = review.settlements
    assert first.cost == 1000 and first.months == 12  # recorded amount wins; 12 months default
    assert second.cost == 10 * 6 * 175 and second.premium == 10 * 6 * D("52.5")
    assert third.premium == 0
    assert review.total_cost == 1000 + 10500 + 2 * 12 * D("122.5")
    assert review.pct_of_original == review.total_cost / 100_000
    assert review.cumulative() == [(date(2027, 2, 1), D(1000)),
                                   (date(2027, 5, 1), review.total_cost)]
    assert len(review.disputed) == 1
    products = {product.product: product for product in review.products}
    assert round_to(products["p"].average_price or D(0), 20) == round_to(D(11500) / 108, 20)
    assert products["q"].average_original_rate == D("122.5")
    assert review_history([settlement("2027-01-01", 1)]).pct_of_original is None


def test_zero_quantity_products_have_no_average() -> None:
    product = review_history([settlement("2027-01-01", 0)]).products[0]
    assert product.average_price is None and product.average_original_rate is None


def test_months_to_the_term_end() -> None:
    assert months_until(date(2027, 5, 1), date(2030, 1, 31)) == 33
    assert months_until(date(2027, 5, 15), date(2027, 6, 30)) == 2
    assert months_until(date(2027, 5, 1), date(2027, 4, 1)) == 0
    review = review_history([settlement("2029-11-01", 1)], term_last_day=date(2030, 1, 31))
    assert review.settlements[0].months == 3


def test_growth_patterns() -> None:
    steady = [settlement(f"2027-{month:02d}-01", 10) for month in (2, 5, 8, 11)]
    assert growth_pattern(steady).pattern is Pattern.STEADY
    lumpy = [*steady, settlement("2028-02-01", 200)]
    assert growth_pattern(lumpy).pattern is Pattern.LUMPY
    seasonal = [settlement(f"{year}-{month:02d}-01", 50 if month == 11 else 5)
                for year in (2027, 2028) for month in (2, 5, 8, 11)]
    found = growth_pattern(seasonal)
    assert found.pattern is Pattern.SEASONAL and found.peak_quarter == 4
    assert round_to(sum(found.quarter_shares), 20) == 1
    assert growth_pattern(steady[:2]).pattern is Pattern.TOO_FEW
    assert growth_pattern([settlement("2027-01-01", 0)] * 3).pattern is Pattern.TOO_FEW


def test_forecast_accuracy() -> None:
    assert forecast_accuracy([settlement("2027-01-01", 5)]).verdict is ForecastVerdict.NO_FORECAST
    inflated = forecast_accuracy([settlement("2027-01-01", 5, forecast=10),
                                  settlement("2027-04-01", 0, forecast=0)])
    assert inflated.verdict is ForecastVerdict.INFLATED and inflated.bias == D("-0.5")
    assert inflated.mean_absolute_error == D("0.5")
    assert forecast_accuracy([settlement("2027-01-01", 12, forecast=10)]).verdict is (
        ForecastVerdict.UNDERESTIMATED)
    assert forecast_accuracy([settlement("2027-01-01", 10, forecast=10)]).verdict is (
        ForecastVerdict.ACCURATE)


PATHS = [ConsumptionPath(D(c12), D(c18), D(c24)) for c12, c18, c24 in
         [(80, 120, 160), (100, 150, 200), (120, 180, 240), (90, 135, 180), (110, 165, 220)]]


def test_quantile_and_volume() -> None:
    assert quantile([D(3), D(1), D(2)], D("0.5")) == 2
    assert quantile([D(1), D(2)], D("0.25")) == D("1.25")
    assert committed_volume(PATHS, D("0.75")) == 90
    assert committed_volume(PATHS, D("0.75"), pack_size=D(50)) == 50
    assert committed_volume([ConsumptionPath(D(-5), D(0), D(0))], D("0.5")) == 0


def test_lapse_by_validity() -> None:
    path = ConsumptionPath(D(80), D(120), D(160))
    assert lapse(D(130), path, Validity.MONTHS_12) == 50
    assert lapse(D(130), path, Validity.MONTHS_18) == 10
    assert lapse(D(130), path, Validity.MONTHS_24) == 0
    assert lapse(D(130), path, Validity.CARRY_FORWARD, D("0.4")) == 30
    tight = ConsumptionPath(D(80), D(85), D(90))
    assert lapse(D(130), tight, Validity.CARRY_FORWARD, D("0.4")) == 30 + (20 - 10)
    assert expected_lapse(D(100), PATHS, Validity.MONTHS_12) == D(30) / 5


def test_size_commitment() -> None:
    sizing = size_commitment(PATHS, D("0.8"), carry_forward_share=D("0.5"))
    assert sizing.volume == quantile([p.first_12_months for p in PATHS], D("0.2"))
    assert [option.validity for option in sizing.options] == list(Validity)
    assert sizing.options[0].avoided == 0
    assert all(option.avoided >= 0 for option in sizing.options)
    assert sizing.first_year[D("0.50")] == 100
    assert len(size_commitment(PATHS, D("0.8")).options) == 3


@pytest.mark.parametrize(("confidence", "share", "pack", "column"), [
    ("1", "0", None, "--confidence"), ("0.9", "2", None, "--carry-forward"),
    ("0.9", "0", "0", "--pack-size")])
def test_commitment_problems(confidence: str, share: str, pack: str | None, column: str) -> None:
    found = commitment_problems(D(confidence), D(share), None if pack is None else D(pack))
    assert [problem.column for problem in found] == [column]
