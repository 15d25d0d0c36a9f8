"""The tranches a ledger replays: one stretch of a grant's life with its own balance, when it
ends and why (expiry, void, next recurrence), and the order in which tranches burn."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal

from creditops.core.model import Grant
from creditops.core.numbers import ZERO

_NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass(eq=False)
class Tranche:
    """One stretch of a grant's life with its own balance: the grant itself, one period of a
    recurring grant, or a carried-forward remainder."""

    grant: Grant
    period: int
    start: datetime
    end: datetime | None
    end_reason: str | None  # "expired", "voided", "renewed" (next recurrence) or None
    quantity: Decimal
    burn_key: tuple[object, ...] = ()
    consumed: Decimal = ZERO
    ended: str | None = None
    balance: Decimal = field(init=False)

    def __post_init__(self) -> None:
        self.balance = self.quantity

    def admits(self, usage_type: str | None) -> bool:
        restriction = self.grant.applies_to
        return restriction is None or usage_type in restriction


def rollover_id(grant_id: str) -> str:
    return f"{grant_id}~rollover"


def burn_key(grant: Grant, end: datetime | None) -> tuple[object, ...]:
    # Burn order (PRODUCT.md §2): priority, restricted before unrestricted, sooner expiry (none
    # last), earlier effective, grant id.
    return (
        grant.priority,
        0 if grant.applies_to is not None else 1,
        _NEVER if end is None else end,
        grant.effective,
        grant.id,
    )


def first_tranche(grant: Grant) -> Tranche:
    end, reason = period_end(grant, grant.effective)
    return Tranche(grant, 0, grant.effective, end, reason, grant.quantity)


def natural_end(grant: Grant, start: datetime) -> datetime | None:
    """When a tranche that starts at ``start`` would end were the grant never voided."""
    return period_end(replace(grant, voided_at=None), start)[0]


def period_end(grant: Grant, start: datetime) -> tuple[datetime | None, str | None]:
    """When a tranche that starts at ``start`` ends, and why."""
    candidates: list[tuple[datetime, str]] = []
    if grant.voided_at is not None:
        candidates.append((max(grant.voided_at, start), "voided"))
    if grant.expires is not None:
        candidates.append((grant.expires, "expired"))
    if grant.recurrence is not None:
        following = _next_recurrence(grant, start)
        candidates.append((following, "renewed"))
    if not candidates:
        return None, None
    # At equal instants a void wins over an expiry, and both over a renewal.
    rank = {"voided": 0, "expired": 1, "renewed": 2}
    end, reason = min(candidates, key=lambda c: (c[0], rank[c[1]]))
    return end, reason


def _next_recurrence(grant: Grant, after: datetime) -> datetime:
    """The first recurrence instant strictly after ``after``."""
    assert grant.recurrence is not None
    return grant.recurrence.every.first_after(grant.recurrence.anchor, after)
