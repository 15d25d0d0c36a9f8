"""The facts a ledger is derived from: pools, grants and usage records.

Every instant is timezone-aware. A date given by a user becomes an instant in the adapters (the
workspace time zone decides where days start); the core only ever sees instants.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from enum import StrEnum

from creditops.core.numbers import ZERO

DEFAULT_PRIORITY = 10
DEFAULT_RISK_THRESHOLD = Decimal("0.20")
DEFAULT_RUN_RATE_WINDOW_DAYS = 90

KINDS = (
    "flex_credits",
    "data_cloud_credits",
    "marketing_cloud_messages",
    "success_plan_sessions",
    "admin_assist_hours",
    "development_credits",
    "success_funds",
    "training_credits",
    "partner_services",
    "add_on",
)


def day_start(day: date, zone: tzinfo) -> datetime:
    """The instant a calendar day starts in the workspace time zone."""
    return datetime.combine(day, time(0), tzinfo=zone)


def day_end(day: date, zone: tzinfo) -> datetime:
    """The exclusive end of a calendar day: the start of the next day."""
    return day_start(day + timedelta(days=1), zone)


class OveragePolicy(StrEnum):
    """What happens to usage no active grant could cover."""

    BILL = "bill"  # billed in arrears at the overage rate; later grants do not pay it back
    CARRY = "carry"  # a debt the next grant to become active pays off first


@dataclass(frozen=True)
class Duration:
    """A calendar duration: whole years, months and days (ISO 8601 ``P1Y``, ``P3M``, ``P1D``)."""

    months: int = 0
    days: int = 0

    def __post_init__(self) -> None:
        if self.months < 0 or self.days < 0 or (self.months == 0 and self.days == 0):
            raise ValueError("a recurrence period must be positive, e.g. P1M, P3M, P1Y or P7D")

    @classmethod
    def parse(cls, text: str) -> Duration:
        match = re.fullmatch(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?", text.strip().upper())
        if not match or not any(match.groups()):
            raise ValueError(
                f"{text!r} is not a period; expected an ISO 8601 duration such as P1M, P3M, P1Y"
            )
        years, months, weeks, days = (int(group or 0) for group in match.groups())
        return cls(months=12 * years + months, days=7 * weeks + days)

    def times(self, start: datetime, count: int) -> datetime:
        """``start`` plus ``count`` times this duration, counted from ``start`` so that month ends
        do not drift (31 Jan + 1 month = 28/29 Feb, + 2 months = 31 Mar). Wall-clock arithmetic in
        the instant's own time zone, so a local midnight stays a local midnight."""
        moved = start
        if self.months:
            month_index = start.month - 1 + self.months * count
            year = start.year + month_index // 12
            month = month_index % 12 + 1
            day = min(start.day, calendar.monthrange(year, month)[1])
            moved = moved.replace(year=year, month=month, day=day)
        if self.days:
            moved = moved + timedelta(days=self.days * count)
        return moved

    def first_after(self, anchor: datetime, after: datetime) -> datetime:
        """The first instant ``anchor + k·self`` (k any integer) strictly after ``after``."""
        if self.months:
            count = ((after.year - anchor.year) * 12 + after.month - anchor.month) // self.months
        else:
            count = (after - anchor).days // self.days
        value = self.times(anchor, count)
        while value > after:
            count -= 1
            value = self.times(anchor, count)
        while value <= after:
            count += 1
            value = self.times(anchor, count)
        return value

    def __str__(self) -> str:
        years, months = divmod(self.months, 12)
        text = "P" + (f"{years}Y" if years else "") + (f"{months}M" if months else "")
        return text + (f"{self.days}D" if self.days else "")


@dataclass(frozen=True)
class Recurrence:
    """The grant's balance is reset to its full quantity at ``anchor + k·every``."""

    every: Duration
    anchor: datetime


@dataclass(frozen=True)
class Rollover:
    """Carry-forward terms: at expiry min(remaining × fraction, max) units become a new grant."""

    fraction: Decimal = Decimal(1)
    max: Decimal | None = None
    expires: datetime | None = None


@dataclass(frozen=True)
class Grant:
    id: str
    quantity: Decimal
    effective: datetime
    expires: datetime | None = None
    priority: int = DEFAULT_PRIORITY
    applies_to: frozenset[str] | None = None
    recurrence: Recurrence | None = None
    rollover: Rollover | None = None
    voided_at: datetime | None = None
    owner: str | None = None
    purpose: str | None = None
    conditions: str | None = None

    def problems(self) -> list[str]:
        """What makes this grant impossible, in words (empty when it is sound)."""
        found = []
        if self.quantity < ZERO:
            found.append(f"grant {self.id}: quantity {self.quantity} is negative")
        if self.expires is not None and self.expires <= self.effective:
            found.append(f"grant {self.id}: expiry is not after its effective instant")
        if self.rollover is not None:
            if self.expires is None:
                found.append(f"grant {self.id}: carry-forward terms need an expiry")
            elif self.rollover.expires is not None and self.rollover.expires <= self.expires:
                found.append(f"grant {self.id}: the carried grant must expire after the grant")
            if not ZERO <= self.rollover.fraction <= 1:
                found.append(f"grant {self.id}: carry-forward fraction must be between 0 and 1")
            if self.rollover.max is not None and self.rollover.max < ZERO:
                found.append(f"grant {self.id}: carry-forward max is negative")
        if self.applies_to is not None and not self.applies_to:
            found.append(f"grant {self.id}: applies_to is empty (omit it to admit every usage)")
        return found


@dataclass(frozen=True)
class Usage:
    """A consumption record. A negative quantity reverses (part of) the usage whose key is
    ``reverses``; its units go back where the original took them from."""

    key: str
    at: datetime
    quantity: Decimal
    usage_type: str | None = None
    reverses: str | None = None


@dataclass(frozen=True)
class Pool:
    id: str
    kind: str
    unit: str
    unit_value: Decimal
    grants: tuple[Grant, ...] = ()
    name: str | None = None
    overage_policy: OveragePolicy = OveragePolicy.BILL
    overage_rate: Decimal | None = None
    risk_threshold: Decimal | None = None
    contract: str | None = None
    owner: str | None = None
    purpose: str | None = None
    conditions: str | None = None
    attributes: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def overage_value_rate(self) -> Decimal:
        return self.unit_value if self.overage_rate is None else self.overage_rate


@dataclass(frozen=True)
class Contract:
    id: str
    name: str
    start: datetime
    end: datetime  # exclusive instant: the start of the day after the last contract day
    currency: str = "USD"
    net_annual_value: Decimal | None = None
