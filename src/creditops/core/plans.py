"""Utilisation plans: milestones, plan coverage, front-loading, plan-vs-actual and the
acceleration plan of an at-risk grant (PRODUCT.md §4).

A milestone is planned use of a quantity of a pool's units on a day. The plan is read as "at
least this much by then": plan-vs-actual compares the cumulative planned quantity of the
milestones due so far with what the pool really consumed since the plan started.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from creditops.core.balances import GrantBalance
from creditops.core.model import Grant, Pool, Usage
from creditops.core.numbers import ZERO, normalize, round_to

RATIO_PLACES = 6
RATE_PLACES = 6
DEFAULT_BUFFER_DAYS = 30
_ONE_DAY = timedelta(days=1)
_WEEK = timedelta(days=7)
_NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Milestone:
    """Planned use: ``quantity`` units on the day that starts at ``at`` and ends at ``due``."""

    id: str
    pool_id: str
    at: datetime
    due: datetime
    quantity: Decimal
    description: str | None = None
    owner: str | None = None
    project: str | None = None
    usage_type: str | None = None


def ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    """numerator ÷ denominator rounded half up to 6 places; none when the denominator is 0."""
    if denominator == ZERO:
        return None
    return normalize(round_to(numerator / denominator, RATIO_PLACES))


def days_between(start: datetime, end: datetime) -> Decimal:
    """The exact length of [start, end) in days (negative when end is before start)."""
    span = end - start
    seconds = Decimal(span.days * 86400 + span.seconds) + Decimal(span.microseconds) / 10**6
    return seconds / 86400


# -- where a milestone falls in a grant's life -----------------------------------------------

def period_bounds(grant: Grant, at: datetime) -> tuple[datetime, datetime | None]:
    """The stretch of the grant's life that holds ``at``: for a recurring grant the period
    between two recurrences (cut by the expiry), otherwise [effective, expiry)."""
    recurrence = grant.recurrence
    if recurrence is None:
        return grant.effective, grant.expires
    every, anchor = recurrence.every, recurrence.anchor
    if every.months:
        count = ((at.year - anchor.year) * 12 + at.month - anchor.month) // every.months
    else:
        count = (at - anchor).days // every.days
    # The estimate is never too low (a month count rounded down, or whole days): step back.
    while every.times(anchor, count) > at:
        count -= 1
    start = max(grant.effective, every.times(anchor, count))
    following = every.times(anchor, count + 1)
    end = following if grant.expires is None else min(following, grant.expires)
    return start, end


def _is_active(grant: Grant, at: datetime) -> bool:
    if grant.effective > at:
        return False
    if grant.voided_at is not None and grant.voided_at <= at:
        return False
    return grant.expires is None or at < grant.expires


def _admits(grant: Grant, usage_type: str | None) -> bool:
    return grant.applies_to is None or usage_type in grant.applies_to


def grant_for(pool: Pool, milestone: Milestone) -> Grant | None:
    """The grant a milestone's use would draw on first: among the grants active that day and
    admitting its usage type, the first in burn order."""
    candidates = [
        grant for grant in pool.grants
        if _is_active(grant, milestone.at) and _admits(grant, milestone.usage_type)
    ]
    if not candidates:
        return None

    def burn_key(grant: Grant) -> tuple[object, ...]:
        end = period_bounds(grant, milestone.at)[1]
        return (grant.priority, 0 if grant.applies_to is not None else 1,
                _NEVER if end is None else end, grant.effective, grant.id)

    return min(candidates, key=burn_key)


# -- coverage and front-loading ------------------------------------------------------------

def plan_coverage(milestones: Iterable[Milestone], as_of: datetime, remaining: Decimal
                  ) -> Decimal | None:
    """Planned use still ahead (milestones on or after ``as_of``'s day) ÷ the remaining
    balance; none when nothing remains."""
    ahead = sum((m.quantity for m in milestones if m.due > as_of), ZERO)
    return ratio(ahead, remaining)


def front_loading(pool: Pool, milestones: Iterable[Milestone]) -> Decimal | None:
    """Share of the planned quantity scheduled in the first half of the life (or period) of
    the grant each milestone draws on; milestones that fall on no grant with an end are left
    out. None when no milestone can be placed."""
    early = placed = ZERO
    for milestone in milestones:
        grant = grant_for(pool, milestone)
        if grant is None:
            continue
        start, end = period_bounds(grant, milestone.at)
        if end is None:
            continue
        placed += milestone.quantity
        if milestone.at < start + (end - start) / 2:
            early += milestone.quantity
    return ratio(early, placed)


# -- plan versus actual ----------------------------------------------------------------------

@dataclass(frozen=True)
class MilestoneProgress:
    milestone: Milestone
    planned_cumulative: Decimal
    actual_cumulative: Decimal | None  # none while the milestone is not due


@dataclass(frozen=True)
class PlanProgress:
    pool_id: str
    as_of: datetime
    start: datetime
    planned_to_date: Decimal
    actual_to_date: Decimal
    behind: Decimal  # planned − actual when positive, else 0
    behind_pct: Decimal | None  # behind ÷ planned to date; none before the first milestone
    last_due: Milestone | None
    next_due: Milestone | None
    planned_ahead: Decimal
    milestones: tuple[MilestoneProgress, ...]


def plan_start(pool: Pool, milestones: Sequence[Milestone]) -> datetime:
    """When the plan starts: the start of the life (or period) of the grant its first
    milestone draws on, else the first milestone's day."""
    first = min(milestones, key=lambda m: (m.at, m.id))
    grant = grant_for(pool, first)
    if grant is None:
        return first.at
    return period_bounds(grant, first.at)[0]


def _used(usages: Sequence[Usage], start: datetime, end: datetime) -> Decimal:
    return sum((u.quantity for u in usages if start <= u.at < end), ZERO)


def plan_progress(pool: Pool, milestones: Sequence[Milestone], usages: Sequence[Usage],
                  as_of: datetime) -> PlanProgress | None:
    """Cumulative plan against cumulative actual consumption of the pool; none without a
    plan."""
    mine = sorted((m for m in milestones if m.pool_id == pool.id), key=lambda m: (m.at, m.id))
    if not mine:
        return None
    start = plan_start(pool, mine)
    rows = []
    planned = ZERO
    for milestone in mine:
        planned += milestone.quantity
        actual = _used(usages, start, milestone.due) if milestone.due <= as_of else None
        rows.append(MilestoneProgress(milestone, planned, actual))
    due = [m for m in mine if m.due <= as_of]
    planned_to_date = sum((m.quantity for m in due), ZERO)
    actual_to_date = _used(usages, start, as_of)
    behind = max(planned_to_date - actual_to_date, ZERO)
    ahead = [m for m in mine if m.due > as_of]
    return PlanProgress(
        pool_id=pool.id,
        as_of=as_of,
        start=start,
        planned_to_date=planned_to_date,
        actual_to_date=actual_to_date,
        behind=behind,
        behind_pct=ratio(behind, planned_to_date),
        last_due=due[-1] if due else None,
        next_due=ahead[0] if ahead else None,
        planned_ahead=sum((m.quantity for m in ahead), ZERO),
        milestones=tuple(rows),
    )


# -- the acceleration plan ------------------------------------------------------------------

@dataclass(frozen=True)
class TrackingWeek:
    start: datetime
    end: datetime
    target_cumulative: Decimal
    actual_cumulative: Decimal | None  # none for weeks not over yet
    on_track: bool | None


@dataclass(frozen=True)
class AccelerationPlan:
    grant_id: str
    as_of: datetime
    started: datetime
    expires: datetime
    target: datetime  # the grant fully used by then: expiry − buffer
    buffer_days: int
    buffer_kept: bool  # false when the expiry is closer than the buffer
    to_consume: Decimal  # the grant's remaining plus what burns before it
    ahead_in_burn_order: Decimal
    days_left: Decimal
    needed_rate: Decimal
    current_rate: Decimal
    gap: Decimal  # needed − current, per day
    multiplier: Decimal | None  # needed ÷ current
    weeks: tuple[TrackingWeek, ...]


def burn_ahead(grants: Sequence[GrantBalance], grant_id: str) -> Decimal:
    """Units of active grants that burn before ``grant_id`` and compete for the same usage
    (same restriction): they must be used up first."""
    def key(balance: GrantBalance) -> tuple[object, ...]:
        grant = balance.grant
        end = balance.period_end
        return (grant.priority, 0 if grant.applies_to is not None else 1,
                _NEVER if end is None else end, grant.effective, grant.id)

    target = next(b for b in grants if b.grant.id == grant_id)
    return sum((
        b.remaining for b in grants
        if b.active and b.grant.id != grant_id
        and b.grant.applies_to == target.grant.applies_to and key(b) < key(target)
    ), ZERO)


def acceleration_plan(
    grant_id: str,
    remaining: Decimal,
    expires: datetime,
    as_of: datetime,
    current_rate: Decimal,
    *,
    ahead: Decimal = ZERO,
    buffer_days: int = DEFAULT_BUFFER_DAYS,
    started: datetime | None = None,
    starting_to_consume: Decimal | None = None,
    usages: Sequence[Usage] = (),
) -> AccelerationPlan:
    """The run-rate needed from ``started`` (default ``as_of``) to use the grant fully
    ``buffer_days`` before it expires, the gap to the current run-rate, and weekly tracking
    targets against the pool's actual consumption (``usages``) since ``started``."""
    started = started or as_of
    to_consume = remaining + ahead if starting_to_consume is None else starting_to_consume
    target = expires - _ONE_DAY * buffer_days
    buffer_kept = target > started
    if not buffer_kept:
        target = expires
    days_left = max(days_between(started, target), Decimal(1))
    needed = round_to(to_consume / days_left, RATE_PLACES)
    weeks = []
    week_start = started
    while week_start < target:
        week_end = min(week_start + _WEEK, target)
        goal = to_consume if week_end == target else min(
            round_to(needed * days_between(started, week_end), RATE_PLACES), to_consume)
        done = _used(usages, started, week_end) if week_end <= as_of else None
        weeks.append(TrackingWeek(week_start, week_end, normalize(goal),
                                  None if done is None else normalize(done),
                                  None if done is None else done >= goal))
        week_start = week_end
    return AccelerationPlan(
        grant_id=grant_id,
        as_of=as_of,
        started=started,
        expires=expires,
        target=target,
        buffer_days=buffer_days,
        buffer_kept=buffer_kept,
        to_consume=normalize(to_consume),
        ahead_in_burn_order=normalize(ahead),
        days_left=normalize(round_to(days_left, 2)),
        needed_rate=normalize(needed),
        current_rate=normalize(current_rate),
        gap=normalize(needed - current_rate),
        multiplier=ratio(needed, current_rate),
        weeks=tuple(weeks),
    )
