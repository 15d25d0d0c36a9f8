"""Review of recorded true-up settlements: what growth cost, at what prices, and how it came.

A settlement's cost is its recorded ``amount`` or, when none is recorded, quantity × price paid
per licence per month × months billed. Its premium is what it cost over the same licence-months at
the original rate. Thresholds of the verdicts are module constants, stated in their names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Context, Decimal, localcontext
from enum import StrEnum

from creditops.core.numbers import ZERO

_CONTEXT = Context(prec=40)
DEFAULT_MONTHS = 12
FORECAST_TOLERANCE = Decimal("0.10")  # within ±10% of forecast counts as accurate
LUMPY_VARIATION = Decimal("0.75")  # coefficient of variation of settlement sizes
DOMINANT_SHARE = Decimal("0.5")  # one settlement or one quarter holding half the adds
MIN_SETTLEMENTS = 3


@dataclass(frozen=True)
class Settlement:
    when: date
    product: str
    quantity_added: int
    price_paid: Decimal  # per licence per month
    original_rate: Decimal  # per licence per month
    months: int | None = None  # months billed; None: to the term end, else DEFAULT_MONTHS
    amount: Decimal | None = None  # what was invoiced, when recorded
    forecast_quantity: int | None = None
    disputed: bool = False
    note: str = ""


def months_until(start: date, last_day: date) -> int:
    """Whole months from ``start`` through ``last_day`` (billing runs to the term's last day)."""
    end = last_day + timedelta(days=1)
    months = (end.year - start.year) * 12 + end.month - start.month
    if end.day > start.day:
        months += 1
    return max(months, 0)


@dataclass(frozen=True)
class PricedSettlement:
    settlement: Settlement
    months: int
    cost: Decimal
    at_original_rate: Decimal

    @property
    def premium(self) -> Decimal:
        return self.cost - self.at_original_rate


def price_settlements(settlements: Sequence[Settlement],
                      term_last_day: date | None = None) -> list[PricedSettlement]:
    priced = []
    with localcontext(_CONTEXT):
        for settlement in sorted(settlements, key=lambda s: s.when):
            months = settlement.months
            if months is None:
                months = (months_until(settlement.when, term_last_day)
                          if term_last_day is not None else DEFAULT_MONTHS)
            licence_months = settlement.quantity_added * months
            cost = (settlement.amount if settlement.amount is not None
                    else licence_months * settlement.price_paid)
            priced.append(PricedSettlement(settlement, months, cost,
                                           licence_months * settlement.original_rate))
    return priced


class Pattern(StrEnum):
    STEADY = "steady"
    LUMPY = "lumpy"
    SEASONAL = "seasonal"
    TOO_FEW = "too few settlements to tell"


@dataclass(frozen=True)
class GrowthPattern:
    pattern: Pattern
    settlements: int
    variation: Decimal | None  # coefficient of variation of quantity per settlement date
    largest_share: Decimal | None  # the largest settlement's share of all adds
    peak_quarter: int | None  # for seasonal: the calendar quarter that peaks every year
    quarter_shares: tuple[Decimal, ...]  # share of adds per calendar quarter 1…4


def _peak_quarter(quarters: Sequence[int]) -> int | None:
    top = max(quarters)
    leaders = [index for index, quantity in enumerate(quarters) if quantity == top]
    return leaders[0] if len(leaders) == 1 else None


def growth_pattern(settlements: Sequence[Settlement]) -> GrowthPattern:
    by_date: dict[date, int] = {}
    for settlement in settlements:
        by_date[settlement.when] = by_date.get(settlement.when, 0) + settlement.quantity_added
    total = sum(by_date.values())
    quarters = [0, 0, 0, 0]
    by_year: dict[int, list[int]] = {}
    for when, quantity in by_date.items():
        quarter = (when.month - 1) // 3
        quarters[quarter] += quantity
        by_year.setdefault(when.year, [0, 0, 0, 0])[quarter] += quantity
    with localcontext(_CONTEXT):
        shares = tuple(Decimal(q) / total if total else ZERO for q in quarters)
        if len(by_date) < MIN_SETTLEMENTS or total <= 0:
            return GrowthPattern(Pattern.TOO_FEW, len(by_date), None, None, None, shares)
        sizes = [Decimal(quantity) for quantity in by_date.values()]
        mean = sum(sizes, ZERO) / len(sizes)
        spread = (sum(((size - mean) ** 2 for size in sizes), ZERO) / len(sizes)).sqrt()
        variation = spread / mean
        largest = max(sizes) / total
        # A year peaks in a quarter only when that quarter alone holds its most adds.
        peaks = {_peak_quarter(year) for year in by_year.values() if any(year)}
        peak = next(iter(peaks)) if len(peaks) == 1 else None
        if len(by_year) >= 2 and peak is not None and shares[peak] >= DOMINANT_SHARE:
            return GrowthPattern(Pattern.SEASONAL, len(by_date), variation, largest, peak + 1,
                                 shares)
        pattern = (Pattern.LUMPY if variation > LUMPY_VARIATION or largest >= DOMINANT_SHARE
                   else Pattern.STEADY)
        return GrowthPattern(pattern, len(by_date), variation, largest, None, shares)


class ForecastVerdict(StrEnum):
    ACCURATE = "accurate"
    INFLATED = "forecast inflation"  # forecasts meaningfully exceeded actuals
    UNDERESTIMATED = "forecast underestimation"
    NO_FORECAST = "no forecast recorded"


@dataclass(frozen=True)
class ForecastAccuracy:
    verdict: ForecastVerdict
    forecast: int
    actual: int
    bias: Decimal | None  # (actual − forecast) ÷ forecast
    mean_absolute_error: Decimal | None  # mean of |actual − forecast| ÷ forecast, per settlement


def forecast_accuracy(settlements: Sequence[Settlement]) -> ForecastAccuracy:
    compared = [(s.forecast_quantity, s.quantity_added) for s in settlements
                if s.forecast_quantity is not None]
    forecast = sum(f for f, _ in compared)
    actual = sum(a for _, a in compared)
    if not compared or forecast <= 0:
        return ForecastAccuracy(ForecastVerdict.NO_FORECAST, forecast, actual, None, None)
    with localcontext(_CONTEXT):
        bias = Decimal(actual - forecast) / forecast
        errors = [Decimal(abs(a - f)) / f for f, a in compared if f > 0]
        mean_error = sum(errors, ZERO) / len(errors) if errors else None
    verdict = (ForecastVerdict.INFLATED if bias < -FORECAST_TOLERANCE
               else ForecastVerdict.UNDERESTIMATED if bias > FORECAST_TOLERANCE
               else ForecastVerdict.ACCURATE)
    return ForecastAccuracy(verdict, forecast, actual, bias, mean_error)


@dataclass(frozen=True)
class ProductHistory:
    product: str
    quantity_added: int
    licence_months: int
    cost: Decimal
    at_original_rate: Decimal

    @property
    def premium(self) -> Decimal:
        return self.cost - self.at_original_rate

    @property
    def average_price(self) -> Decimal | None:
        """Cost per licence-month actually paid."""
        if self.licence_months == 0:
            return None
        with localcontext(_CONTEXT):
            return self.cost / self.licence_months

    @property
    def average_original_rate(self) -> Decimal | None:
        if self.licence_months == 0:
            return None
        with localcontext(_CONTEXT):
            return self.at_original_rate / self.licence_months


@dataclass(frozen=True)
class HistoryReview:
    settlements: tuple[PricedSettlement, ...]
    products: tuple[ProductHistory, ...]
    original_contract_value: Decimal | None
    pattern: GrowthPattern
    forecast: ForecastAccuracy

    @property
    def total_cost(self) -> Decimal:
        return sum((s.cost for s in self.settlements), ZERO)

    @property
    def total_premium(self) -> Decimal:
        return sum((s.premium for s in self.settlements), ZERO)

    @property
    def pct_of_original(self) -> Decimal | None:
        if not self.original_contract_value:
            return None
        with localcontext(_CONTEXT):
            return self.total_cost / self.original_contract_value

    @property
    def disputed(self) -> tuple[PricedSettlement, ...]:
        return tuple(s for s in self.settlements if s.settlement.disputed)

    def cumulative(self) -> list[tuple[date, Decimal]]:
        """Cumulative cost after each settlement date."""
        running = ZERO
        points: dict[date, Decimal] = {}
        for priced in self.settlements:
            running += priced.cost
            points[priced.settlement.when] = running
        return list(points.items())


def review_history(settlements: Sequence[Settlement],
                   original_contract_value: Decimal | None = None,
                   term_last_day: date | None = None) -> HistoryReview:
    priced = price_settlements(settlements, term_last_day)
    products: dict[str, list[PricedSettlement]] = {}
    for item in priced:
        products.setdefault(item.settlement.product, []).append(item)
    return HistoryReview(
        settlements=tuple(priced),
        products=tuple(ProductHistory(
            product=name,
            quantity_added=sum(i.settlement.quantity_added for i in items),
            licence_months=sum(i.settlement.quantity_added * i.months for i in items),
            cost=sum((i.cost for i in items), ZERO),
            at_original_rate=sum((i.at_original_rate for i in items), ZERO),
        ) for name, items in products.items()),
        original_contract_value=original_contract_value,
        pattern=growth_pattern(settlements),
        forecast=forecast_accuracy(settlements),
    )
