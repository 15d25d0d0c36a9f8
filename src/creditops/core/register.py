"""The credits register: per pool and grant, what was contracted, used and is left, and what the
baseline projects will lapse (PRODUCT.md §3).

The baseline is deliberately simple enough to check by hand: the pool keeps consuming, every day
from ``as_of`` on, what it consumed per day over the last W days, through the real ledger.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from creditops.core.balances import GrantBalance, PoolBalance
from creditops.core.ledger import Ledger
from creditops.core.model import (
    DEFAULT_RISK_THRESHOLD,
    DEFAULT_RUN_RATE_WINDOW_DAYS,
    Contract,
    Duration,
    Pool,
    Usage,
)
from creditops.core.numbers import ZERO, normalize, round_money, round_to

RUN_RATE_PLACES = 6
RATIO_PLACES = 6
OVERAGE_LOOKBACK_DAYS = 365

# A pool's status is the worst of its grants' in this order (first is worst).
STATUS_ORDER = ("at_risk", "on_track", "exhausted", "expired", "voided")


@dataclass(frozen=True)
class RegisterSettings:
    risk_threshold: Decimal = DEFAULT_RISK_THRESHOLD
    window_days: int = DEFAULT_RUN_RATE_WINDOW_DAYS


@dataclass(frozen=True)
class RegisterRow:
    """One line of the register: a grant, or a pool (then ``grants`` holds its grant lines)."""

    id: str
    contracted: Decimal
    consumed: Decimal
    remaining: Decimal
    expires: datetime | None
    run_rate: Decimal
    projected_unconsumed: Decimal
    projected_unconsumed_pct: Decimal
    projected_unconsumed_value: Decimal
    status: str
    lapsed: Decimal
    voided: Decimal
    owner: str | None
    purpose: str | None
    conditions: str | None


@dataclass(frozen=True)
class PoolRegister:
    pool: Pool
    row: RegisterRow
    grants: tuple[RegisterRow, ...]
    overage: Decimal
    overage_value: Decimal
    balance: PoolBalance


@dataclass(frozen=True)
class Register:
    as_of: datetime
    pools: tuple[PoolRegister, ...]

    def pool(self, pool_id: str) -> PoolRegister:
        for entry in self.pools:
            if entry.pool.id == pool_id:
                return entry
        raise KeyError(pool_id)


def window_days(pool: Pool, as_of: datetime, window: int) -> Decimal:
    """How many days of [as_of − window days, as_of) lie on or after the pool's first grant's
    effective instant (0 when the pool has no grant effective before ``as_of``)."""
    if not pool.grants:
        return ZERO
    start = as_of - timedelta(days=window)
    first = min(grant.effective for grant in pool.grants).astimezone(as_of.tzinfo)
    if first <= start:
        return Decimal(window)
    if first >= as_of:
        return ZERO
    span = as_of - first
    seconds = Decimal(span.days * 86400 + span.seconds) + Decimal(span.microseconds) / 10**6
    return seconds / 86400


def daily_run_rates(
    pool: Pool, usages: Iterable[Usage], as_of: datetime, window: int
) -> list[tuple[str | None, Decimal]]:
    """The baseline per usage type: its usage in the window ÷ the window's days, rounded half up
    to 6 decimals; negative net usage (reversals) counts as none."""
    days = window_days(pool, as_of, window)
    if days == ZERO:
        return []
    start = as_of - timedelta(days=window)
    totals: dict[str | None, Decimal] = {}
    for usage in usages:
        if start <= usage.at < as_of:
            totals[usage.usage_type] = totals.get(usage.usage_type, ZERO) + usage.quantity
    rates = [
        (usage_type, round_to(total / days, RUN_RATE_PLACES))
        for usage_type, total in sorted(totals.items(), key=lambda item: item[0] or "")
        if total > ZERO
    ]
    return [(usage_type, rate) for usage_type, rate in rates if rate > ZERO]


def _ratio(numerator: Decimal, denominator: Decimal) -> Decimal:
    if denominator == ZERO:
        return ZERO
    return normalize(round_to(numerator / denominator, RATIO_PLACES))


def _grant_status(
    grant_balance: GrantBalance, as_of: datetime, pct: Decimal, threshold: Decimal
) -> str:
    grant = grant_balance.grant
    if grant.voided_at is not None and grant.voided_at <= as_of:
        return "voided"
    if grant_balance.ended == "expired":
        return "expired"
    if grant_balance.remaining == ZERO:
        return "exhausted"
    if pct > threshold:
        return "at_risk"
    return "on_track"


def _overage_window_start(pool: Pool, as_of: datetime, contracts: Mapping[str, Contract]
                          ) -> datetime:
    contract = contracts.get(pool.contract) if pool.contract else None
    if contract is not None and contract.start <= as_of:
        year = Duration(months=12)
        count = 0
        while year.times(contract.start, count + 1) <= as_of:
            count += 1
        return year.times(contract.start, count)
    return as_of - timedelta(days=OVERAGE_LOOKBACK_DAYS)


def build_pool_register(
    pool: Pool,
    usages: Sequence[Usage],
    as_of: datetime,
    settings: RegisterSettings = RegisterSettings(),
    contracts: Mapping[str, Contract] | None = None,
) -> PoolRegister:
    threshold = pool.risk_threshold if pool.risk_threshold is not None else settings.risk_threshold
    ledger = Ledger(pool, usages)
    ledger.advance(as_of)
    balance = ledger.snapshot()
    overage_since = _overage_window_start(pool, as_of, contracts or {})
    recent_overage = sum(
        (quantity for at, quantity in ledger.overage_events if overage_since <= at), ZERO
    )
    window = ledger.usage_between(as_of - timedelta(days=settings.window_days), as_of)
    daily = daily_run_rates(pool, window, as_of, settings.window_days)
    run_rate = sum((rate for _, rate in daily), ZERO)
    ends = [g.period_end for g in balance.grants if g.active and g.period_end is not None]
    lapses = ledger.project_lapses(as_of, max(ends), daily) if ends else {}

    rows = []
    open_quantity = ZERO
    for grant_balance in balance.grants:
        grant = grant_balance.grant
        recurring = grant.recurrence is not None
        projected = lapses.get(grant.id, ZERO) if grant_balance.active else ZERO
        pct = _ratio(projected, grant.quantity)
        status = _grant_status(grant_balance, as_of, pct, threshold)
        if grant_balance.active:
            open_quantity += grant.quantity
        rows.append(
            RegisterRow(
                id=grant.id,
                contracted=normalize(grant.quantity if recurring else grant_balance.granted),
                consumed=normalize(
                    grant_balance.period_consumed if recurring else grant_balance.consumed
                ),
                remaining=normalize(grant_balance.remaining),
                expires=grant_balance.period_end if recurring else grant.expires,
                run_rate=normalize(run_rate),
                projected_unconsumed=normalize(projected),
                projected_unconsumed_pct=pct,
                projected_unconsumed_value=round_money(projected * pool.unit_value),
                status=status,
                lapsed=normalize(grant_balance.lapsed),
                voided=normalize(grant_balance.voided),
                owner=grant.owner or pool.owner,
                purpose=grant.purpose or pool.purpose,
                conditions=grant.conditions,
            )
        )

    projected_total = sum((row.projected_unconsumed for row in rows), ZERO)
    if recent_overage > ZERO:
        pool_status = "overage"
    elif rows:
        pool_status = min((row.status for row in rows), key=STATUS_ORDER.index)
    else:
        pool_status = "empty"
    with_balance = [row.expires for row in rows if row.remaining > ZERO and row.expires]
    pool_row = RegisterRow(
        id=pool.id,
        contracted=sum((row.contracted for row in rows), ZERO),
        consumed=sum((row.consumed for row in rows), ZERO),
        remaining=normalize(balance.balance),
        expires=min(with_balance) if with_balance else None,
        run_rate=normalize(run_rate),
        projected_unconsumed=projected_total,
        projected_unconsumed_pct=_ratio(projected_total, open_quantity),
        projected_unconsumed_value=round_money(projected_total * pool.unit_value),
        status=pool_status,
        lapsed=normalize(balance.lapsed),
        voided=normalize(balance.voided),
        owner=pool.owner,
        purpose=pool.purpose,
        conditions=pool.conditions,
    )
    return PoolRegister(
        pool=pool,
        row=pool_row,
        grants=tuple(rows),
        overage=normalize(balance.overage),
        overage_value=round_money(balance.overage * pool.overage_value_rate),
        balance=balance,
    )


def build_register(
    pools: Iterable[tuple[Pool, Sequence[Usage]]],
    as_of: datetime,
    settings: RegisterSettings = RegisterSettings(),
    contracts: Mapping[str, Contract] | None = None,
) -> Register:
    entries = [
        build_pool_register(pool, usages, as_of, settings, contracts) for pool, usages in pools
    ]
    return Register(as_of=as_of, pools=tuple(sorted(entries, key=lambda e: e.pool.id)))
