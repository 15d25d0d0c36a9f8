"""The plain row-by-row reference evaluator of partner programs, and the checks of activity data.

It reads events one by one, in Python, exactly as the rules say; the columnar engine computes the
same result in SQL and the tests hold the two to the cent. Semantics the issue leaves open,
decided here:
- ``caps.per_partner`` caps the sum of the positive (rule) lines; ``caps.per_program`` then scales
  every partner's capped amount by cap / total, rounded down to the cent so the program never
  exceeds its cap. Clawbacks are applied after both caps, in full; a total may be negative.
- A clawback takes back what the current program's rebate rules for the partner's segment pay
  for the reversed deals (same rules, same rates); without such a rule there is nothing to take.
- Lines are listed even when zero, so a statement says why a goal paid nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext

from creditops.core.errors import InputError, Problem
from creditops.core.incentive_payouts import (
    PartnerMetrics,
    PartnerPayout,
    PayoutLine,
    PeriodMetrics,
    ProgramResult,
    build_result,
    clawback_line,
    per_partner_cap_line,
    points_earned,
    program_cap_line,
    rebate_amount,
    rule_line,
    tier_slices,
)
from creditops.core.incentives import (
    DEAL_CLOSED,
    DEAL_REVERSED,
    Improvement,
    PerDealRebate,
    Period,
    Program,
    Rule,
    Target,
    Tiered,
)
from creditops.core.numbers import ZERO, round_money

MAX_PROBLEMS = 20
EVENT_COLUMNS = ("id", "partner_id", "at", "kind", "amount", "ref")
# Exact decimal arithmetic needs more digits than the default context's 28 for large programs.
PRECISION = 60


@dataclass(frozen=True, slots=True)
class Partner:
    partner_id: str
    name: str
    attributes: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Event:
    """One activity row, already parsed: ``on`` is its date in the program's time zone."""

    id: str
    partner_id: str
    on: date
    kind: str
    amount: Decimal | None
    ref: str | None
    row: int


@dataclass(frozen=True)
class Reversal:
    """A deal and its reversal, as the lock bookkeeping needs them."""

    deal_id: str
    partner_id: str
    closed_on: date
    reversed_on: date


@dataclass(frozen=True)
class LockedPeriod:
    """What a lock remembers beyond its result: the deals known reversed (on or before its
    end) when it was locked, and the late reversals it clawed back itself."""

    period: Period
    reversed_deals: frozenset[str]
    late_clawbacks: frozenset[str]


def late_reversals(locked: Iterable[LockedPeriod], reversals: Iterable[Reversal],
                   period: Period) -> frozenset[str]:
    """Deals of a locked period reversed on a date inside that locked period but recorded only
    after it was locked: the lock keeps its result, so their rebate is clawed back in
    ``period`` (the first period computed after), once."""
    locks = [lock for lock in locked if lock.period.end < period.start]
    settled = set().union(*(lock.late_clawbacks for lock in locked))
    late = set()
    for reversal in reversals:
        if reversal.deal_id in settled:
            continue
        for lock in locks:
            if (lock.period.contains(reversal.closed_on)
                    and reversal.reversed_on <= lock.period.end
                    and reversal.deal_id not in lock.reversed_deals):
                late.add(reversal.deal_id)
    return frozenset(late)


# --- data problems -------------------------------------------------------------------------


def unknown_partner_problem(source: str | None, row: int, partner_id: str) -> Problem:
    return Problem(f"partner {partner_id!r} is not in the partners file", source, row,
                   "partner_id")


def duplicate_deal_problem(source: str | None, row: int, deal_id: str, first_row: int) -> Problem:
    return Problem(f"deal id {deal_id!r} is used twice (first at row {first_row})", source, row,
                   "id")


def unknown_deal_problem(source: str | None, row: int, ref: str) -> Problem:
    return Problem(f"reverses unknown deal {ref!r} (no deal_closed event has this id)", source,
                   row, "ref")


def foreign_deal_problem(source: str | None, row: int, ref: str, owner: str) -> Problem:
    return Problem(f"reverses deal {ref!r} of another partner ({owner!r})", source, row,
                   "partner_id")


def early_reversal_problem(source: str | None, row: int, on: date, ref: str, closed_on: date,
                           deal_row: int) -> Problem:
    return Problem(f"reversal on {on.isoformat()} is before its deal {ref!r} closed on "
                   f"{closed_on.isoformat()} (row {deal_row})", source, row, "at")


def repeated_reversal_problem(source: str | None, row: int, ref: str, first_row: int) -> Problem:
    return Problem(f"deal {ref!r} is already reversed at row {first_row}", source, row, "ref")


def raise_problems(problems: Sequence[Problem], total: int | None = None,
                   source: str | None = None) -> None:
    """Raises the first ``MAX_PROBLEMS`` problems in row order (then column, reason), saying
    how many more there are; does nothing when there is none."""
    if not problems:
        return
    ordered = sorted(problems, key=_problem_order)[:MAX_PROBLEMS]
    count = len(problems) if total is None else total
    if count > len(ordered):
        ordered.append(Problem(f"and {count - len(ordered)} more problems", source))
    raise InputError(ordered)


def _problem_order(problem: Problem) -> tuple[int, int, str]:
    column = EVENT_COLUMNS.index(problem.column) if problem.column in EVENT_COLUMNS else 99
    return (problem.row or 0, column, problem.reason)


def check_events(events: Sequence[Event], partner_ids: Collection[str],
                 source: str | None = None) -> None:
    """The checks across rows: partners exist, deal ids are unique, each reversal reverses an
    existing deal of the same partner, once, on or after the day it closed."""
    problems: list[Problem] = []
    deals: dict[str, Event] = {}
    for event in events:
        if event.partner_id not in partner_ids:
            problems.append(unknown_partner_problem(source, event.row, event.partner_id))
        if event.kind == DEAL_CLOSED:
            first = deals.setdefault(event.id, event)
            if first is not event:
                problems.append(duplicate_deal_problem(source, event.row, event.id, first.row))
    reversals: dict[str, Event] = {}
    for event in events:
        if event.kind != DEAL_REVERSED or event.ref is None:
            continue
        deal = deals.get(event.ref)
        if deal is None:
            problems.append(unknown_deal_problem(source, event.row, event.ref))
            continue
        if deal.partner_id != event.partner_id:
            problems.append(foreign_deal_problem(source, event.row, event.ref, deal.partner_id))
        if event.on < deal.on:
            problems.append(early_reversal_problem(source, event.row, event.on, event.ref,
                                                   deal.on, deal.row))
        first = reversals.setdefault(event.ref, event)
        if first is not event:
            problems.append(repeated_reversal_problem(source, event.row, event.ref, first.row))
    raise_problems(problems, source=source)


# --- the reference evaluator ---------------------------------------------------------------


class _Tally:
    __slots__ = ("counts", "deals", "revenue")

    def __init__(self, kinds: Iterable[str]) -> None:
        self.deals = 0
        self.revenue = ZERO
        self.counts = dict.fromkeys(kinds, 0)

    def frozen(self) -> PeriodMetrics:
        return PeriodMetrics(self.deals, self.revenue, dict(self.counts))


class _PartnerTally:
    __slots__ = ("baseline", "clawed", "period")

    def __init__(self, kinds: Iterable[str]) -> None:
        self.period = _Tally(kinds)
        self.baseline = _Tally(kinds)
        self.clawed: list[Event] = []

    def frozen(self) -> PartnerMetrics:
        return PartnerMetrics(
            self.period.frozen(), self.baseline.frozen(),
            tuple(sorted(deal.id for deal in self.clawed)),
            sum((deal.amount or ZERO for deal in self.clawed), ZERO))


def reference_metrics(program: Program, events: Sequence[Event],
                      late_reversals: Collection[str] = frozenset()
                      ) -> dict[str, PartnerMetrics]:
    """Row by row: each partner's net deals, revenue and behaviour counts in the period and the
    baseline period, and the deals to claw back. ``late_reversals`` are ids of deals whose
    reversal, dated before the period, reached a locked period too late: they are clawed back
    now."""
    period, baseline = program.period, program.baseline_period
    kinds = program.tracked_kinds
    deals = {event.id: event for event in reversed(events) if event.kind == DEAL_CLOSED}
    tallies: dict[str, _PartnerTally] = {}
    for event in events:
        tally = tallies.get(event.partner_id)
        if tally is None:
            tally = tallies[event.partner_id] = _PartnerTally(kinds)
        if event.kind == DEAL_CLOSED:
            window = _window(event.on, period, baseline, tally)
            if window is not None:
                window.deals += 1
                window.revenue += event.amount or ZERO
        elif event.kind == DEAL_REVERSED:
            deal = deals[event.ref or ""]
            if period.contains(event.on):
                if period.contains(deal.on):
                    tally.period.deals -= 1
                    tally.period.revenue -= deal.amount or ZERO
                else:  # closed before the period: a deal never reverses before it closes
                    tally.clawed.append(deal)
            elif deal.id in late_reversals and event.on < period.start:
                tally.clawed.append(deal)
            if baseline.contains(event.on) and baseline.contains(deal.on):
                tally.baseline.deals -= 1
                tally.baseline.revenue -= deal.amount or ZERO
        elif event.kind in kinds:
            window = _window(event.on, period, baseline, tally)
            if window is not None:
                window.counts[event.kind] += 1
    return {partner_id: tally.frozen() for partner_id, tally in tallies.items()}


def _window(on: date, period: Period, baseline: Period, tally: _PartnerTally) -> _Tally | None:
    if period.contains(on):
        return tally.period
    if baseline.contains(on):
        return tally.baseline
    return None


def empty_metrics(program: Program) -> PartnerMetrics:
    kinds = program.tracked_kinds
    return PartnerMetrics(PeriodMetrics(counts=dict.fromkeys(kinds, 0)),
                          PeriodMetrics(counts=dict.fromkeys(kinds, 0)))


def rule_amount(rule: Rule, metrics: PartnerMetrics) -> Decimal:
    """What a rule pays, exact (before rounding)."""
    current = metrics.period
    if isinstance(rule, PerDealRebate):
        return rebate_amount(rule, current.deals, current.revenue)
    if isinstance(rule, Target):
        return rule.bonus if current.value(rule.metric) >= rule.threshold else ZERO
    if isinstance(rule, Tiered):
        return sum((rate * size for _, size, rate in tier_slices(rule, current.value(rule.metric))),
                   ZERO)
    if isinstance(rule, Improvement):
        value = current.value(rule.metric)
        base = max(metrics.baseline.value(rule.metric), rule.floor)
        if value < base * (1 + rule.min_gain):
            return ZERO
        gain = rule.rate * (value - base)
        return gain if rule.cap is None else min(gain, rule.cap)
    return rule.point_value * points_earned(rule, current)


def evaluate(program: Program, partners: Sequence[Partner], events: Sequence[Event],
             late_reversals: Collection[str] = frozenset()) -> ProgramResult:
    """The reference: plain Python over the rows, checked events in, explained result out."""
    with localcontext() as context:
        context.prec = PRECISION
        metrics = reference_metrics(program, events, late_reversals)
        drafts = []
        for partner in partners:
            segment = program.segment_of(partner.attributes)
            figures = metrics.get(partner.partner_id) or empty_metrics(program)
            rules = program.rules_for(segment)
            lines = [rule_line(rule, round_money(rule_amount(rule, figures)), figures)
                     for rule in rules]
            rebates = [rule for rule in rules if isinstance(rule, PerDealRebate)]
            claw = None
            if figures.clawed_deals and rebates:
                exact = sum((rebate_amount(rule, len(figures.clawed_deals),
                                           figures.clawed_revenue) for rule in rebates), ZERO)
                claw = clawback_line(rebates, -round_money(exact), figures)
            drafts.append(_Draft(partner, segment, figures, lines, claw, program))
        _apply_program_cap(drafts, program)
        return build_result(program, [draft.payout() for draft in drafts])


class _Draft:
    def __init__(self, partner: Partner, segment: str, metrics: PartnerMetrics,
                 lines: list[PayoutLine], clawback: PayoutLine | None, program: Program) -> None:
        self.partner, self.segment, self.metrics = partner, segment, metrics
        self.lines, self.clawback = lines, clawback
        positive = sum((line.amount for line in lines), ZERO)
        cap = program.caps.per_partner
        self.capped = positive if cap is None else min(positive, cap)
        if self.capped != positive:
            assert cap is not None
            self.lines.append(per_partner_cap_line(cap - positive, positive, cap))

    def payout(self) -> PartnerPayout:
        lines = [*self.lines, *([self.clawback] if self.clawback else [])]
        return PartnerPayout(self.partner.partner_id, self.partner.name, self.segment,
                             sum((line.amount for line in lines), ZERO), tuple(lines),
                             self.metrics)


def _apply_program_cap(drafts: list[_Draft], program: Program) -> None:
    cap = program.caps.per_program
    total = sum((draft.capped for draft in drafts), ZERO)
    if cap is None or total <= cap:
        return
    for draft in drafts:
        scaled = scale_to_program_cap(draft.capped, total, cap)
        if scaled != draft.capped:
            draft.lines.append(program_cap_line(scaled - draft.capped, draft.capped, total, cap))


def scale_to_program_cap(capped: Decimal, total: Decimal, cap: Decimal) -> Decimal:
    """capped × cap / total, rounded down to the cent, in exact integer cents."""
    cents = int(capped * 100) * int(cap * 100) // int(total * 100)
    return Decimal(cents).scaleb(-2)
