"""The ledger of one pool: :class:`Ledger` replays its facts exactly
(:class:`~creditops.core.replay.Replay`) and continues them into the future with synthetic daily
usage; :func:`balance_at` reads the balances at one instant."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from creditops.core.balances import PoolBalance
from creditops.core.model import OveragePolicy, Pool, Usage
from creditops.core.numbers import ZERO
from creditops.core.replay import Replay
from creditops.core.tranches import Tranche

_ONE_DAY = timedelta(days=1)


class Ledger(Replay):
    """A :class:`~creditops.core.replay.Replay` whose :meth:`project` continues the same state
    with synthetic daily usage."""

    def project(
        self, start: datetime, until: datetime, daily: Sequence[tuple[str | None, Decimal]]
    ) -> None:
        """Continues the ledger with ``daily`` usage (per usage type) at ``start`` + k days for
        every such instant before ``until``, then applies grant events up to ``until``.

        Exact, and fast: between two grant events the burn order is fixed, so runs of days in
        which no tranche runs dry are applied at once; the day a tranche runs dry is applied on
        its own, usage type by usage type as real usage would be.
        """
        self.advance(start)
        daily = [(usage_type, quantity) for usage_type, quantity in daily if quantity > ZERO]
        day = start
        while daily and day < until:
            self._apply_grant_events(day)
            limit = min(self._events[0][0], until) if self._events else until
            days = _days_before(day, limit)
            draws: dict[int, tuple[Tranche, Decimal]] = {}
            unmet: list[tuple[str | None, Decimal]] = []
            for usage_type, quantity in daily:
                tranche = next(
                    (t for t in self._eligible_for(usage_type) if t.balance > ZERO), None
                )
                if tranche is None:
                    unmet.append((usage_type, quantity))
                    continue
                _, drawn = draws.get(id(tranche), (tranche, ZERO))
                draws[id(tranche)] = (tranche, drawn + quantity)
            whole_days = min([days] + [int(t.balance // drawn) for t, drawn in draws.values()])
            if len(unmet) > 1 and self.pool.overage_policy is OveragePolicy.CARRY:
                # Debts are paid first in, first out: days of two unmet usage types must stay
                # interleaved as real usage would leave them.
                whole_days = min(whole_days, 1)
            if whole_days > 0:
                for tranche, drawn in draws.values():
                    self._take(tranche, drawn * whole_days, "projection")
                for usage_type, quantity in unmet:
                    self._overage(day, quantity * whole_days, usage_type, "projection")
                self.usage_total += sum(q for _, q in daily) * whole_days
                day = day + _ONE_DAY * whole_days
                continue
            for usage_type, quantity in daily:
                self._consume(day, quantity, usage_type, "projection")
            day = day + _ONE_DAY
        self._apply_grant_events(until)
        self._now = until

    def project_lapses(
        self, start: datetime, until: datetime, daily: Sequence[tuple[str | None, Decimal]]
    ) -> dict[str, Decimal]:
        """Projects like :meth:`project` and returns, per grant active at ``start``, what its
        current balance would lose at its end (next recurrence or expiry; after carry-forward).
        A grant whose current tranche does not end by ``until`` is absent."""
        self.advance(start)
        current = {grant_id: t for grant_id, t in self._current.items() if t.ended is None}
        seen = len(self.lapses)
        self.project(start, until, daily)
        lapsed = {id(tranche): quantity for tranche, quantity in self.lapses[seen:]}
        return {
            grant_id: lapsed[id(tranche)]
            for grant_id, tranche in current.items()
            if id(tranche) in lapsed
        }


def _days_before(day: datetime, limit: datetime) -> int:
    """How many of the instants day, day + 1 day, … lie before ``limit`` (at least 1)."""
    count = max(1, (limit - day) // _ONE_DAY)
    while day + _ONE_DAY * count >= limit and count > 1:
        count -= 1
    while day + _ONE_DAY * count < limit:
        count += 1
    return count


def balance_at(pool: Pool, usages: Iterable[Usage], as_of: datetime) -> PoolBalance:
    """The pool's balances at ``as_of``: grant events at or before it, usage strictly before."""
    ledger = Ledger(pool, usages)
    ledger.advance(as_of)
    return ledger.snapshot()
