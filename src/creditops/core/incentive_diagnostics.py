"""Program diagnostics and replays: a program's flaws in numbers, before it launches.

The diagnosis evaluates the program over its history period (the baseline period of the program:
what partners did just before) and reads, per segment:
- attainability: the share of partners whose own history reaches each goal (a target's
  threshold, each tier above zero, an improvement's required gain, a points cap);
- per-deal rebates: what they would have cost, how much of that paid for revenue up to each
  partner's own baseline (results that would have happened anyway) and how much revenue above
  baseline they bought;
- concentration: the share of payouts going to the top 10% of partners;
- findings: one warning, in words, for each of the seed's don'ts the program commits.
A simulation replays the program over the last periods of data and summarises each.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from creditops.core.incentive_payouts import (
    PartnerMetrics,
    PartnerPayout,
    ProgramResult,
    money,
    percent,
    points_earned,
    quantity,
    rebate_amount,
)
from creditops.core.incentives import (
    ALL_SEGMENTS,
    BEHAVIOUR_KINDS,
    METRIC_DEALS,
    METRIC_REVENUE,
    Improvement,
    PerDealRebate,
    Period,
    Points,
    Program,
    Rule,
    Target,
    Tiered,
    applies_to,
)
from creditops.core.numbers import ZERO, round_money, round_to

# Thresholds of the findings, stated once so the words and the numbers agree.
UNOBTAINABLE_SHARE = Decimal("0.20")   # a goal fewer than 20% of a segment reached
ONE_SIZE_SPREAD = Decimal("0.50")      # one fixed goal reached by 50 points more in a segment
CONCENTRATED_SHARE = Decimal("0.50")   # the top 10% of partners get more than half
TOP_SHARE_OF_PARTNERS = Decimal("0.10")


@dataclass(frozen=True)
class Goal:
    """A goal of a rule: a target's threshold, a tier's start, an improvement's required gain,
    a points cap."""

    rule: str
    label: str
    position: int = 0  # the tier's index for tiered rules


@dataclass(frozen=True)
class Attainment:
    goal: Goal
    segment: str
    partners: int
    reached: int

    @property
    def share(self) -> Decimal:
        return _share(Decimal(self.reached), Decimal(self.partners))


@dataclass(frozen=True)
class RebateCost:
    rule: str
    segment: str
    partners: int
    cost: Decimal
    paid_anyway: Decimal
    revenue: Decimal
    revenue_above_baseline: Decimal

    @property
    def anyway_share(self) -> Decimal:
        return _share(self.paid_anyway, self.cost)


@dataclass(frozen=True)
class Concentration:
    segment: str
    partners: int
    paid_partners: int
    top_partners: int
    total: Decimal
    top_total: Decimal

    @property
    def top_share(self) -> Decimal:
        return _share(self.top_total, self.total)


@dataclass(frozen=True)
class Finding:
    code: str
    message: str
    rule: str | None = None
    segment: str | None = None


@dataclass(frozen=True)
class Diagnosis:
    program: str
    currency: str
    history: Period
    history_baseline: Period
    cost: Decimal
    attainability: tuple[Attainment, ...]
    rebates: tuple[RebateCost, ...]
    concentration: tuple[Concentration, ...]
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class Distribution:
    segment: str
    partners: int
    paid_partners: int
    total: Decimal
    mean: Decimal
    median: Decimal
    p90: Decimal
    largest: Decimal


@dataclass(frozen=True)
class ReplayedPeriod:
    period: Period
    cost: Decimal
    by_rule: dict[str, Decimal]
    distribution: tuple[Distribution, ...]
    attainment: tuple[Attainment, ...]


@dataclass(frozen=True)
class Simulation:
    program: str
    currency: str
    periods: tuple[ReplayedPeriod, ...]
    total_cost: Decimal
    mean_cost: Decimal


def _share(part: Decimal, whole: Decimal) -> Decimal:
    return round_to(part / whole, 4) if whole else ZERO


# --- goals -----------------------------------------------------------------------------------


def goals(rule: Rule) -> list[Goal]:
    if isinstance(rule, Target):
        return [Goal(rule.id, f"{rule.metric} ≥ {quantity(rule.metric, rule.threshold)}")]
    if isinstance(rule, Tiered):
        return [Goal(rule.id, f"{rule.metric} ≥ {quantity(rule.metric, tier.start)} "
                              f"(tier {position + 1})", position)
                for position, tier in enumerate(rule.tiers) if tier.start > 0]
    if isinstance(rule, Improvement):
        return [Goal(rule.id, f"{rule.metric} +{percent(rule.min_gain)} over baseline "
                              f"(at least {quantity(rule.metric, rule.floor)})")]
    if isinstance(rule, Points) and rule.cap_points is not None:
        return [Goal(rule.id, f"the {rule.cap_points}-point cap")]
    return []


def reached(rule: Rule, goal: Goal, metrics: PartnerMetrics) -> bool:
    current = metrics.period
    if isinstance(rule, Target):
        return current.value(rule.metric) >= rule.threshold
    if isinstance(rule, Tiered):
        return current.value(rule.metric) >= rule.tiers[goal.position].start
    if isinstance(rule, Improvement):
        base = max(metrics.baseline.value(rule.metric), rule.floor)
        return current.value(rule.metric) >= base * (1 + rule.min_gain)
    assert isinstance(rule, Points) and rule.cap_points is not None
    return points_earned(rule, current) >= rule.cap_points


def attainment(program: Program, result: ProgramResult) -> tuple[Attainment, ...]:
    """For each goal and each segment its rule applies to: how many partners reached it."""
    by_segment = _by_segment(program, result.partners)
    found = []
    for rule in program.rules:
        for goal in goals(rule):
            for segment, payouts in by_segment.items():
                if applies_to(rule, segment) and payouts:
                    found.append(Attainment(goal, segment, len(payouts), sum(
                        reached(rule, goal, payout.metrics) for payout in payouts)))
    return tuple(found)


def _by_segment(program: Program,
                payouts: Iterable[PartnerPayout]) -> dict[str, list[PartnerPayout]]:
    grouped: dict[str, list[PartnerPayout]] = {name: [] for name in program.segment_names}
    for payout in payouts:
        grouped.setdefault(payout.segment, []).append(payout)
    return grouped


# --- diagnosis -------------------------------------------------------------------------------


def diagnose(program: Program, history: ProgramResult) -> Diagnosis:
    """``history``: the program evaluated over its baseline period (``history.period``), whose
    own baseline (``history.baseline_period``) is what partners did before that."""
    attained = attainment(program, history)
    rebates = _rebate_costs(program, history)
    concentration = (_concentration(ALL_SEGMENTS, history.partners), *(
        _concentration(segment, payouts)
        for segment, payouts in _by_segment(program, history.partners).items() if payouts))
    findings = _findings(program, history, attained, rebates, concentration[0])
    return Diagnosis(program.id, program.currency, history.period, history.baseline_period,
                     history.total, attained, rebates, concentration, tuple(findings))


def _rebate_costs(program: Program, history: ProgramResult) -> tuple[RebateCost, ...]:
    costs = []
    for rule in program.rules:
        if not isinstance(rule, PerDealRebate):
            continue
        for segment, payouts in _by_segment(program, history.partners).items():
            if not applies_to(rule, segment) or not payouts:
                continue
            cost = anyway = revenue = above = ZERO
            for payout in payouts:
                now, before = payout.metrics.period, payout.metrics.baseline
                cost += rebate_amount(rule, now.deals, now.revenue)
                anyway += rebate_amount(rule, min(now.deals, before.deals),
                                        min(now.revenue, before.revenue))
                revenue += now.revenue
                above += max(now.revenue - before.revenue, ZERO)
            costs.append(RebateCost(rule.id, segment, len(payouts), round_money(cost),
                                    round_money(anyway), revenue, above))
    return tuple(costs)


def _concentration(segment: str, payouts: Sequence[PartnerPayout]) -> Concentration:
    amounts = sorted((max(payout.total, ZERO) for payout in payouts), reverse=True)
    top = math.ceil(len(amounts) * TOP_SHARE_OF_PARTNERS) if amounts else 0
    return Concentration(segment, len(amounts), sum(1 for amount in amounts if amount > 0), top,
                         sum(amounts, ZERO), sum(amounts[:top], ZERO))


def _findings(program: Program, history: ProgramResult, attained: Sequence[Attainment],
              rebates: Sequence[RebateCost], overall: Concentration) -> list[Finding]:
    findings = []
    active = history.total != 0 or any(_has_activity(payout.metrics.period.counts.values(),
                                                     payout.metrics.period.deals)
                                       for payout in history.partners)
    if not active:
        findings.append(Finding("no-history", (
            f"No activity in the history period {history.period}: the figures say nothing. "
            "Diagnose with events that cover the period before the program.")))
    findings += _rebate_findings(program, history, rebates)
    findings += _goal_findings(program, history, attained)
    findings += _behaviour_findings(program, history)
    populated = [segment for segment, payouts in _by_segment(program, history.partners).items()
                 if payouts]
    if len(populated) <= 1 or all(set(rule.segments) >= set(populated)
                                  or ALL_SEGMENTS in rule.segments for rule in program.rules):
        findings.append(Finding("one-size-fits-all", (
            "Every rule applies to every partner alike, but different partner types need "
            "different things: segment the program by tier or type and give each segment "
            "the incentives that fit it.")))
    if overall.partners and overall.top_share > CONCENTRATED_SHARE:
        findings.append(Finding("payout-concentration", (
            f"The top 10% of partners ({overall.top_partners} of {overall.partners}) would "
            f"receive {percent(overall.top_share)} of all payouts in the history period: the "
            "program mostly makes big partners bigger.")))
    return findings


def _has_activity(counts: Iterable[int], deals: int) -> bool:
    return deals != 0 or any(counts)


def _rebate_findings(program: Program, history: ProgramResult,
                     rebates: Sequence[RebateCost]) -> list[Finding]:
    findings = []
    currency = program.currency
    for rule in program.rules:
        if not isinstance(rule, PerDealRebate):
            continue
        mine = [cost for cost in rebates if cost.rule == rule.id]
        cost = sum((item.cost for item in mine), ZERO)
        anyway = sum((item.paid_anyway for item in mine), ZERO)
        above = sum((item.revenue_above_baseline for item in mine), ZERO)
        findings.append(Finding("per-deal-rebate", (
            f"Rule {rule.id!r} pays a rebate on every deal closed; partners bake per-deal "
            f"rebates into their margins and stop noticing them. Over {history.period} it "
            f"would have cost {currency} {money(cost)}, of which {currency} {money(anyway)} "
            f"({percent(_share(anyway, cost))}) paid for revenue up to each partner's own "
            f"baseline, results that would have happened anyway; the revenue above baseline "
            f"was {currency} {money(above)}. Reward improvement over the partner's baseline, "
            "revenue targets, or a deal-count target (say 10 deals) instead."), rule.id))
    return findings


def _goal_findings(program: Program, history: ProgramResult,
                   attained: Sequence[Attainment]) -> list[Finding]:
    findings = []
    capped = {rule.id for rule in program.rules if isinstance(rule, Points)}
    for item in attained:
        # A points cap is a limit, not a goal to reach.
        if item.goal.rule not in capped and item.partners and item.share < UNOBTAINABLE_SHARE:
            findings.append(Finding("unobtainable-goal", (
                f"Goal {item.goal.label} of rule {item.goal.rule!r} was reached by only "
                f"{item.reached} of {item.partners} {item.segment!r} partners "
                f"({percent(item.share)}) in their own history ({history.period}): a goal "
                "that looks unobtainable discourages the partners it should move. Set a goal "
                "per segment, or an improvement goal (e.g. 10% over the partner's previous "
                "period)."), item.goal.rule, item.segment))
    fixed = {rule.id for rule in program.rules if isinstance(rule, Target | Tiered)}
    goals_seen: dict[tuple[str, str], list[Attainment]] = {}
    for item in attained:
        if item.goal.rule in fixed:
            goals_seen.setdefault((item.goal.rule, item.goal.label), []).append(item)
    for (rule_id, label), items in goals_seen.items():
        if len(items) < 2:
            continue
        best = max(items, key=lambda item: item.share)
        worst = min(items, key=lambda item: item.share)
        if best.share - worst.share >= ONE_SIZE_SPREAD:
            findings.append(Finding("one-size-goal", (
                f"Rule {rule_id!r} sets one fixed goal ({label}) for "
                f"{', '.join(repr(item.segment) for item in items)}: reached by "
                f"{percent(best.share)} of {best.segment!r} partners but "
                f"{percent(worst.share)} of {worst.segment!r} partners. A fixed goal makes big "
                "partners bigger and keeps small partners small: give each segment its own "
                "goal, or reward improvement."), rule_id))
    return findings


def _behaviour_findings(program: Program, history: ProgramResult) -> list[Finding]:
    findings = []
    for segment, payouts in _by_segment(program, history.partners).items():
        if not payouts:
            continue
        rules = program.rules_for(segment)
        rewards_behaviour = any(
            isinstance(rule, Points) or (isinstance(rule, Target | Tiered | Improvement)
                                         and rule.metric not in (METRIC_DEALS, METRIC_REVENUE))
            for rule in rules)
        if not rewards_behaviour:
            behaviours = ", ".join(kind.replace("_", " ") for kind in BEHAVIOUR_KINDS)
            findings.append(Finding("no-behaviour-incentive", (
                f"Segment {segment!r} is rewarded for results only: no rule rewards the "
                f"behaviours that produce them ({behaviours}). Partners do not always know "
                "the plays that lead to results; reward the steps too."), segment=segment))
    return findings


# --- simulation ------------------------------------------------------------------------------


def replay_periods(period: Period, count: int, last_day: date) -> list[Period]:
    """``count`` consecutive periods as long as ``period``, oldest first, the last ending on
    the day before the program starts or on ``last_day``, whichever is earlier."""
    end = min(period.start - timedelta(days=1), last_day)
    periods = []
    for _ in range(count):
        start = end - timedelta(days=period.days - 1)
        periods.append(Period(start, end))
        end = start - timedelta(days=1)
    return periods[::-1]


def replay(program: Program, results: Sequence[ProgramResult]) -> Simulation:
    """Summarises the program evaluated over each replayed period."""
    periods = []
    for result in results:
        grouped = _by_segment(program, result.partners)
        distribution = [_distribution(ALL_SEGMENTS, result.partners)] + [
            _distribution(segment, payouts) for segment, payouts in grouped.items() if payouts]
        periods.append(ReplayedPeriod(result.period, result.total, dict(result.by_rule),
                                      tuple(distribution), attainment(program, result)))
    total = sum((period.cost for period in periods), ZERO)
    mean = round_money(total / len(periods)) if periods else ZERO
    return Simulation(program.id, program.currency, tuple(periods), total, mean)


def _distribution(segment: str, payouts: Sequence[PartnerPayout]) -> Distribution:
    totals = sorted(payout.total for payout in payouts)
    total = sum(totals, ZERO)
    return Distribution(segment, len(totals), sum(1 for amount in totals if amount > 0), total,
                        round_money(total / len(totals)), _rank(totals, Decimal("0.5")),
                        _rank(totals, Decimal("0.9")), totals[-1])


def _rank(ordered: Sequence[Decimal], quantile: Decimal) -> Decimal:
    """Nearest-rank quantile: an amount some partner actually gets, no interpolation."""
    return ordered[max(math.ceil(quantile * len(ordered)) - 1, 0)]

