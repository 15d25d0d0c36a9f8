"""The exact replay of one pool's facts: its balances derived from grants and usage for any
instant.

Nothing here is edited in place: the facts are grants (with their voids, recurrences and
carry-forward terms) and usage records; :class:`Replay` replays them in time order, cutting each
grant's life into tranches (:mod:`creditops.core.tranches`) and reporting balances
(:mod:`creditops.core.balances`).

At one instant, grant events come first (endings, then beginnings, then the debt a beginning grant
pays under the ``carry`` policy), usage last. The state *at* instant t applies every grant event at
or before t and every usage strictly before t, so a grant is active on [effective, expiry).
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from operator import attrgetter

from creditops.core.balances import GrantBalance, GrantTotals, PoolBalance
from creditops.core.model import Grant, OveragePolicy, Pool, Usage
from creditops.core.numbers import ZERO
from creditops.core.tranches import (
    Tranche,
    burn_key,
    first_tranche,
    natural_end,
    period_end,
    rollover_id,
)

_END, _START = 0, 1  # the phase of a grant event: endings before beginnings at one instant


class LedgerError(ValueError):
    """The facts contradict themselves (e.g. a reversal of more than was used)."""


@dataclass
class _Allocation:
    """Where one usage's units went, so that a reversal can give them back."""

    overage: Decimal = ZERO
    tranches: list[tuple[Tranche, Decimal]] = field(default_factory=list)


@dataclass
class _Debt:
    key: str
    usage_type: str | None
    open: Decimal


class Replay:
    """Replays one pool's facts. Call :meth:`advance` with non-decreasing instants, then read
    :meth:`snapshot`."""

    def __init__(self, pool: Pool, usages: Iterable[Usage]) -> None:
        self.pool = pool
        ordered = sorted(usages, key=attrgetter("at", "key"))
        self._track = any(u.reverses is not None for u in ordered)
        if self._track:
            # At one instant a reversal comes after the usage it reverses.
            ordered.sort(key=lambda u: (u.at, u.reverses is not None, u.key))
        self._usages = ordered
        self._ats = [usage.at for usage in ordered]
        self._next_usage = 0
        self._events: list[tuple[datetime, int, int, Tranche]] = []
        self._sequence = 0
        self._now: datetime | None = None
        self._active: list[Tranche] = []
        self._eligible: dict[str | None, list[Tranche]] = {}
        self._totals: dict[str, GrantTotals] = {}
        self._current: dict[str, Tranche] = {}
        self._tranches: dict[str, list[Tranche]] = {}
        self._grants: dict[str, Grant] = {}
        self._allocations: dict[str, _Allocation] = {}
        self._debts: list[_Debt] = []
        self.overage_billed = ZERO
        self.overage_events: list[tuple[datetime, Decimal]] = []
        self.usage_total = ZERO
        self.lapses: list[tuple[Tranche, Decimal]] = []
        for grant in sorted(pool.grants, key=lambda g: g.id):
            self._admit_grant(grant)

    # -- grant events ---------------------------------------------------------------------

    def _admit_grant(self, grant: Grant) -> None:
        self._grants[grant.id] = grant
        self._totals[grant.id] = GrantTotals()
        self._push(first_tranche(grant), _START)

    def _push(self, tranche: Tranche, phase: int) -> None:
        instant = tranche.start if phase == _START else tranche.end
        assert instant is not None
        self._sequence += 1
        heapq.heappush(self._events, (instant, phase, self._sequence, tranche))

    def _start(self, tranche: Tranche) -> None:
        grant = tranche.grant
        totals = self._totals[grant.id]
        totals.granted += tranche.quantity
        self._current[grant.id] = tranche
        self._tranches.setdefault(grant.id, []).append(tranche)
        if tranche.end is not None and tranche.end <= tranche.start:
            # Voided at or before it became effective: granted and voided at once.
            tranche.ended = "voided"
            totals.voided += tranche.balance
            tranche.balance = ZERO
            return
        # A void ends the grant but does not make it sooner-expiring: usage before the void was
        # charged as if the void were unknown, which is what happened.
        burn_end = (
            tranche.end if tranche.end_reason != "voided" else natural_end(grant, tranche.start)
        )
        tranche.burn_key = burn_key(grant, burn_end)
        self._active.append(tranche)
        self._active.sort(key=lambda t: t.burn_key)
        self._eligible.clear()
        if tranche.end is not None:
            self._push(tranche, _END)

    def _end(self, tranche: Tranche) -> None:
        grant = tranche.grant
        totals = self._totals[grant.id]
        reason = tranche.end_reason
        assert reason is not None and tranche.end is not None
        tranche.ended = reason
        self._active.remove(tranche)
        self._eligible.clear()
        left = tranche.balance
        tranche.balance = ZERO
        if reason == "voided":
            totals.voided += left
            return
        if reason == "renewed":
            self._record_lapse(tranche, left)
            following = Tranche(grant, tranche.period + 1, tranche.end, None, None, grant.quantity)
            following.end, following.end_reason = period_end(grant, tranche.end)
            self._push(following, _START)
            return
        carried = ZERO
        if grant.rollover is not None and left > ZERO:
            carried = left * grant.rollover.fraction
            if grant.rollover.max is not None:
                carried = min(carried, grant.rollover.max)
        if carried > ZERO:
            assert grant.rollover is not None
            totals.carried_forward += carried
            carried_grant = replace(
                grant,
                id=rollover_id(grant.id),
                quantity=carried,
                effective=tranche.end,
                expires=grant.rollover.expires,
                recurrence=None,
                rollover=None,
                voided_at=None,
            )
            self._grants[carried_grant.id] = carried_grant
            self._totals[carried_grant.id] = GrantTotals()
            self._push(first_tranche(carried_grant), _START)
        self._record_lapse(tranche, left - carried)

    def _record_lapse(self, tranche: Tranche, quantity: Decimal) -> None:
        self._totals[tranche.grant.id].lapsed += quantity
        self.lapses.append((tranche, quantity))

    def _apply_grant_events(self, until: datetime) -> None:
        """Applies every grant event at or before ``until``, instant by instant."""
        while self._events and self._events[0][0] <= until:
            instant = self._events[0][0]
            started: list[Tranche] = []
            while self._events and self._events[0][0] == instant:
                _, phase, _, tranche = heapq.heappop(self._events)
                if phase == _END:
                    self._end(tranche)
                else:
                    self._start(tranche)
                    if tranche.ended is None:
                        started.append(tranche)
            if self._debts and started:
                self._pay_debts(sorted(started, key=lambda t: t.burn_key))

    def _pay_debts(self, tranches: list[Tranche]) -> None:
        for tranche in tranches:
            for debt in self._debts:
                if tranche.balance == ZERO:
                    break
                if debt.open == ZERO or not tranche.admits(debt.usage_type):
                    continue
                paid = min(debt.open, tranche.balance)
                debt.open -= paid
                self._take(tranche, paid, debt.key)
                if self._track:
                    # The debt's units are now charged to this tranche, not open overage.
                    self._allocations[debt.key].overage -= paid
            self._debts = [debt for debt in self._debts if debt.open > ZERO]

    # -- usage ------------------------------------------------------------------------------

    def _eligible_for(self, usage_type: str | None) -> list[Tranche]:
        eligible = self._eligible.get(usage_type)
        if eligible is None:
            eligible = [t for t in self._active if t.admits(usage_type)]
            self._eligible[usage_type] = eligible
        return eligible

    def _take(self, tranche: Tranche, quantity: Decimal, key: str) -> None:
        tranche.balance -= quantity
        tranche.consumed += quantity
        if self._track:
            self._allocations.setdefault(key, _Allocation()).tranches.append((tranche, quantity))

    def _consume(self, at: datetime, quantity: Decimal, usage_type: str | None, key: str) -> None:
        self.usage_total += quantity
        need = quantity
        eligible = self._eligible.get(usage_type)
        if eligible is None:
            eligible = self._eligible_for(usage_type)
        for tranche in eligible:
            balance = tranche.balance
            if balance <= ZERO:
                continue
            if need <= balance and not self._track:
                # The common case, inlined: the first grant with a balance covers it all.
                tranche.balance = balance - need
                tranche.consumed += need
                return
            taken = need if need <= balance else balance
            self._take(tranche, taken, key)
            need -= taken
            if need == ZERO:
                return
        if need > ZERO:
            self._overage(at, need, usage_type, key)

    def _overage(self, at: datetime, quantity: Decimal, usage_type: str | None, key: str) -> None:
        self.overage_events.append((at, quantity))
        if self.pool.overage_policy is OveragePolicy.CARRY:
            self._debts.append(_Debt(key, usage_type, quantity))
        else:
            self.overage_billed += quantity
        if self._track:
            self._allocations.setdefault(key, _Allocation()).overage += quantity

    def _reverse(self, usage: Usage) -> None:
        assert usage.reverses is not None
        allocation = self._allocations.get(usage.reverses)
        if allocation is None:
            raise LedgerError(
                f"usage {usage.key} reverses {usage.reverses}, which is not an earlier usage "
                f"of pool {self.pool.id}"
            )
        left = -usage.quantity
        self.usage_total -= left
        from_overage = min(left, allocation.overage)
        if from_overage > ZERO:
            allocation.overage -= from_overage
            left -= from_overage
            self.overage_events.append((usage.at, -from_overage))
            self._reverse_overage(usage.reverses, from_overage)
        while left > ZERO and allocation.tranches:
            tranche, quantity = allocation.tranches.pop()
            given_back = min(left, quantity)
            if given_back < quantity:
                allocation.tranches.append((tranche, quantity - given_back))
            left -= given_back
            tranche.consumed -= given_back
            totals = self._totals[tranche.grant.id]
            if tranche.ended is None:
                tranche.balance += given_back
            elif tranche.ended == "voided":
                totals.voided += given_back
            else:
                # The tranche is gone: what it gets back is lost with it.
                totals.lapsed += given_back
        if left > ZERO:
            raise LedgerError(f"usage {usage.key} reverses {left} more than {usage.reverses} used")

    def _reverse_overage(self, key: str, quantity: Decimal) -> None:
        if self.pool.overage_policy is OveragePolicy.BILL:
            self.overage_billed -= quantity
            return
        # Only the open part of the debt is cancelled here: what a later grant already paid was
        # moved into that grant's allocation and is given back to it.
        for debt in self._debts:
            if debt.key == key:
                cancelled = min(debt.open, quantity)
                debt.open -= cancelled
                quantity -= cancelled
        self._debts = [debt for debt in self._debts if debt.open > ZERO]

    # -- driving ------------------------------------------------------------------------------

    def advance(self, until: datetime) -> None:
        """Applies grant events at or before ``until`` and usage strictly before it."""
        if self._now is not None and until < self._now:
            raise LedgerError("a ledger only moves forward in time")
        usages, events, ats = self._usages, self._events, self._ats
        position = self._next_usage
        end = bisect.bisect_left(ats, until, lo=position)
        while position < end:
            usage = usages[position]
            if events and events[0][0] <= usage.at:
                self._apply_grant_events(usage.at)
            if not self._track:
                # Usage before the next grant event meets a fixed burn order: apply it as a
                # run while no grant runs dry.
                run_end = (
                    end
                    if not events
                    else min(end, bisect.bisect_left(ats, events[0][0], lo=position))
                )
                applied = self._apply_run(position, run_end)
                if applied > position:
                    position = applied
                    continue
            if usage.reverses is not None:
                if usage.quantity >= ZERO:
                    raise LedgerError(f"reversal {usage.key} must have a negative quantity")
                self._reverse(usage)
            elif usage.quantity < ZERO:
                raise LedgerError(
                    f"usage {usage.key} has a negative quantity but reverses no usage"
                )
            else:
                self._consume(usage.at, usage.quantity, usage.usage_type, usage.key)
            position += 1
        self._next_usage = end
        self._apply_grant_events(until)
        self._now = until

    def _apply_run(self, start: int, end: int) -> int:
        """Applies usages[start:end] (no grant event among them, no reversal) as long as every
        usage is taken whole from the grant its type would draw on first; returns the index of
        the first usage not applied. The result equals applying them one by one."""
        usages = self._usages
        first: dict[str | None, Tranche | None] = {}
        drawn: dict[int, Decimal] = {}
        by_id: dict[int, Tranche] = {}
        total = ZERO
        overage = False
        position = start
        while position < end:
            usage = usages[position]
            quantity = usage.quantity
            if quantity < ZERO:
                break
            usage_type = usage.usage_type
            if usage_type in first:
                tranche = first[usage_type]
            else:
                tranche = next(
                    (t for t in self._eligible_for(usage_type) if t.balance > ZERO), None
                )
                first[usage_type] = tranche
            if tranche is None:
                overage = True
            else:
                key = id(tranche)
                after = drawn.get(key, ZERO) + quantity
                if after > tranche.balance:
                    break
                drawn[key] = after
                by_id[key] = tranche
            total += quantity
            position += 1
        for key, quantity in drawn.items():
            tranche = by_id[key]
            tranche.balance -= quantity
            tranche.consumed += quantity
        self.usage_total += total
        if overage:
            for usage in usages[start:position]:
                if first[usage.usage_type] is None and usage.quantity > ZERO:
                    self._overage(usage.at, usage.quantity, usage.usage_type, usage.key)
        return position

    def usage_between(self, start: datetime, end: datetime) -> list[Usage]:
        """The usage records at instants in [start, end), in time order."""
        low = bisect.bisect_left(self._ats, start)
        high = bisect.bisect_left(self._ats, end, lo=low)
        return self._usages[low:high]

    @property
    def open_debt(self) -> Decimal:
        return sum((debt.open for debt in self._debts), ZERO)

    def snapshot(self) -> PoolBalance:
        assert self._now is not None, "advance the ledger before reading it"
        grants = []
        for grant_id in sorted(self._current):
            tranche = self._current[grant_id]
            totals = self._totals[grant_id]
            grant = self._grants[grant_id]
            final = tranche.ended in ("expired", "voided")
            grants.append(
                GrantBalance(
                    grant=grant,
                    remaining=tranche.balance,
                    granted=totals.granted,
                    consumed=sum((t.consumed for t in self._tranches[grant_id]), ZERO),
                    lapsed=totals.lapsed,
                    voided=totals.voided,
                    carried_forward=totals.carried_forward,
                    period_start=tranche.start,
                    period_end=tranche.end,
                    period_consumed=tranche.consumed,
                    active=tranche.ended is None,
                    ended=tranche.ended if final else None,
                )
            )
        overage = (
            self.open_debt
            if self.pool.overage_policy is OveragePolicy.CARRY
            else self.overage_billed
        )
        return PoolBalance(
            pool=self.pool,
            as_of=self._now,
            balance=sum((t.balance for t in self._active), ZERO),
            consumed=sum((g.consumed for g in grants), ZERO),
            overage=overage,
            overage_total=sum((q for _, q in self.overage_events), ZERO),
            lapsed=sum((g.lapsed for g in grants), ZERO),
            voided=sum((g.voided for g in grants), ZERO),
            usage_total=self.usage_total,
            grants=tuple(grants),
        )
