"""Partner payouts: the explained result both engines produce.

A ``ProgramResult`` holds, per partner, a line per rule that applies to the partner's segment, a
clawback line for deals closed before the period and reversed in it, and cap lines when a cap
binds. Lines are rounded half up to cents; totals are sums of rounded lines. Each line's figures
and explanation derive from the partner's metrics and the rule. The rules' arithmetic shared by
the reference, the explanations and the diagnostics lives here too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from creditops.core.incentives import (
    CLAWBACK,
    METRIC_DEALS,
    METRIC_REVENUE,
    PER_PARTNER_CAP,
    PROGRAM_CAP,
    Improvement,
    PerDealRebate,
    Period,
    Points,
    Program,
    Rule,
    Target,
    Tiered,
)
from creditops.core.numbers import ZERO, normalize, round_money

# The records of a result are slotted rather than frozen: a run builds tens of thousands of them,
# and frozen dataclasses are several times slower to build. Nothing changes them once built.


@dataclass(slots=True)
class PeriodMetrics:
    deals: int = 0
    revenue: Decimal = ZERO
    counts: Mapping[str, int] = field(default_factory=dict)

    def value(self, metric: str) -> Decimal:
        if metric == METRIC_DEALS:
            return Decimal(self.deals)
        if metric == METRIC_REVENUE:
            return self.revenue
        return Decimal(self.counts.get(metric, 0))


@dataclass(slots=True)
class PartnerMetrics:
    """A partner's figures for the period and its baseline; ``clawed_deals`` are deals closed
    before the period and reversed in it (their ids, sorted), ``clawed_revenue`` their amount."""

    period: PeriodMetrics
    baseline: PeriodMetrics
    clawed_deals: tuple[str, ...] = ()
    clawed_revenue: Decimal = ZERO


@dataclass(slots=True)
class PayoutLine:
    """One line of a partner's payout: the rule, the amount (rounded to cents), and, on demand,
    ``figures`` (the numbers it came from) and ``explain`` (how, in words). Both are derived
    from the partner's metrics and the rule when asked: a result of 10,000 partners has 50,000
    lines, and most are never printed."""

    rule: str
    kind: str
    amount: Decimal
    refs: tuple[str, ...] = ()
    basis: Rule | tuple[PerDealRebate, ...] | None = field(default=None, compare=False,
                                                           repr=False)
    source: PartnerMetrics | Mapping[str, Decimal] | None = field(default=None, compare=False,
                                                                  repr=False)
    text: str | None = field(default=None, compare=False, repr=False)

    @property
    def figures(self) -> Mapping[str, Decimal]:
        if isinstance(self.source, PartnerMetrics):
            return line_figures(self.basis, self.source)
        return self.source or {}

    @property
    def explain(self) -> str:
        return self.text if self.text is not None else explain_line(self)


@dataclass(slots=True)
class PartnerPayout:
    partner_id: str
    name: str
    segment: str
    total: Decimal
    lines: tuple[PayoutLine, ...]
    metrics: PartnerMetrics


@dataclass(frozen=True)
class ProgramResult:
    program: str
    version: str | None
    currency: str
    period: Period
    baseline_period: Period
    partners: tuple[PartnerPayout, ...]
    by_rule: Mapping[str, Decimal]
    by_segment: Mapping[str, Decimal]
    total: Decimal
    warnings: tuple[str, ...] = ()



def rebate_amount(rule: PerDealRebate, deals: int, revenue: Decimal) -> Decimal:
    return rule.rate * revenue if rule.rate is not None else (rule.amount or ZERO) * deals


def tier_slices(rule: Tiered, value: Decimal) -> list[tuple[Decimal, Decimal, Decimal]]:
    """(start, size, rate) of each slice of ``value`` that reaches a tier."""
    slices = []
    for index, tier in enumerate(rule.tiers):
        upper = rule.tiers[index + 1].start if index + 1 < len(rule.tiers) else None
        if value > tier.start:
            top = value if upper is None else min(value, upper)
            slices.append((tier.start, top - tier.start, tier.rate))
    return slices


def points_earned(rule: Points, metrics: PeriodMetrics) -> int:
    earned = sum(points * metrics.counts.get(kind, 0) for kind, points in rule.points)
    return earned if rule.cap_points is None else min(earned, rule.cap_points)


def build_result(program: Program, payouts: Iterable[PartnerPayout]) -> ProgramResult:
    """Orders partners by id and sums lines per rule and totals per segment."""
    ordered = tuple(sorted(payouts, key=lambda payout: payout.partner_id))
    by_rule = {rule.id: ZERO for rule in program.rules}
    by_segment = {name: ZERO for name in program.segment_names}
    for payout in ordered:
        by_segment[payout.segment] = by_segment.get(payout.segment, ZERO) + payout.total
        for line in payout.lines:
            by_rule[line.rule] = by_rule.get(line.rule, ZERO) + line.amount
    matched = {payout.segment for payout in ordered}
    warnings = tuple(
        f"segment {name!r} matches no partner in the partners file" for name in
        program.segment_names if name not in matched)
    return ProgramResult(
        program.id, program.version, program.currency, program.period,
        program.baseline_period, ordered, by_rule, by_segment,
        sum((payout.total for payout in ordered), ZERO), warnings)


# --- explained lines -----------------------------------------------------------------------


def rule_line(rule: Rule, amount: Decimal, metrics: PartnerMetrics) -> PayoutLine:
    """The line of ``rule`` paying ``amount`` (already rounded), for a partner's ``metrics``."""
    return PayoutLine(rule.id, rule.type, amount, basis=rule, source=metrics)


def line_figures(basis: Rule | tuple[PerDealRebate, ...] | None,
                 metrics: PartnerMetrics) -> dict[str, Decimal]:
    """The figures a rule's (or, for a tuple of rebates, the clawback's) line comes from."""
    current = metrics.period
    if isinstance(basis, PerDealRebate):
        return {"deals": Decimal(current.deals), "revenue": current.revenue}
    if isinstance(basis, Target | Tiered):
        return {basis.metric: current.value(basis.metric)}
    if isinstance(basis, Improvement):
        return {basis.metric: current.value(basis.metric),
                "baseline": metrics.baseline.value(basis.metric)}
    if isinstance(basis, Points):
        figures = {kind: Decimal(current.counts.get(kind, 0)) for kind, _ in basis.points}
        figures["points"] = Decimal(sum(points * current.counts.get(kind, 0)
                                        for kind, points in basis.points))
        return figures
    return {"deals": Decimal(len(metrics.clawed_deals)), "revenue": metrics.clawed_revenue}


def clawback_line(rebates: Sequence[PerDealRebate], amount: Decimal,
                  metrics: PartnerMetrics) -> PayoutLine:
    return PayoutLine(CLAWBACK, CLAWBACK, amount, metrics.clawed_deals, basis=tuple(rebates),
                      source=metrics)


def per_partner_cap_line(amount: Decimal, positive: Decimal, cap: Decimal) -> PayoutLine:
    return PayoutLine(PER_PARTNER_CAP, PER_PARTNER_CAP, amount,
                      source={"positive": positive, "cap": cap})


def program_cap_line(amount: Decimal, capped: Decimal, total: Decimal,
                     cap: Decimal) -> PayoutLine:
    return PayoutLine(PROGRAM_CAP, PROGRAM_CAP, amount,
                      source={"payout": capped, "program_total": total, "program_cap": cap})


def explain_line(line: PayoutLine) -> str:
    """The line in words, from its figures and the rule it applies."""
    rule, amount = line.basis, line.amount
    figures = line.figures
    if isinstance(rule, PerDealRebate):
        deals = int(figures["deals"])
        if rule.rate is not None:
            text = (f"{percent(rule.rate)} of the revenue of {deals} net "
                    f"{_plural(deals, 'deal')}, {money(figures['revenue'])}")
        else:
            text = f"{money(rule.amount or ZERO)} per net deal × {deals} {_plural(deals, 'deal')}"
        return f"{text} = {money(amount)}"
    if isinstance(rule, Target):
        value = figures[rule.metric]
        reached = value >= rule.threshold
        return (f"{rule.metric} {quantity(rule.metric, value)} {'≥' if reached else '<'} "
                f"target {quantity(rule.metric, rule.threshold)}: "
                + (f"bonus {money(rule.bonus)}" if reached else "no bonus"))
    if isinstance(rule, Tiered):
        value = figures[rule.metric]
        parts = [f"{quantity(rule.metric, size)} at {_rate(rule.metric, rate)}"
                 for _, size, rate in tier_slices(rule, value)]
        detail = " + ".join(parts) if parts else "below the first tier"
        return f"{rule.metric} {quantity(rule.metric, value)}: {detail} = {money(amount)}"
    if isinstance(rule, Improvement):
        return _improvement_text(rule, figures, amount)
    if isinstance(rule, Points):
        return _points_text(rule, figures, amount)
    if line.kind == CLAWBACK:
        count = len(line.refs)
        shown = ", ".join(line.refs[:10]) + (", …" if count > 10 else "")
        rules = ", ".join(repr(rebate.id) for rebate in rule or ())
        return (f"{count} {_plural(count, 'deal')} closed before the period and reversed in it "
                f"({shown}), revenue {money(figures['revenue'])}: takes back the {rules} "
                f"rebate = {money(amount)}")
    if line.kind == PER_PARTNER_CAP:
        return (f"rule lines total {money(figures['positive'])}, above the per-partner cap "
                f"{money(figures['cap'])}: {money(amount)}")
    total, cap, payout = figures["program_total"], figures["program_cap"], figures["payout"]
    return (f"the program's payouts total {money(total)}, above the program cap {money(cap)}: "
            f"every payout is scaled by {money(cap)} / {money(total)} (rounded down to the "
            f"cent), {money(payout)} becomes {money(payout + amount)}")


def _improvement_text(rule: Improvement, figures: Mapping[str, Decimal],
                      amount: Decimal) -> str:
    value, history = figures[rule.metric], figures["baseline"]
    base = max(history, rule.floor)
    needed = base * (1 + rule.min_gain)

    def show(number: Decimal) -> str:
        return quantity(rule.metric, number)

    text = f"{rule.metric} {show(value)} against baseline {show(history)}"
    if rule.floor > history:
        text += f" (floor {show(rule.floor)})"
    text += f"; needs {show(needed)} (+{percent(rule.min_gain)})"
    if value < needed:
        return text + ": not reached, nothing paid"
    text += f"; pays {_rate(rule.metric, rule.rate)} of the gain {show(value - base)}"
    if rule.cap is not None and rule.rate * (value - base) > rule.cap:
        text += f", capped at {money(rule.cap)}"
    return f"{text} = {money(amount)}"


def _points_text(rule: Points, figures: Mapping[str, Decimal], amount: Decimal) -> str:
    parts = [f"{normalize(figures[kind]):f} {kind} × {points}"
             for kind, points in rule.points if figures[kind]]
    if not parts:
        return "no rewarded behaviour in the period"
    earned = int(figures["points"])
    text = f"{' + '.join(parts)} = {earned} points"
    if rule.cap_points is not None and earned > rule.cap_points:
        text += f", capped at {rule.cap_points}"
    return f"{text}; × {money(rule.point_value)} = {money(amount)}"


def money(value: Decimal) -> str:
    if value == round_money(value):
        return f"{round_money(value):,.2f}"
    return f"{normalize(value):,f}"


def quantity(metric: str, value: Decimal) -> str:
    return money(value) if metric == METRIC_REVENUE else f"{normalize(value):,f}"


def percent(rate: Decimal) -> str:
    return f"{normalize(rate * 100):f}%"


def _rate(metric: str, rate: Decimal) -> str:
    return percent(rate) if metric == METRIC_REVENUE else f"{money(rate)} each"


def _plural(count: int, word: str) -> str:
    return word if count == 1 else f"{word}s"
