"""The balances a ledger reports: per grant (:class:`GrantBalance`) and per pool
(:class:`PoolBalance`) at one instant, and the running totals per grant they are read from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from creditops.core.model import Grant, Pool
from creditops.core.numbers import ZERO


@dataclass
class GrantTotals:
    """What happened to one grant (all its periods) up to the instant of the snapshot; what it
    consumed is the sum over its tranches."""

    granted: Decimal = ZERO
    lapsed: Decimal = ZERO
    voided: Decimal = ZERO
    carried_forward: Decimal = ZERO


@dataclass(frozen=True)
class GrantBalance:
    grant: Grant
    remaining: Decimal
    granted: Decimal
    consumed: Decimal
    lapsed: Decimal
    voided: Decimal
    carried_forward: Decimal
    period_start: datetime
    period_end: datetime | None  # when the current balance lapses (next recurrence or expiry)
    period_consumed: Decimal
    active: bool
    ended: str | None  # "expired" or "voided" once the grant's life is over


@dataclass(frozen=True)
class PoolBalance:
    pool: Pool
    as_of: datetime
    balance: Decimal
    consumed: Decimal
    overage: Decimal  # bill: total to date; carry: outstanding debt
    overage_total: Decimal  # every unit that found no grant, whatever the policy
    lapsed: Decimal
    voided: Decimal
    usage_total: Decimal
    grants: tuple[GrantBalance, ...]

    def grant(self, grant_id: str) -> GrantBalance:
        for grant_balance in self.grants:
            if grant_balance.grant.id == grant_id:
                return grant_balance
        raise KeyError(grant_id)
