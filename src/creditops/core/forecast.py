"""The probabilistic forecast in exact decimals: what a simulation of many usage paths says
about each grant (P10/P50/P90 of consumption and lapse, run-out dates, the probability that
the lapse exceeds the risk threshold), and how accurate such forecasts were on the
workspace's own history (PRODUCT.md §4).

The simulation itself (floats, NumPy) lives outside the core; it hands over its quantiles and
counts as decimals, and everything shown to a user is rounded here, explicitly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from creditops.core.numbers import ZERO, normalize, round_money, round_to

QUANTITY_PLACES = 2
PCT_PLACES = 4
PROBABILITY_PLACES = 3
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Band:
    """P10, P50 and P90 of a quantity over the simulated paths."""

    p10: Decimal
    p50: Decimal
    p90: Decimal

    def rounded(self, places: int) -> Band:
        return Band(*(normalize(round_to(v, places)) for v in (self.p10, self.p50, self.p90)))

    def money(self, unit_value: Decimal) -> Band:
        return Band(*(round_money(v * unit_value) for v in (self.p10, self.p50, self.p90)))


DayQuantiles = tuple[int | None, int | None, int | None]


@dataclass(frozen=True)
class DateBand:
    """When something happens on the 10th, 50th and 90th percentile of paths (the earliest
    first); none where it does not happen within the horizon on that share of paths."""

    p10: datetime | None
    p50: datetime | None
    p90: datetime | None


@dataclass(frozen=True)
class SimulatedTranche:
    """One stretch of a grant's life (the grant, one period of a recurring grant, or a
    carried-forward remainder) as the simulation saw it: quantiles over paths, exact decimals.
    ``lapse`` is none when the stretch does not end by lapsing within the horizon."""

    grant_id: str
    start: datetime
    end: datetime | None
    end_reason: str | None  # "expired", "renewed", "voided" or none (beyond the horizon)
    quantity: Band
    remaining_at_start: Decimal | None  # its balance at as_of when already active
    consumed: Band
    lapse: Band | None
    lapse_pct: Band | None
    over_threshold: int  # paths whose lapse exceeds the risk threshold × quantity
    ran_dry: int  # paths on which its balance reached zero before its end
    run_out_day: DayQuantiles  # day index (0 = the day starting at as_of) it ran dry
    paths: int


@dataclass(frozen=True)
class SimulatedPool:
    pool_id: str
    paths: int
    days: int
    consumption: Band  # all usage over the horizon, covered or not
    overage: Band
    run_out_day: DayQuantiles  # first day some usage found no grant
    ran_out: int
    tranches: tuple[SimulatedTranche, ...]
    history_days: int
    trend_per_week: Decimal | None  # relative change of weekly usage per week, when kept


@dataclass(frozen=True)
class GrantForecast:
    grant_id: str
    period_start: datetime
    period_end: datetime | None
    end_reason: str | None
    quantity: Band
    remaining: Decimal | None
    consumption: Band
    lapse: Band | None
    lapse_pct: Band | None
    lapse_value: Band | None
    probability_over_threshold: Decimal | None
    run_out: DateBand
    run_out_probability: Decimal
    status: str  # "at_risk", "on_track", "open" (no lapse in the horizon) or "voided"


@dataclass(frozen=True)
class PoolForecast:
    pool_id: str
    as_of: datetime
    horizon_end: datetime
    paths: int
    seed: int
    risk_threshold: Decimal
    consumption: Band
    overage: Band
    overage_value: Band
    run_out: DateBand
    run_out_probability: Decimal
    grants: tuple[GrantForecast, ...]
    history_days: int
    trend_per_week: Decimal | None


def probability(count: int, total: int) -> Decimal:
    """count ÷ total as a probability rounded half up to 3 places (0 for no paths)."""
    if total <= 0:
        return ZERO
    return normalize(round_to(Decimal(count) / Decimal(total), PROBABILITY_PLACES))


def day_instant(as_of: datetime, day: int | None) -> datetime | None:
    """The instant simulated day ``day`` starts (wall-clock days from ``as_of``)."""
    return None if day is None else as_of + _ONE_DAY * day


def date_band(as_of: datetime, days: DayQuantiles) -> DateBand:
    return DateBand(*(day_instant(as_of, day) for day in days))


def _grant_status(tranche: SimulatedTranche, chance: Decimal | None) -> str:
    if tranche.end_reason == "voided":
        return "voided"
    if chance is None:
        return "open"
    return "at_risk" if chance >= Decimal("0.5") else "on_track"


def summarise_tranche(tranche: SimulatedTranche, as_of: datetime, unit_value: Decimal
                      ) -> GrantForecast:
    lapses = tranche.lapse is not None and tranche.end_reason != "voided"
    chance = probability(tranche.over_threshold, tranche.paths) if lapses else None
    lapse = tranche.lapse.rounded(QUANTITY_PLACES) if lapses and tranche.lapse else None
    pct = tranche.lapse_pct.rounded(PCT_PLACES) if lapses and tranche.lapse_pct else None
    return GrantForecast(
        grant_id=tranche.grant_id,
        period_start=tranche.start,
        period_end=tranche.end,
        end_reason=tranche.end_reason,
        quantity=tranche.quantity.rounded(QUANTITY_PLACES),
        remaining=None if tranche.remaining_at_start is None
        else normalize(tranche.remaining_at_start),
        consumption=tranche.consumed.rounded(QUANTITY_PLACES),
        lapse=lapse,
        lapse_pct=pct,
        lapse_value=None if lapse is None or tranche.lapse is None
        else tranche.lapse.money(unit_value),
        probability_over_threshold=chance,
        run_out=date_band(as_of, tranche.run_out_day),
        run_out_probability=probability(tranche.ran_dry, tranche.paths),
        status=_grant_status(tranche, chance),
    )


def summarise_pool(simulated: SimulatedPool, as_of: datetime, unit_value: Decimal,
                   overage_rate: Decimal, risk_threshold: Decimal, seed: int) -> PoolForecast:
    """The forecast of one pool, rounded for people: quantities to 2 places, shares to 4,
    probabilities to 3, money to cents."""
    return PoolForecast(
        pool_id=simulated.pool_id,
        as_of=as_of,
        horizon_end=as_of + _ONE_DAY * simulated.days,
        paths=simulated.paths,
        seed=seed,
        risk_threshold=risk_threshold,
        consumption=simulated.consumption.rounded(QUANTITY_PLACES),
        overage=simulated.overage.rounded(QUANTITY_PLACES),
        overage_value=simulated.overage.money(overage_rate),
        run_out=date_band(as_of, simulated.run_out_day),
        run_out_probability=probability(simulated.ran_out, simulated.paths),
        grants=tuple(summarise_tranche(t, as_of, unit_value) for t in simulated.tranches),
        history_days=simulated.history_days,
        trend_per_week=None if simulated.trend_per_week is None
        else normalize(round_to(simulated.trend_per_week, PCT_PLACES)),
    )


# -- back-test ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class BacktestCase:
    """The lapse of one grant period as forecast ``lead_days`` before it ended, and as it
    really was."""

    pool_id: str
    grant_id: str
    period_end: datetime
    lead_days: int
    quantity: Decimal
    predicted: Band
    probability_over: Decimal
    actual: Decimal
    baseline: Decimal  # the register's run-rate projection at the same instant
    risk_threshold: Decimal

    @property
    def actual_over(self) -> bool:
        return self.actual > self.risk_threshold * self.quantity


@dataclass(frozen=True)
class ErrorSummary:
    """How far the forecast was from what happened. Errors are in shares of the grant's
    quantity (0.05 = 5 percentage points of the grant), so grants of any size compare."""

    cases: int
    mae_pct: Decimal | None  # mean |P50 − actual| ÷ quantity
    bias_pct: Decimal | None  # mean (P50 − actual) ÷ quantity: > 0 over-forecasts the lapse
    mape: Decimal | None  # mean |P50 − actual| ÷ actual, over the cases with a lapse
    coverage: Decimal | None  # share of actual lapses inside [P10, P90]
    brier: Decimal | None  # mean (P(lapse > threshold) − outcome)², 0 is perfect
    baseline_mae_pct: Decimal | None  # the run-rate baseline's mean error, for comparison


def _mean(values: Sequence[Decimal]) -> Decimal | None:
    if not values:
        return None
    return normalize(round_to(sum(values, ZERO) / len(values), PCT_PLACES))


def summarise_errors(cases: Sequence[BacktestCase]) -> ErrorSummary:
    sized = [c for c in cases if c.quantity > ZERO]
    lapsed = [c for c in sized if c.actual > ZERO]
    return ErrorSummary(
        cases=len(cases),
        mae_pct=_mean([abs(c.predicted.p50 - c.actual) / c.quantity for c in sized]),
        bias_pct=_mean([(c.predicted.p50 - c.actual) / c.quantity for c in sized]),
        mape=_mean([abs(c.predicted.p50 - c.actual) / c.actual for c in lapsed]),
        coverage=_mean([Decimal(c.predicted.p10 <= c.actual <= c.predicted.p90)
                        for c in cases]),
        brier=_mean([(c.probability_over - Decimal(c.actual_over)) ** 2 for c in cases]),
        baseline_mae_pct=_mean([abs(c.baseline - c.actual) / c.quantity for c in sized]),
    )
