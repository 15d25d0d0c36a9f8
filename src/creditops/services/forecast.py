"""The forecast and its back-test: simulated usage paths of each pool through its ledger, and how
accurate such forecasts were on the workspace's own history."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from creditops.adapters.simulation_forecast import ForecastInput, simulate_pool, simulate_pools
from creditops.adapters.storage.repository import (
    load_pools,
    load_usage,
    read_settings,
    workspace_zone,
)
from creditops.core.forecast import (
    BacktestCase,
    ErrorSummary,
    PoolForecast,
    summarise_errors,
    summarise_pool,
)
from creditops.core.ledger import Ledger
from creditops.core.model import Pool, Usage
from creditops.core.numbers import ZERO
from creditops.core.plans import Milestone
from creditops.core.register import (
    PoolRegister,
    build_pool_register,
    daily_run_rates,
)
from creditops.services.errors import NotFoundError
from creditops.services.milestones import load_milestones
from creditops.services.workspace import Workspace, load_facts, register_settings, resolve_as_of

DEFAULT_PATHS = 5000
DEFAULT_SEED = 0
DEFAULT_HISTORY_DAYS = 182
DEFAULT_HORIZON_DAYS = 365
BACKTEST_LEADS = (90, 60, 30)
BACKTEST_PATHS = 2000
BACKTEST_MIN_HISTORY_DAYS = 28
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class ForecastOptions:
    paths: int = DEFAULT_PATHS
    seed: int = DEFAULT_SEED
    history_days: int = DEFAULT_HISTORY_DAYS
    horizon_days: int | None = None  # default: until the last active grant period ends
    use_plan: bool = True
    trend: bool = True

    def __post_init__(self) -> None:
        if self.paths < 1:
            raise ValueError("paths must be at least 1")
        if self.history_days < 0:
            raise ValueError("history days must not be negative")
        if self.horizon_days is not None and self.horizon_days < 1:
            raise ValueError("the horizon must be at least one day")


@dataclass(frozen=True)
class PoolOutlook:
    """The forecast of one pool beside the register's baseline at the same instant."""

    forecast: PoolForecast
    baseline: PoolRegister


def horizon_days(balance_ends: Sequence[datetime], as_of: datetime, cap: int | None) -> int:
    """Days from ``as_of`` until the last of ``balance_ends`` (at most a year unless ``cap``
    says otherwise), or ``cap``/a year when nothing ends."""
    limit = cap if cap is not None else DEFAULT_HORIZON_DAYS
    if cap is not None or not balance_ends:
        return limit
    latest = max(balance_ends)
    needed = math.ceil((latest - as_of) / _ONE_DAY)
    while as_of + _ONE_DAY * needed < latest:
        needed += 1
    return max(1, min(needed, limit))


def _milestone_usage(milestones: Sequence[Milestone]) -> list[tuple[datetime, str | None,
                                                                    Decimal]]:
    return [(m.at, m.usage_type, m.quantity) for m in milestones]


def forecast_input(pool: Pool, usages: Sequence[Usage], as_of: datetime,
                   baseline: PoolRegister, milestones: Sequence[Milestone], threshold: Decimal,
                   options: ForecastOptions) -> ForecastInput:
    ends = [g.period_end for g in baseline.balance.grants if g.active and g.period_end]
    return ForecastInput(pool=pool, balance=baseline.balance, usages=usages,
                         milestones=_milestone_usage(milestones) if options.use_plan else [],
                         risk_threshold=threshold,
                         days=horizon_days(ends, as_of, options.horizon_days),
                         history_days=options.history_days)


def forecast_pool(pool: Pool, usages: Sequence[Usage], as_of: datetime, baseline: PoolRegister,
                  milestones: Sequence[Milestone], threshold: Decimal,
                  options: ForecastOptions) -> PoolForecast:
    spec = forecast_input(pool, usages, as_of, baseline, milestones, threshold, options)
    simulated = simulate_pool(spec, paths=options.paths, seed=options.seed, trend=options.trend)
    return summarise_pool(simulated, as_of, pool.unit_value, pool.overage_value_rate, threshold,
                          options.seed)


def forecast_workspace(workspace: Workspace, pool_id: str | None = None,
                       as_of_text: str | None = None, options: ForecastOptions | None = None,
                       *, now: datetime | None = None) -> list[PoolOutlook]:
    options = options or ForecastOptions()
    with workspace.session() as session:
        facts = load_facts(session, as_of_text, pool_id=pool_id, now=now)
        milestones = load_milestones(session, facts.zone)
    as_of, settings, pools, usage, contracts = (facts.as_of, facts.settings, facts.pools,
                                                facts.usage, facts.contracts)
    baselines, specs = [], []
    for pool in pools:
        usages = usage.get(pool.id, [])
        baseline = build_pool_register(pool, usages, as_of, settings, contracts)
        threshold = pool.risk_threshold if pool.risk_threshold is not None \
            else settings.risk_threshold
        mine = [m for m in milestones if m.pool_id == pool.id]
        baselines.append(baseline)
        specs.append(forecast_input(pool, usages, as_of, baseline, mine, threshold, options))
    simulated = simulate_pools(specs, paths=options.paths, seed=options.seed,
                               trend=options.trend)
    return [PoolOutlook(summarise_pool(result, as_of, spec.pool.unit_value,
                                       spec.pool.overage_value_rate, spec.risk_threshold,
                                       options.seed), baseline)
            for result, spec, baseline in zip(simulated, specs, baselines, strict=True)]


# -- back-test --------------------------------------------------------------------------------

@dataclass(frozen=True)
class BacktestReport:
    as_of: datetime
    leads: tuple[int, ...]
    cases: tuple[BacktestCase, ...]
    overall: ErrorSummary
    by_pool: dict[str, ErrorSummary]
    by_lead: dict[int, ErrorSummary]


def _baseline_lapse(pool: Pool, usages: Sequence[Usage], start: datetime, end: datetime,
                    grant_id: str, window: int) -> Decimal:
    """What the register's run-rate projection made at ``start`` says the grant period ending
    at ``end`` will lose."""
    ledger = Ledger(pool, usages)
    ledger.advance(start)
    daily = daily_run_rates(pool, ledger.usage_between(start - _ONE_DAY * window, start), start,
                            window)
    seen = len(ledger.lapses)
    ledger.project(start, end, daily)
    for tranche, quantity in ledger.lapses[seen:]:
        if tranche.grant.id == grant_id and tranche.end == end:
            return quantity
    return ZERO


def backtest_pool(pool: Pool, usages: Sequence[Usage], as_of: datetime, threshold: Decimal,
                  window: int, leads: Sequence[int], options: ForecastOptions
                  ) -> list[BacktestCase]:
    """Every grant period that lapsed before ``as_of``, forecast ``lead`` days before its end
    from the history known then (no plan: only what the history says), against what it
    really lost."""
    if not pool.grants:
        return []
    ledger = Ledger(pool, usages)
    ledger.advance(as_of)
    first = min(g.effective for g in pool.grants)
    cases = []
    for tranche, actual in list(ledger.lapses):
        end = tranche.end
        assert end is not None
        for lead in leads:
            start = end - _ONE_DAY * lead
            if start < first + _ONE_DAY * BACKTEST_MIN_HISTORY_DAYS:
                continue
            known = [u for u in usages if u.at < start]
            snapshot = Ledger(pool, known)
            snapshot.advance(start)
            balance = snapshot.snapshot()
            days = horizon_days([end], start, None)
            spec = ForecastInput(pool=pool, balance=balance, usages=known, milestones=[],
                                 risk_threshold=threshold, days=days,
                                 history_days=options.history_days)
            simulated = simulate_pool(spec, paths=options.paths, seed=options.seed,
                                      trend=options.trend)
            match = next((t for t in simulated.tranches
                          if t.grant_id == tranche.grant.id and t.end == end), None)
            if match is None or match.lapse is None:
                continue
            cases.append(BacktestCase(
                pool_id=pool.id, grant_id=tranche.grant.id, period_end=end, lead_days=lead,
                quantity=tranche.quantity, predicted=match.lapse,
                probability_over=Decimal(match.over_threshold) / Decimal(match.paths),
                actual=actual, baseline=_baseline_lapse(pool, known, start, end,
                                                        tranche.grant.id, window),
                risk_threshold=threshold))
    return cases


def backtest_workspace(workspace: Workspace, as_of_text: str | None = None, *,
                       pool_id: str | None = None, leads: Sequence[int] = BACKTEST_LEADS,
                       options: ForecastOptions | None = None, now: datetime | None = None
                       ) -> BacktestReport:
    options = options or ForecastOptions(paths=BACKTEST_PATHS)
    with workspace.session() as session:
        zone = workspace_zone(session)
        as_of = resolve_as_of(as_of_text, zone, now)
        settings = register_settings(read_settings(session))
        pools = load_pools(session, [pool_id] if pool_id else None)
        if pool_id and not pools:
            raise NotFoundError(f"no pool {pool_id!r}")
        usage = load_usage(session, [p.id for p in pools], before=as_of)
    cases: list[BacktestCase] = []
    for pool in pools:
        threshold = pool.risk_threshold if pool.risk_threshold is not None \
            else settings.risk_threshold
        cases += backtest_pool(pool, usage.get(pool.id, []), as_of, threshold,
                               settings.window_days, leads, options)
    by_pool = {pid: summarise_errors([c for c in cases if c.pool_id == pid])
               for pid in sorted({c.pool_id for c in cases})}
    by_lead = {lead: summarise_errors([c for c in cases if c.lead_days == lead])
               for lead in leads}
    return BacktestReport(as_of, tuple(leads), tuple(cases), summarise_errors(cases), by_pool,
                          by_lead)
