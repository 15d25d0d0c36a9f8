"""The true-up model: what licences added mid-term cost under each true-up clause.

The definitions are exact and shared by every consumer (the CLI, the Monte Carlo, the optimiser):

- months m = 0 … 12·years − 1 from term start; contract year y(m) = m // 12;
- needed(m) = ceil(headcount(m)); contracted(y) = quantity, or the ramp entry for year y;
- added(m) = max(added(m − 1), needed(m) − contracted(y(m))), added(−1) = 0; Δ(m) = added(m) −
  added(m − 1) are the licences first needed in month m (adds are never removed mid-term);
- an add is settled at month s (timing), priced at price year min(y(s), years − 1) by the pricing
  basis, keeps that price, and is billed from b = m (back-billing) or s: to the end of the term
  (co-term) or for 12 months.

Money stays exact; rounding happens only where results are shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_CEILING, Context, Decimal, localcontext
from enum import StrEnum

from creditops.core.numbers import ZERO

MONTHS_PER_YEAR = 12
# Wide enough that no money figure of a realistic scenario is ever rounded inside the model.
_CONTEXT = Context(prec=40)


class Pricing(StrEnum):
    LIST_NO_DISCOUNT = "list_no_discount"
    LIST_WITH_DISCOUNT = "list_with_discount"
    ORIGINAL_RATE = "original_rate"
    CAPPED_ESCALATION = "capped_escalation"


class Timing(StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    ANNUAL = "annual"
    AT_RENEWAL = "at_renewal"


class GrowthModel(StrEnum):
    LINEAR = "linear"
    COMPOUND = "compound"
    PATH = "path"


class Distribution(StrEnum):
    NORMAL = "normal"
    UNIFORM = "uniform"
    TRIANGULAR = "triangular"


class DrawPer(StrEnum):
    YEAR = "year"  # a fresh growth rate for each contract year
    TERM = "term"  # one growth rate for the whole term


@dataclass(frozen=True)
class Term:
    start: date
    years: int

    @property
    def months(self) -> int:
        return self.years * MONTHS_PER_YEAR


@dataclass(frozen=True)
class Uncertainty:
    """How uncertain the annual growth rate is, for simulations: ``normal`` (mean, sd, optionally
    clipped to minimum/maximum), ``uniform`` (low, high) or ``triangular`` (low, mode, high)."""

    distribution: Distribution
    mean: Decimal | None = None
    sd: Decimal | None = None
    low: Decimal | None = None
    high: Decimal | None = None
    mode: Decimal | None = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    per: DrawPer = DrawPer.YEAR


@dataclass(frozen=True)
class Growth:
    """Headcount over the term. ``annual`` holds one rate per contract year (linear, compound);
    ``path`` one headcount per month; ``initial`` is the headcount at term start (H0)."""

    model: GrowthModel
    annual: tuple[Decimal, ...] = ()
    path: tuple[Decimal, ...] = ()
    initial: Decimal | None = None
    uncertainty: Uncertainty | None = None


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    list_price: Decimal
    quantity: int
    discount: Decimal
    list_escalation: Decimal
    growth: Growth
    ramp: tuple[int, ...] = ()

    def contracted(self, year: int) -> int:
        return self.ramp[year] if self.ramp else self.quantity

    @property
    def initial_headcount(self) -> Decimal:
        initial = self.growth.initial
        return Decimal(self.quantity) if initial is None else initial

    @property
    def original_rate(self) -> Decimal:
        """Price per licence per month in the contract: list at term start less the discount."""
        return self.list_price * (1 - self.discount)

    def list_at(self, year: int) -> Decimal:
        """Then-current list price in contract year ``year`` (year ``years`` is the first one after
        the term: escalation continues at the anniversary)."""
        return self.list_price * (1 + self.list_escalation) ** year


@dataclass(frozen=True)
class Clause:
    id: str
    pricing: Pricing
    timing: Timing
    coterm: bool
    backbill: bool
    cap: Decimal | None = None
    name: str = ""


@dataclass(frozen=True)
class Scenario:
    currency: str
    term: Term
    products: tuple[Product, ...]
    clauses: tuple[Clause, ...]
    name: str = ""


# --- Schedules: when an add settles, at what price year, which months are billed -----------------


@dataclass(frozen=True)
class AddSchedule:
    """What happens to a licence first needed in month ``month`` under one clause."""

    month: int
    settlement_month: int
    price_year: int
    billing_start: int
    months_by_year: tuple[int, ...]  # billed months falling in each contract year
    months_beyond_term: int

    @property
    def billed_months(self) -> int:
        return sum(self.months_by_year) + self.months_beyond_term


def settlement_month(timing: Timing, month: int, years: int) -> int:
    if timing is Timing.MONTHLY:
        return month
    if timing is Timing.QUARTERLY:
        return 3 * (month // 3 + 1)
    if timing is Timing.ANNUAL:
        return MONTHS_PER_YEAR * (month // MONTHS_PER_YEAR + 1)
    return MONTHS_PER_YEAR * years


def add_schedule(clause: Clause, month: int, years: int) -> AddSchedule:
    term_months = MONTHS_PER_YEAR * years
    settled = settlement_month(clause.timing, month, years)
    start = month if clause.backbill else settled
    end = term_months if clause.coterm else start + MONTHS_PER_YEAR
    by_year = [0] * years
    beyond = 0
    for billed in range(start, end):
        if billed < term_months:
            by_year[billed // MONTHS_PER_YEAR] += 1
        else:
            beyond += 1
    return AddSchedule(
        month=month,
        settlement_month=settled,
        price_year=min(settled // MONTHS_PER_YEAR, years - 1),
        billing_start=start,
        months_by_year=tuple(by_year),
        months_beyond_term=beyond,
    )


def clause_schedule(clause: Clause, years: int) -> tuple[AddSchedule, ...]:
    return tuple(add_schedule(clause, month, years) for month in range(MONTHS_PER_YEAR * years))


def unit_price(product: Product, clause: Clause, price_year: int) -> Decimal:
    """Price per licence per month of an add priced in contract year ``price_year``."""
    with localcontext(_CONTEXT):
        if clause.pricing is Pricing.LIST_NO_DISCOUNT:
            return product.list_at(price_year)
        if clause.pricing is Pricing.LIST_WITH_DISCOUNT:
            return product.list_at(price_year) * (1 - product.discount)
        if clause.pricing is Pricing.ORIGINAL_RATE:
            return product.original_rate
        cap = clause.cap if clause.cap is not None else ZERO
        return product.original_rate * (1 + cap) ** price_year


def price_table(product: Product, clause: Clause, years: int) -> tuple[Decimal, ...]:
    """The add price for each price year 0 … years − 1."""
    return tuple(unit_price(product, clause, year) for year in range(years))


# --- Growth --------------------------------------------------------------------------------------


def headcount_path(product: Product, years: int) -> tuple[Decimal, ...]:
    """Headcount for each month of the term, exact where the arithmetic allows."""
    growth = product.growth
    if growth.model is GrowthModel.PATH:
        return growth.path
    initial = product.initial_headcount
    rates = growth.annual
    path: list[Decimal] = []
    with localcontext(_CONTEXT):
        if growth.model is GrowthModel.LINEAR:
            # H0·(1 + Σ_{k<y} g_k + g_y·j/12), written over 12 so whole months stay exact.
            grown = ZERO
            for year in range(years):
                for offset in range(MONTHS_PER_YEAR):
                    twelfths = 12 + 12 * grown + rates[year] * offset
                    path.append(initial * twelfths / MONTHS_PER_YEAR)
                grown += rates[year]
        else:
            factor = Decimal(1)
            for year in range(years):
                base = 1 + rates[year]
                for offset in range(MONTHS_PER_YEAR):
                    within = base ** (Decimal(offset) / MONTHS_PER_YEAR) if offset else Decimal(1)
                    path.append(initial * factor * within)
                factor *= base
    return tuple(path)


def ceil_licences(headcount: Decimal) -> int:
    return int(headcount.to_integral_value(rounding=ROUND_CEILING))


def needed_licences(product: Product, years: int) -> tuple[int, ...]:
    return tuple(ceil_licences(value) for value in headcount_path(product, years))


def contracted_by_month(product: Product, years: int) -> tuple[int, ...]:
    return tuple(product.contracted(month // MONTHS_PER_YEAR)
                 for month in range(MONTHS_PER_YEAR * years))


def cumulative_adds(needed: Sequence[int], contracted: Sequence[int]) -> tuple[int, ...]:
    """added(m) = max(added(m − 1), needed(m) − contracted(m)), added(−1) = 0."""
    added = 0
    result = []
    for need, have in zip(needed, contracted, strict=True):
        added = max(added, need - have)
        result.append(added)
    return tuple(result)


def first_needed(added: Sequence[int]) -> tuple[int, ...]:
    """Δ(m): licences first needed in month m."""
    return tuple(now - before for before, now in zip((0, *added[:-1]), added, strict=True))


# --- The model -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """True-up figures of one product, or summed over products, under one clause."""

    trueup_by_month: tuple[Decimal, ...]  # in-term billed months
    trueup_by_year: tuple[Decimal, ...]
    beyond_term: Decimal
    original_contract_value: Decimal
    list_value: Decimal  # every billed licence-month (contract and adds) at then-current list
    licences_added: int

    @property
    def trueup_total(self) -> Decimal:
        return sum(self.trueup_by_year, ZERO) + self.beyond_term

    @property
    def trueup_pct_of_original(self) -> Decimal | None:
        if self.original_contract_value == 0:
            return None
        with localcontext(_CONTEXT):
            return self.trueup_total / self.original_contract_value

    @property
    def effective_discount(self) -> Decimal | None:
        if self.list_value == 0:
            return None
        with localcontext(_CONTEXT):
            return 1 - (self.original_contract_value + self.trueup_total) / self.list_value


def sum_figures(parts: Sequence[Figures], years: int) -> Figures:
    return Figures(
        trueup_by_month=tuple(sum(column, ZERO) for column in zip(
            *(part.trueup_by_month for part in parts), strict=True))
        if parts else (ZERO,) * (MONTHS_PER_YEAR * years),
        trueup_by_year=tuple(sum(column, ZERO) for column in zip(
            *(part.trueup_by_year for part in parts), strict=True))
        if parts else (ZERO,) * years,
        beyond_term=sum((part.beyond_term for part in parts), ZERO),
        original_contract_value=sum((part.original_contract_value for part in parts), ZERO),
        list_value=sum((part.list_value for part in parts), ZERO),
        licences_added=sum(part.licences_added for part in parts),
    )


@dataclass(frozen=True)
class Add:
    """Licences first needed in one month, and what the clause makes of them."""

    product_id: str
    quantity: int
    schedule: AddSchedule
    unit_price: Decimal

    @property
    def cost(self) -> Decimal:
        return self.quantity * self.unit_price * self.schedule.billed_months


@dataclass(frozen=True)
class ProductResult:
    product: Product
    figures: Figures
    adds: tuple[Add, ...]
    needed: tuple[int, ...]


@dataclass(frozen=True)
class ClauseResult:
    clause: Clause
    figures: Figures
    products: tuple[ProductResult, ...]


@dataclass(frozen=True)
class ScenarioResult:
    scenario: Scenario
    clauses: tuple[ClauseResult, ...]
    best: ClauseResult = field(init=False)
    worst: ClauseResult = field(init=False)

    def __post_init__(self) -> None:
        ordered = sorted(self.clauses, key=lambda result: result.figures.trueup_total)
        object.__setattr__(self, "best", ordered[0])
        object.__setattr__(self, "worst", ordered[-1])

    @property
    def spread(self) -> Decimal:
        """What the worst clause costs over the best."""
        return self.worst.figures.trueup_total - self.best.figures.trueup_total


TIMING_ORDER = (Timing.MONTHLY, Timing.QUARTERLY, Timing.ANNUAL, Timing.AT_RENEWAL)


@dataclass(frozen=True)
class LaterSettlementCost:
    """Two clauses alike but for timing, where settling later costs more: under list-based
    pricing a settlement that moves into a dearer contract year raises the add's price."""

    earlier: ClauseResult
    later: ClauseResult

    @property
    def extra(self) -> Decimal:
        return self.later.figures.trueup_total - self.earlier.figures.trueup_total


def later_settlement_costs(result: ScenarioResult) -> list[LaterSettlementCost]:
    """Every pair of the scenario's clauses that differ only in timing where the later
    settlement costs more, so that reports show the case instead of hiding it."""
    found = []
    for earlier in result.clauses:
        for later in result.clauses:
            alike = replace(later.clause, id=earlier.clause.id, name=earlier.clause.name,
                            timing=earlier.clause.timing) == earlier.clause
            if (alike and TIMING_ORDER.index(later.clause.timing)
                    > TIMING_ORDER.index(earlier.clause.timing)
                    and later.figures.trueup_total > earlier.figures.trueup_total):
                found.append(LaterSettlementCost(earlier, later))
    return found


def original_contract_value(product: Product, years: int) -> Decimal:
    with localcontext(_CONTEXT):
        return sum((product.contracted(year) * MONTHS_PER_YEAR * product.original_rate
                    for year in range(years)), ZERO)


def model_product(product: Product, clause: Clause, years: int,
                  needed: Sequence[int] | None = None) -> ProductResult:
    """True-up of one product under one clause; ``needed`` overrides the growth model with an
    explicit licence path (one entry per month)."""
    term_months = MONTHS_PER_YEAR * years
    licences = tuple(needed) if needed is not None else needed_licences(product, years)
    added = cumulative_adds(licences, contracted_by_month(product, years))
    prices = price_table(product, clause, years)
    by_month = [ZERO] * term_months
    beyond = ZERO
    list_value = ZERO
    adds = []
    with localcontext(_CONTEXT):
        for year in range(years):
            list_value += product.contracted(year) * MONTHS_PER_YEAR * product.list_at(year)
        for month, quantity in enumerate(first_needed(added)):
            if quantity == 0:
                continue
            schedule = add_schedule(clause, month, years)
            price = prices[schedule.price_year]
            adds.append(Add(product.id, quantity, schedule, price))
            monthly = quantity * price
            stop = schedule.billing_start + schedule.billed_months
            for billed in range(schedule.billing_start, min(stop, term_months)):
                by_month[billed] += monthly
            for year, months in enumerate(schedule.months_by_year):
                list_value += quantity * months * product.list_at(year)
            beyond += monthly * schedule.months_beyond_term
            list_value += quantity * schedule.months_beyond_term * product.list_at(years)
        by_year = tuple(sum(by_month[year * MONTHS_PER_YEAR:(year + 1) * MONTHS_PER_YEAR], ZERO)
                        for year in range(years))
    figures = Figures(
        trueup_by_month=tuple(by_month),
        trueup_by_year=by_year,
        beyond_term=beyond,
        original_contract_value=original_contract_value(product, years),
        list_value=list_value,
        licences_added=added[-1] if added else 0,
    )
    return ProductResult(product, figures, tuple(adds), licences)


def model_clause(scenario: Scenario, clause: Clause) -> ClauseResult:
    years = scenario.term.years
    products = tuple(model_product(product, clause, years) for product in scenario.products)
    return ClauseResult(clause, sum_figures([p.figures for p in products], years), products)


def model_scenario(scenario: Scenario) -> ScenarioResult:
    """Every clause of the scenario applied to every product."""
    return ScenarioResult(scenario, tuple(model_clause(scenario, clause)
                                          for clause in scenario.clauses))


def subscription_cost(product: Product, quantity: int, years: int) -> Decimal:
    """What committing to a flat ``quantity`` for the whole term costs at the original rate."""
    with localcontext(_CONTEXT):
        return quantity * MONTHS_PER_YEAR * years * product.original_rate


def net_annual_licence(scenario: Scenario) -> Decimal:
    """Net licence per year in the final contract year: the base a renewal uplift applies to."""
    last = scenario.term.years - 1
    with localcontext(_CONTEXT):
        return sum((product.contracted(last) * MONTHS_PER_YEAR * product.original_rate
                    for product in scenario.products), ZERO)


def month_start(start: date, month: int) -> date:
    """The date ``month`` months after ``start`` (clamped to the month's last day)."""
    index = start.year * MONTHS_PER_YEAR + start.month - 1 + month
    year, month_index = divmod(index, MONTHS_PER_YEAR)
    day = start.day
    while True:
        try:
            return date(year, month_index + 1, day)
        except ValueError:
            day -= 1
