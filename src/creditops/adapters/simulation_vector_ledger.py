"""The forecast's vectorised ledger: the ledger of one pool run over many usage paths at once
(PRODUCT.md §2 and §4), and the schedule of grant stretches it runs.

The stretches of each grant's life (the grant, each period of a recurring grant, carried-forward
remainders) form a fixed schedule of starts and ends. Between two such events the burn order is
fixed, so with one usage stream (no grant restricted to usage types) a segment is settled at once
from cumulative usage: the k-th tranche in burn order gives clip(used − balances before it, 0,
its balance); the day a tranche runs dry is found by bisection. Pools with restricted grants are
run day by day, usage type by usage type, as the exact ledger does. Floats stay in here: results
leave as decimal quantiles.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
from numpy.typing import NDArray

from creditops.adapters.simulation_usage_paths import Floats, Ints, UsagePaths
from creditops.core.balances import PoolBalance
from creditops.core.forecast import Band, DayQuantiles, SimulatedPool, SimulatedTranche
from creditops.core.model import Grant, OveragePolicy, Pool
from creditops.core.tranches import rollover_id

_ONE_DAY = timedelta(days=1)
_NEVER = datetime.max.replace(tzinfo=UTC)
_END, _START = 0, 1
# Run-out dates are quantiles over the first paths only (how many paths run dry is counted
# over all of them): finding the day is the costly part, and 2,000 paths place a quantile
# within a day or so.
RUN_OUT_SAMPLE = 2000


# -- the schedule of tranches -------------------------------------------------------------------

@dataclass
class Tranche:
    """One stretch of a grant's life as the simulation runs it."""

    grant: Grant
    start: datetime
    end: datetime | None  # none: beyond the horizon
    end_reason: str | None
    quantity: float | None  # none for a carried-forward remainder (its size depends on the path)
    balance: float | None  # at as_of, for stretches already active
    burn_key: tuple[object, ...]
    parent: int | None = None  # the tranche a carried-forward remainder comes from
    child: int | None = None  # its carried-forward remainder
    active_at_start: bool = False


def _period_end(grant: Grant, start: datetime) -> tuple[datetime | None, str | None]:
    candidates: list[tuple[datetime, int, str]] = []
    if grant.voided_at is not None:
        candidates.append((max(grant.voided_at, start), 0, "voided"))
    if grant.expires is not None:
        candidates.append((grant.expires, 1, "expired"))
    if grant.recurrence is not None:
        candidates.append((grant.recurrence.every.first_after(grant.recurrence.anchor, start),
                           2, "renewed"))
    if not candidates:
        return None, None
    end, _, reason = min(candidates)
    return end, reason


def _burn_key(grant: Grant, start: datetime) -> tuple[object, ...]:
    natural_end = _period_end(replace(grant, voided_at=None), start)[0]
    return (grant.priority, 0 if grant.applies_to is not None else 1,
            _NEVER if natural_end is None else natural_end, grant.effective, grant.id)


def build_schedule(pool: Pool, balance: PoolBalance, until: datetime) -> list[Tranche]:
    """Every stretch of a grant's life that is active at ``balance.as_of`` or starts before
    ``until``, with the balances of the active ones."""
    as_of = balance.as_of
    tranches: list[Tranche] = []

    def add_chain(grant: Grant, start: datetime, balance_now: float | None) -> None:
        while start < until:
            end, reason = _period_end(grant, start)
            if end is not None and end <= start:
                return  # voided before it began: never usable
            index = len(tranches)
            tranches.append(Tranche(
                grant, start, end if end is not None and end <= until else None,
                reason if end is not None and end <= until else None,
                float(grant.quantity) if balance_now is None else None, balance_now,
                _burn_key(grant, start), active_at_start=balance_now is not None))
            balance_now = None
            if end is None or end > until or reason == "voided":
                return
            if reason == "renewed":
                start = end
                continue
            if grant.rollover is not None:
                carried = replace(grant, id=rollover_id(grant.id), quantity=grant.quantity,
                                  effective=end, expires=grant.rollover.expires,
                                  recurrence=None, rollover=None, voided_at=None)
                child_end = carried.expires
                tranches.append(Tranche(
                    carried, end, child_end if child_end is not None and child_end <= until
                    else None, "expired" if child_end is not None and child_end <= until
                    else None, None, None, _burn_key(carried, end), parent=index))
                tranches[index].child = len(tranches) - 1
            return

    for grant_balance in balance.grants:
        if grant_balance.active:
            add_chain(grant_balance.grant, grant_balance.period_start,
                      float(grant_balance.remaining))
    started = {g.grant.id for g in balance.grants}
    for grant in sorted(pool.grants, key=lambda g: g.id):
        if grant.id not in started and grant.effective > as_of:
            add_chain(grant, grant.effective, None)
    return tranches


# -- the vectorised ledger ------------------------------------------------------------------------

@dataclass
class _State:
    balance: Floats  # (tranches, paths): one contiguous row per tranche
    quantity: Floats
    consumed: Floats
    lapse: Floats  # nan until the tranche lapses
    run_out: Ints  # day the tranche ran dry, −1 if it did not (sampled paths)
    pool_run_out: Ints
    dry: NDArray[np.bool_]  # the tranche ran dry (every path)
    out: NDArray[np.bool_]  # some usage found no grant (every path)
    overage: Floats  # units that found no grant when used
    debt: Floats  # (streams, paths): open overage under the carry policy
    total: Floats
    active: list[int]


def _bands(values: Sequence[Floats]) -> list[Band]:
    """P10/P50/P90 of each array (one NumPy call for all of them), as exact decimals."""
    if not values:
        return []
    table = np.quantile(np.stack(values), [0.1, 0.5, 0.9], axis=1)
    return [Band(*(Decimal(repr(float(v))) for v in table[:, column]))
            for column in range(table.shape[1])]


def _day_quantiles(days: Ints, horizon: int) -> DayQuantiles:
    never = np.where(days < 0, horizon + 1, days)
    ranked = np.sort(never)
    picked = []
    for share in (0.1, 0.5, 0.9):
        value = int(ranked[max(int(np.ceil(share * ranked.size)) - 1, 0)])
        picked.append(value if value <= horizon else None)
    return picked[0], picked[1], picked[2]


class VectorLedger:
    """The ledger of one pool for many paths at once, from ``as_of`` over ``days`` days."""

    def __init__(self, pool: Pool, balance: PoolBalance, days: int,
                 streams: Sequence[str | None], threshold: float) -> None:
        self.pool = pool
        self.as_of = balance.as_of
        self.days = days
        self.until = self.as_of + _ONE_DAY * days
        self.day_starts = [self.as_of + _ONE_DAY * day for day in range(days)]
        self.tranches = build_schedule(pool, balance, self.until)
        self.streams = list(streams)
        self.threshold = threshold
        self.carry = pool.overage_policy is OveragePolicy.CARRY
        self.open_debt = float(balance.overage) if self.carry else 0.0
        self.typed = any(t.grant.applies_to is not None for t in self.tranches)

    def _events(self) -> list[tuple[int, datetime, int, int]]:
        events = []
        for index, tranche in enumerate(self.tranches):
            if not tranche.active_at_start:
                events.append((bisect.bisect_left(self.day_starts, tranche.start),
                               tranche.start, _START, index))
            if tranche.end is not None:
                events.append((bisect.bisect_left(self.day_starts, tranche.end), tranche.end,
                               _END, index))
        return sorted(events)

    def run(self, usage: UsagePaths) -> _State:
        paths, count = usage.paths, len(self.tranches)
        state = _State(
            balance=np.zeros((count, paths)), quantity=np.zeros((count, paths)),
            consumed=np.zeros((count, paths)), lapse=np.full((count, paths), np.nan),
            run_out=np.full((count, paths), -1, dtype=np.int64),
            pool_run_out=np.full(paths, -1, dtype=np.int64),
            dry=np.zeros((count, paths), dtype=np.bool_), out=np.zeros(paths, dtype=np.bool_),
            overage=np.zeros(paths),
            debt=np.zeros((max(usage.streams, 1), paths)), total=np.zeros(paths), active=[])
        state.debt[0] += self.open_debt
        for index, tranche in enumerate(self.tranches):
            if tranche.active_at_start:
                assert tranche.balance is not None
                state.balance[index] = tranche.balance
                state.quantity[index] = float(tranche.grant.quantity)
                state.active.append(index)
        events = self._events()
        boundaries = sorted({day for day, *_ in events if day < self.days} | {self.days})
        position = 0
        day = 0
        previous = usage.cumulative(0)
        for boundary in boundaries:
            if boundary > day:
                if self.typed:
                    self._run_days(state, usage, day, boundary)
                else:
                    previous = self._run_segment(state, usage, day, boundary, previous)
                day = boundary
            group_end = position
            while group_end < len(events) and events[group_end][0] == boundary:
                group_end += 1
            self._apply(state, events[position:group_end])
            position = group_end
        if not self.typed:
            state.total = usage.cumulative(self.days) - usage.cumulative(0)
        return state

    # -- events

    def _apply(self, state: _State, events: Sequence[tuple[int, datetime, int, int]]) -> None:
        position = 0
        while position < len(events):
            instant = events[position][1]
            started = []
            while position < len(events) and events[position][1] == instant:
                _, _, phase, index = events[position]
                if phase == _END:
                    self._end(state, index)
                else:
                    tranche = self.tranches[index]
                    if tranche.quantity is not None:
                        state.balance[index] = tranche.quantity
                        state.quantity[index] = tranche.quantity
                    state.active.append(index)
                    started.append(index)
                position += 1
            if self.carry and started:
                self._pay_debts(state, sorted(started, key=lambda i: self.tranches[i].burn_key))

    def _end(self, state: _State, index: int) -> None:
        tranche = self.tranches[index]
        left = state.balance[index].copy()
        state.balance[index] = 0.0
        state.active.remove(index)
        if tranche.end_reason == "voided":
            return
        carried = np.zeros_like(left)
        rollover = tranche.grant.rollover
        if tranche.end_reason == "expired" and rollover is not None and tranche.child is not None:
            carried = left * float(rollover.fraction)
            if rollover.max is not None:
                carried = np.minimum(carried, float(rollover.max))
            carried = np.maximum(carried, 0.0)
            state.balance[tranche.child] = carried
            state.quantity[tranche.child] = carried
        state.lapse[index] = left - carried

    def _admits(self, index: int, stream: int) -> bool:
        restriction = self.tranches[index].grant.applies_to
        return restriction is None or self.streams[stream] in restriction

    def _pay_debts(self, state: _State, started: list[int]) -> None:
        for index in started:
            for stream in range(state.debt.shape[0]):
                if self.typed and not self._admits(index, stream):
                    continue
                paid = np.minimum(state.debt[stream], state.balance[index])
                state.debt[stream] -= paid
                state.balance[index] -= paid
                state.consumed[index] += paid

    # -- usage

    def _order(self, state: _State) -> list[int]:
        return sorted(state.active, key=lambda i: self.tranches[i].burn_key)

    def _run_segment(self, state: _State, usage: UsagePaths, start: int, end: int,
                     before: Floats) -> Floats:
        after = usage.cumulative(end)
        used = after - before
        order = self._order(state)
        covered = np.zeros_like(used)
        for index in order:
            balance = state.balance[index]
            limit = covered + balance
            taken = np.clip(used - covered, 0.0, balance)
            dry = (balance > 0.0) & (used >= limit) & ~state.dry[index]
            state.dry[index] |= dry
            rows = np.flatnonzero(dry[:RUN_OUT_SAMPLE])
            if rows.size:
                state.run_out[index, rows] = usage.first_reaching(
                    rows, start, end, before[rows] + limit[rows], strict=False)
            state.balance[index] = balance - taken
            state.consumed[index] += taken
            covered = limit
        unmet = np.maximum(used - covered, 0.0)
        out = (unmet > 0.0) & ~state.out
        state.out |= out
        rows = np.flatnonzero(out[:RUN_OUT_SAMPLE])
        if rows.size:
            state.pool_run_out[rows] = usage.first_reaching(
                rows, start, end, before[rows] + covered[rows], strict=True)
        state.overage += unmet
        if self.carry:
            state.debt[0] += unmet
        return after

    def _run_days(self, state: _State, usage: UsagePaths, start: int, end: int) -> None:
        order = self._order(state)
        eligible = [[i for i in order if self._admits(i, s)] for s in range(usage.streams)]
        for day in range(start, end):
            for stream in range(usage.streams):
                need = usage.daily(stream, day).copy()
                state.total += need
                for index in eligible[stream]:
                    balance = state.balance[index]
                    taken = np.minimum(need, balance)
                    left = balance - taken
                    dry = (balance > 0.0) & (left <= 0.0) & ~state.dry[index]
                    state.dry[index] |= dry
                    state.run_out[index, dry] = day
                    state.balance[index] = left
                    state.consumed[index] += taken
                    need -= taken
                out = (need > 0.0) & ~state.out
                state.out |= out
                state.pool_run_out[out] = day
                state.overage += need
                if self.carry:
                    state.debt[stream] += need

    # -- results

    def summarise(self, state: _State, history_days: int, trend: float | None
                  ) -> SimulatedPool:
        paths = state.balance.shape[1]
        # One quantile call for every array that varies over paths: a tranche's quantity
        # only does when it is a carried-forward remainder, its lapse only when it ends.
        arrays: list[Floats] = [state.total, state.debt.sum(axis=0) if self.carry
                                else state.overage]
        slots: list[dict[str, int]] = []
        for index, tranche in enumerate(self.tranches):
            slot = {"consumed": len(arrays)}
            arrays.append(state.consumed[index])
            quantity = state.quantity[index]
            if tranche.parent is not None:
                slot["quantity"] = len(arrays)
                arrays.append(quantity)
            if tranche.end is not None and tranche.end_reason != "voided":
                lapse = state.lapse[index]
                slot["lapse"] = len(arrays)
                arrays += [lapse, np.divide(lapse, quantity, out=np.zeros_like(lapse),
                                            where=quantity > 0)]
            slots.append(slot)
        bands = _bands(arrays)
        results = []
        for index, tranche in enumerate(self.tranches):
            slot = slots[index]
            fixed = tranche.grant.quantity
            ended = "lapse" in slot
            over = int(np.count_nonzero(
                state.lapse[index] > self.threshold * state.quantity[index])) \
                if ended else 0
            results.append(SimulatedTranche(
                grant_id=tranche.grant.id,
                start=tranche.start,
                end=tranche.end,
                end_reason=tranche.end_reason,
                quantity=bands[slot["quantity"]] if "quantity" in slot
                else Band(fixed, fixed, fixed),
                remaining_at_start=None if tranche.balance is None
                else Decimal(repr(tranche.balance)),
                consumed=bands[slot["consumed"]],
                lapse=bands[slot["lapse"]] if ended else None,
                lapse_pct=bands[slot["lapse"] + 1] if ended else None,
                over_threshold=over,
                ran_dry=int(np.count_nonzero(state.dry[index])),
                run_out_day=_day_quantiles(state.run_out[index, :RUN_OUT_SAMPLE], self.days),
                paths=paths,
            ))
        return SimulatedPool(
            pool_id=self.pool.id,
            paths=paths,
            days=self.days,
            consumption=bands[0],
            overage=bands[1],
            run_out_day=_day_quantiles(state.pool_run_out[:RUN_OUT_SAMPLE], self.days),
            ran_out=int(np.count_nonzero(state.out)),
            tranches=tuple(results),
            history_days=history_days,
            trend_per_week=None if trend is None else Decimal(repr(trend)),
        )
