"""The support-tier advisor: the expected annual cost of each Success Plan tier for one
organisation, the recommendation with its reasons, break-even points, the comparison with hiring
a Salesforce FTE, and the Premier → Signature upgrade case built from past support cases.

The arithmetic is exact (decimals end to end) and written so a user can redo it by hand:

    price          = price_pct × net_licence_annual
    incident_cost  = Σ_sev incidents_per_year × response_hours × downtime_cost_per_hour
                     × impact_share
    included_value = min(accelerators used, included) × accelerator_hours × consulting rate
                     + 12 × min(Admin Assist hours used, included) × admin rate + other_value
    net_cost       = price + incident_cost − included_value
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from creditops.core.accelerators import add_months
from creditops.core.numbers import ZERO, round_money, round_to

SEVERITIES = ("sev1", "sev2", "sev3", "sev4")
MONTHS = Decimal(12)


@dataclass(frozen=True)
class Tier:
    """What one tier costs and gives. ``accelerators_per_year`` None means unlimited."""

    name: str
    price_pct: Decimal
    response_hours: Mapping[str, Decimal]
    accelerators_per_year: Decimal | None
    admin_assist_hours_per_month: Decimal
    other_value: Decimal = ZERO


@dataclass(frozen=True)
class CsmRule:
    """Who gets a Customer Success Manager: a licence above ``licence_above`` a year, or a
    ``tier`` price of at least ``tier_price_at_least`` a year."""

    licence_above: Decimal
    tier: str
    tier_price_at_least: Decimal


@dataclass(frozen=True)
class Profile:
    """The organisation: money per year unless named per hour or per month."""

    net_licence_annual: Decimal
    downtime_cost_per_hour: Decimal
    incidents_per_year: Mapping[str, Decimal]
    impact_share: Mapping[str, Decimal]
    consulting_rate_per_hour: Decimal
    accelerator_hours: Decimal
    accelerators_used_per_year: Decimal
    admin_assist_hours_used_per_month: Decimal
    admin_rate_per_hour: Decimal
    fte_cost_annual: Decimal
    currency: str = "USD"


@dataclass(frozen=True)
class TierCost:
    tier: str
    price: Decimal
    incident_cost: Decimal
    included_value: Decimal
    net_cost: Decimal
    incident_hours: Decimal  # Σ incidents × response hours × impact share: the downtime slope


@dataclass(frozen=True)
class BreakEven:
    """The downtime cost per hour at which ``tier`` and the baseline cost the same, if any."""

    tier: str
    downtime_cost_per_hour: Decimal | None
    explanation: str


@dataclass(frozen=True)
class FteComparison:
    fte_cost_annual: Decimal
    price_minus_fte: Mapping[str, Decimal]
    ftes_for_price: Mapping[str, Decimal | None]
    summary: str


@dataclass(frozen=True)
class Advice:
    costs: tuple[TierCost, ...]
    recommended: str
    reasons: tuple[str, ...]
    break_even: tuple[BreakEven, ...]
    csm_eligible: bool
    csm_reason: str
    fte: FteComparison


def money(amount: Decimal, currency: str) -> str:
    """An amount as people read it: currency, thousands separators, cents."""
    return f"{currency} {round_money(amount):,}"


def price(tier: Tier, profile: Profile) -> Decimal:
    return tier.price_pct * profile.net_licence_annual


def incident_hours(tier: Tier, profile: Profile) -> Decimal:
    return sum(
        (profile.incidents_per_year[sev] * tier.response_hours[sev] * profile.impact_share[sev]
         for sev in SEVERITIES),
        ZERO,
    )


def included_value(tier: Tier, profile: Profile) -> Decimal:
    accelerators = profile.accelerators_used_per_year
    if tier.accelerators_per_year is not None:
        accelerators = min(accelerators, tier.accelerators_per_year)
    admin_hours = min(profile.admin_assist_hours_used_per_month, tier.admin_assist_hours_per_month)
    return (accelerators * profile.accelerator_hours * profile.consulting_rate_per_hour
            + MONTHS * admin_hours * profile.admin_rate_per_hour
            + tier.other_value)


def tier_cost(tier: Tier, profile: Profile) -> TierCost:
    tier_price = price(tier, profile)
    hours = incident_hours(tier, profile)
    incidents = hours * profile.downtime_cost_per_hour
    value = included_value(tier, profile)
    return TierCost(tier.name, tier_price, incidents, value, tier_price + incidents - value, hours)


def break_even(cost: TierCost, baseline: TierCost, profile: Profile) -> BreakEven:
    """Net costs are straight lines in the downtime cost d: fixed + d × incident_hours. They
    cross where d = (fixed_tier − fixed_baseline) / (hours_baseline − hours_tier)."""
    name, base, cur = cost.tier, baseline.tier, profile.currency
    fixed_gap = (cost.price - cost.included_value) - (baseline.price - baseline.included_value)
    slope_gap = baseline.incident_hours - cost.incident_hours
    if slope_gap == 0:
        if fixed_gap == 0:
            text = f"{name} and {base} cost the same at any downtime cost."
        else:
            side = "more" if fixed_gap > 0 else "less"
            text = (f"{name} expects as many weighted hours of waiting as {base}, so the cost "
                    f"of downtime never changes the comparison: {name} costs "
                    f"{money(abs(fixed_gap), cur)} a year {side} at any downtime cost.")
        return BreakEven(name, None, text)
    point = fixed_gap / slope_gap
    if point < 0:
        if slope_gap > 0:
            text = (f"{name} is cheaper than {base} at any downtime cost: what it includes "
                    "outweighs its price even if downtime cost nothing.")
        else:
            text = (f"{name} is never cheaper than {base}: it costs more and its response "
                    "targets are slower.")
        return BreakEven(name, None, text)
    if slope_gap > 0:
        text = (f"{name} is cheaper than {base} once an hour of downtime costs more than "
                f"{money(point, cur)}.")
    else:
        text = (f"{name} is cheaper than {base} only while an hour of downtime costs less "
                f"than {money(point, cur)}.")
    return BreakEven(name, point, text)


def csm_eligibility(rule: CsmRule, tiers: Sequence[Tier], profile: Profile) -> tuple[bool, str]:
    cur = profile.currency
    if profile.net_licence_annual > rule.licence_above:
        return True, (f"Eligible for a Customer Success Manager: net licence "
                      f"{money(profile.net_licence_annual, cur)} is above "
                      f"{money(rule.licence_above, cur)}.")
    reference = next((tier for tier in tiers if tier.name == rule.tier), None)
    if reference is None:
        raise ValueError(f"the CSM rule names tier {rule.tier!r}, which is not in the catalogue")
    reference_price = price(reference, profile)
    if reference_price >= rule.tier_price_at_least:
        return True, (f"Eligible for a Customer Success Manager: {rule.tier} would cost "
                      f"{money(reference_price, cur)}, at least "
                      f"{money(rule.tier_price_at_least, cur)}.")
    return False, (f"Not eligible for a Customer Success Manager: net licence "
                   f"{money(profile.net_licence_annual, cur)} is not above "
                   f"{money(rule.licence_above, cur)} and {rule.tier} would cost "
                   f"{money(reference_price, cur)}, below {money(rule.tier_price_at_least, cur)}.")


def fte_comparison(costs: Sequence[TierCost], profile: Profile) -> FteComparison:
    fte, cur = profile.fte_cost_annual, profile.currency
    paid = [cost for cost in costs if cost.price > 0]
    gaps = {cost.tier: cost.price - fte for cost in paid}
    ratios = {cost.tier: round_to(cost.price / fte, 2) if fte > 0 else None for cost in paid}
    if not paid:
        summary = "No paid tier to compare with hiring a Salesforce FTE."
    else:
        parts = []
        for cost in paid:
            gap = gaps[cost.tier]
            relation = ("the same as" if gap == 0
                        else f"{money(abs(gap), cur)} {'more' if gap > 0 else 'less'} than")
            parts.append(f"{cost.tier} costs {money(cost.price, cur)}, {relation} one FTE")
        summary = (f"A Salesforce FTE costs {money(fte, cur)} a year. " + "; ".join(parts)
                   + ". An FTE adds capacity but neither 24/7 response targets nor Salesforce's "
                   "own experts; a tier adds those but no one inside the team.")
    return FteComparison(fte, gaps, ratios, summary)


def _recommendation_reasons(ranked: Sequence[TierCost], baseline: TierCost,
                            points: Mapping[str, BreakEven], tiers: Mapping[str, Tier],
                            profile: Profile) -> list[str]:
    best, cur = ranked[0], profile.currency
    reasons = [
        f"{best.tier} has the lowest expected annual net cost: {money(best.net_cost, cur)} "
        f"= price {money(best.price, cur)} + expected incident cost "
        f"{money(best.incident_cost, cur)} − included services you will use "
        f"{money(best.included_value, cur)}."
    ]
    if len(ranked) > 1:
        runner = ranked[1]
        gap = runner.net_cost - best.net_cost
        reasons.append(
            f"The next best, {runner.tier}, costs {money(gap, cur)} a year more"
            + (" (same net cost; the lower price wins)." if gap == 0 else ".")
        )
    if best.tier != baseline.tier:
        saved = baseline.incident_cost - best.incident_cost
        if saved > 0:
            reasons.append(
                f"Its response targets cut the expected cost of waiting on incidents by "
                f"{money(saved, cur)} a year against {baseline.tier}, at "
                f"{money(profile.downtime_cost_per_hour, cur)} per hour of downtime."
            )
        reasons.append(points[best.tier].explanation)
        per_session = profile.accelerator_hours * profile.consulting_rate_per_hour
        if per_session > 0 and tiers[best.tier].accelerators_per_year != 0:
            reasons.append(
                f"Its value depends on use: each Accelerator used is worth "
                f"{money(per_session, cur)} of consulting; the profile counts "
                f"{round_to(profile.accelerators_used_per_year, 2).normalize():f} a year."
            )
    else:
        paid = [points[cost.tier] for cost in ranked if cost.tier in points]
        reasons.extend(point.explanation for point in paid)
    return reasons


def advise(tiers: Sequence[Tier], profile: Profile, baseline: str,
           csm_rule: CsmRule) -> Advice:
    """Every tier's expected annual cost and the cheapest one (ties: the lower price, then
    catalogue order), with reasons, break-even points against ``baseline``, CSM eligibility and
    the FTE comparison."""
    if not tiers:
        raise ValueError("no tier to compare")
    by_name = {tier.name: tier for tier in tiers}
    if baseline not in by_name:
        raise ValueError(f"baseline tier {baseline!r} is not in the catalogue")
    costs = [tier_cost(tier, profile) for tier in tiers]
    order = {tier.name: index for index, tier in enumerate(tiers)}
    ranked = sorted(costs, key=lambda cost: (cost.net_cost, cost.price, order[cost.tier]))
    base_cost = next(cost for cost in costs if cost.tier == baseline)
    points = {cost.tier: break_even(cost, base_cost, profile)
              for cost in costs if cost.tier != baseline}
    eligible, csm_reason = csm_eligibility(csm_rule, tiers, profile)
    reasons = _recommendation_reasons(ranked, base_cost, points, by_name, profile)
    return Advice(tuple(costs), ranked[0].tier, tuple(reasons), tuple(points.values()),
                  eligible, csm_reason, fte_comparison(costs, profile))


# ---------------------------------------------------------------------------------------------
# The Premier → Signature upgrade case


@dataclass(frozen=True)
class SupportCase:
    id: str
    opened: date
    severity: str
    first_response_hours: Decimal
    resolution_hours: Decimal | None  # None while the case is open


@dataclass(frozen=True)
class SeverityLine:
    severity: str
    cases: int
    saved_hours: Decimal
    value: Decimal


@dataclass(frozen=True)
class UpgradeCase:
    from_tier: str
    to_tier: str
    window_start: date  # exclusive: cases opened after this day
    window_end: date  # inclusive
    cases_in_file: int
    cases_counted: int
    by_severity: tuple[SeverityLine, ...]
    saved_hours: Decimal
    value: Decimal
    incremental_price: Decimal
    incremental_included_value: Decimal
    net_benefit: Decimal
    reasons: tuple[str, ...]


def upgrade_case(cases: Sequence[SupportCase], current: Tier, target: Tier, profile: Profile,
                 as_of: date) -> UpgradeCase:
    """What ``target``'s first-response targets would have saved on the cases of the 12 months
    to ``as_of``: saved hours = Σ max(0, first response − target's response for the case's
    severity); value = Σ saved hours × downtime cost per hour × the severity's impact share."""
    window_start = add_months(as_of, -12)
    counted = [case for case in cases if window_start < case.opened <= as_of]
    lines = []
    for sev in SEVERITIES:
        of_sev = [case for case in counted if case.severity == sev]
        saved = sum((max(ZERO, case.first_response_hours - target.response_hours[sev])
                     for case in of_sev), ZERO)
        value = saved * profile.downtime_cost_per_hour * profile.impact_share[sev]
        lines.append(SeverityLine(sev, len(of_sev), saved, value))
    saved_hours = sum((line.saved_hours for line in lines), ZERO)
    value = sum((line.value for line in lines), ZERO)
    extra_price = price(target, profile) - price(current, profile)
    extra_included = included_value(target, profile) - included_value(current, profile)
    net = value + extra_included - extra_price
    cur = profile.currency
    reasons = [
        f"{len(counted)} of {len(cases)} cases were opened in the 12 months to "
        f"{as_of.isoformat()}; {target.name}'s first-response targets would have cut "
        f"{round_to(saved_hours, 2):f} hours of waiting ("
        + ", ".join(f"{line.severity} {round_to(line.saved_hours, 2):f} h" for line in lines)
        + f"), worth {money(value, cur)} at {money(profile.downtime_cost_per_hour, cur)} per "
        "hour of downtime and each severity's impact share.",
        f"{target.name} costs {money(extra_price, cur)} a year more than {current.name} "
        f"({_pct(target.price_pct)} vs {_pct(current.price_pct)} of net licence).",
    ]
    if extra_included != 0:
        reasons.append(
            f"Included services you will use differ by {money(extra_included, cur)} a year.")
    if net > 0:
        reasons.append(f"On this history the upgrade pays back: {money(net, cur)} a year "
                       "better off.")
    else:
        reasons.append(
            f"On this history the upgrade does not pay back: {money(-net, cur)} a year worse "
            f"off. If what you want from {target.name} is proactive planning or a dedicated "
            "Customer Success Manager rather than faster response, put that value in the "
            "tier's other_value and compare again.")
    return UpgradeCase(current.name, target.name, window_start, as_of, len(cases),
                       len(counted), tuple(lines), saved_hours, value, extra_price,
                       extra_included, net, tuple(reasons))


def _pct(fraction: Decimal) -> str:
    return f"{round_to(fraction * 100, 2).normalize():f}%"
