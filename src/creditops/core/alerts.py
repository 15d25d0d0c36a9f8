"""Alert rules (PRODUCT.md §4) as pure functions of the register, plan progress and contracts.

Each rule yields candidates with a dedupe key (rule, subject, threshold, period): an alert
fires once per key, whatever the number of checks. Where a check finds several thresholds of a
rule crossed at once (a grant already 87% used when first checked), only the most telling one
fires: the highest consumption threshold reached, the nearest expiry lead time reached.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from creditops.core.model import Contract
from creditops.core.numbers import ZERO, normalize, round_money, round_to
from creditops.core.plans import PlanProgress, acceleration_plan, burn_ahead, days_between
from creditops.core.register import PoolRegister, RegisterRow

RULES = ("consumption", "projected_lapse", "expiry", "plan_behind", "renewal")
DEFAULT_CONSUMPTION_THRESHOLDS = tuple(
    Decimal(text) for text in ("0.5", "0.7", "0.8", "0.85", "0.9", "0.95", "1"))
DEFAULT_EXPIRY_DAYS = (90, 60, 30, 7)
DEFAULT_RENEWAL_DAYS = (150, 120)
DEFAULT_PLAN_BEHIND = Decimal("0.20")
_INSTANT = timedelta(microseconds=1)


@dataclass(frozen=True)
class AlertRules:
    """Which rules run and with what thresholds; ``None`` switches a rule off."""

    consumption: tuple[Decimal, ...] | None = DEFAULT_CONSUMPTION_THRESHOLDS
    projected_lapse: bool = True
    expiry_days: tuple[int, ...] | None = DEFAULT_EXPIRY_DAYS
    plan_behind: Decimal | None = DEFAULT_PLAN_BEHIND
    renewal_days: tuple[int, ...] | None = DEFAULT_RENEWAL_DAYS


@dataclass(frozen=True)
class AlertCandidate:
    rule: str
    subject: str
    threshold: str
    period: str
    severity: str  # "info", "warning" or "critical"
    title: str
    lines: tuple[str, ...]
    pool_id: str | None = None
    grant_id: str | None = None
    contract_id: str | None = None
    facts: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def dedupe_key(self) -> str:
        return "|".join((self.rule, self.subject, self.threshold, self.period))


def last_day(end: datetime) -> date:
    """The last day a balance ending (exclusively) at ``end`` can be used."""
    return (end - _INSTANT).date()


def quantity_text(value: Decimal) -> str:
    return f"{normalize(value):,f}"


def percent_text(share: Decimal) -> str:
    return f"{normalize(round_to(share * 100, 1)):f}%"


def money_text(amount: Decimal, currency: str) -> str:
    return f"{currency} {round_money(amount):,.2f}"


def _threshold_text(value: Decimal) -> str:
    return format(normalize(value), "f")


def _grant_lines(entry: PoolRegister, row: RegisterRow, currency: str) -> list[str]:
    pool = entry.pool
    unit = pool.unit
    lines = [
        f"Pool: {pool.id}" + (f" ({pool.name})" if pool.name else ""),
        f"Grant: {row.id}",
        f"Contracted: {quantity_text(row.contracted)} {unit}",
        f"Consumed: {quantity_text(row.consumed)} {unit}",
        f"Remaining: {quantity_text(row.remaining)} {unit}",
    ]
    if row.expires is not None:
        lines.append(f"Last day: {last_day(row.expires).isoformat()}")
    lines.append(f"Run-rate: {quantity_text(row.run_rate)} {unit} per day")
    lines.append(
        f"Projected unconsumed at expiry: {quantity_text(row.projected_unconsumed)} {unit} "
        f"({percent_text(row.projected_unconsumed_pct)}, "
        f"{money_text(row.projected_unconsumed_value, currency)})")
    if row.owner:
        lines.append(f"Owner: {row.owner}")
    return lines


def _open_rows(entry: PoolRegister) -> list[RegisterRow]:
    return [row for row in entry.grants if row.status not in ("voided", "expired")]


def consumption_alerts(entry: PoolRegister, thresholds: Sequence[Decimal], currency: str
                       ) -> list[AlertCandidate]:
    found = []
    for row in _open_rows(entry):
        if row.contracted <= ZERO:
            continue
        share = row.consumed / row.contracted
        reached = [t for t in thresholds if share >= t]
        if not reached:
            continue
        top = max(reached)
        period = entry.balance.grant(row.id).period_start.date().isoformat()
        found.append(AlertCandidate(
            rule="consumption", subject=row.id, threshold=_threshold_text(top), period=period,
            severity="warning" if top >= Decimal("0.95") else "info",
            title=f"{row.id}: {percent_text(top)} consumed "
                  f"({quantity_text(row.consumed)} of {quantity_text(row.contracted)} "
                  f"{entry.pool.unit})",
            lines=tuple([f"{percent_text(share)} of the grant is consumed; threshold "
                         f"{percent_text(top)} reached.", *_grant_lines(entry, row, currency)]),
            pool_id=entry.pool.id, grant_id=row.id,
            facts={"consumed_share": format(normalize(round_to(share, 6)), "f")}))
    return found


def lapse_alerts(entry: PoolRegister, risk_threshold: Decimal, as_of: datetime, currency: str,
                 chances: Mapping[str, Decimal] | None = None, buffer_days: int = 30
                 ) -> list[AlertCandidate]:
    """Grants whose baseline projection loses more than the risk threshold: at risk, and in
    need of an acceleration plan (the needed run-rate is part of the message)."""
    found = []
    for row in entry.grants:
        if row.status != "at_risk" or row.expires is None:
            continue
        balance = entry.balance.grant(row.id)
        plan = acceleration_plan(row.id, row.remaining, row.expires, as_of, row.run_rate,
                                 ahead=burn_ahead(entry.balance.grants, row.id),
                                 buffer_days=buffer_days)
        unit = entry.pool.unit
        lines = [
            f"Projected to lapse: {quantity_text(row.projected_unconsumed)} {unit} "
            f"({percent_text(row.projected_unconsumed_pct)} of the grant, above the "
            f"{percent_text(risk_threshold)} risk threshold), worth "
            f"{money_text(row.projected_unconsumed_value, currency)}.",
            f"To use it fully by the end of {last_day(plan.target).isoformat()}: "
            f"{quantity_text(plan.needed_rate)} {unit} per day instead of "
            f"{quantity_text(plan.current_rate)} (gap {quantity_text(plan.gap)} per day).",
        ]
        chance = (chances or {}).get(row.id)
        if chance is not None:
            lines.append(f"Forecast: probability that the lapse exceeds the threshold "
                         f"{percent_text(chance)}.")
        lines.append(f"Plan it with: creditops accelerate {row.id}")
        found.append(AlertCandidate(
            rule="projected_lapse", subject=row.id,
            threshold=_threshold_text(risk_threshold),
            period=last_day(row.expires).isoformat(), severity="warning",
            title=f"{row.id}: {percent_text(row.projected_unconsumed_pct)} projected to lapse "
                  f"on {last_day(row.expires).isoformat()} "
                  f"({money_text(row.projected_unconsumed_value, currency)})",
            lines=tuple(lines + _grant_lines(entry, row, currency)),
            pool_id=entry.pool.id, grant_id=row.id,
            facts={"needed_rate": format(plan.needed_rate, "f"),
                   "period_start": balance.period_start.date().isoformat()}))
    return found


def expiry_alerts(entry: PoolRegister, lead_days: Sequence[int], as_of: datetime,
                  currency: str) -> list[AlertCandidate]:
    """Balances that lapse within a lead time with units left. A lead time counts only when
    it is at most half the balance's period, so a monthly allowance is not announced a month
    ahead every month."""
    found = []
    for row in _open_rows(entry):
        if row.remaining <= ZERO or row.expires is None:
            continue
        balance = entry.balance.grant(row.id)
        days_left = days_between(as_of, row.expires)
        period_days = days_between(balance.period_start, row.expires)
        reached = [d for d in lead_days if days_left <= d and 2 * d <= period_days]
        if not reached or days_left <= ZERO:
            continue
        nearest = min(reached)
        day = last_day(row.expires)
        found.append(AlertCandidate(
            rule="expiry", subject=row.id, threshold=f"{nearest}d", period=day.isoformat(),
            severity="critical" if nearest <= 7 else "warning" if nearest <= 30 else "info",
            title=f"{row.id}: {quantity_text(row.remaining)} {entry.pool.unit} left, last day "
                  f"{day.isoformat()} (in {int(days_left)} days)",
            lines=tuple([f"Less than {nearest} days left to use this balance.",
                         *_grant_lines(entry, row, currency)]),
            pool_id=entry.pool.id, grant_id=row.id))
    return found


def plan_behind_alerts(entry: PoolRegister, progress: PlanProgress | None, threshold: Decimal
                       ) -> list[AlertCandidate]:
    if progress is None or progress.behind_pct is None or progress.behind_pct <= threshold:
        return []
    assert progress.last_due is not None
    unit = entry.pool.unit
    due = progress.last_due
    lines = [
        f"Planned by now: {quantity_text(progress.planned_to_date)} {unit} (milestones due "
        f"since {progress.start.date().isoformat()}).",
        f"Consumed since then: {quantity_text(progress.actual_to_date)} {unit}.",
        f"Behind plan: {quantity_text(progress.behind)} {unit} "
        f"({percent_text(progress.behind_pct)}, threshold {percent_text(threshold)}).",
        f"Last milestone due: {due.at.date().isoformat()} {quantity_text(due.quantity)} {unit}"
        + (f" — {due.description}" if due.description else ""),
    ]
    if progress.next_due is not None:
        nxt = progress.next_due
        lines.append(f"Next milestone: {nxt.at.date().isoformat()} "
                     f"{quantity_text(nxt.quantity)} {unit}"
                     + (f" — {nxt.description}" if nxt.description else ""))
    return [AlertCandidate(
        rule="plan_behind", subject=entry.pool.id, threshold=_threshold_text(threshold),
        period=due.at.date().isoformat(), severity="warning",
        title=f"{entry.pool.id}: {percent_text(progress.behind_pct)} behind its utilisation plan",
        lines=tuple(lines), pool_id=entry.pool.id,
        facts={"behind": format(progress.behind, "f")})]


def renewal_alerts(contract: Contract, lead_days: Sequence[int], as_of: datetime,
                   entries: Iterable[PoolRegister], currency: str) -> list[AlertCandidate]:
    """A contract's end approaching: the renewal preparation window, with the unused value
    of its pools to bring to the negotiation."""
    days_left = days_between(as_of, contract.end)
    reached = [d for d in lead_days if days_left <= d]
    if not reached or days_left <= ZERO:
        return []
    nearest = min(reached)
    day = last_day(contract.end)
    lines = [f"Contract: {contract.id} — {contract.name}", f"Ends: {day.isoformat()} "
             f"(in {int(days_left)} days)"]
    if contract.net_annual_value is not None:
        lines.append(f"Net annual value: {money_text(contract.net_annual_value, currency)}")
    unused = ZERO
    for entry in sorted(entries, key=lambda e: e.pool.id):
        if entry.pool.contract != contract.id:
            continue
        value = entry.row.remaining * entry.pool.unit_value
        unused += value
        lines.append(f"  {entry.pool.id}: {quantity_text(entry.row.remaining)} "
                     f"{entry.pool.unit} left ({money_text(value, currency)}), lapsed so far "
                     f"{quantity_text(entry.row.lapsed)}")
    lines.insert(2, f"Unused value of its pools today: {money_text(unused, currency)}")
    return [AlertCandidate(
        rule="renewal", subject=contract.id, threshold=f"{nearest}d", period=day.isoformat(),
        severity="info",
        title=f"Renewal of {contract.id} in {int(days_left)} days ({day.isoformat()}): "
              "prepare the negotiation",
        lines=tuple(lines), contract_id=contract.id)]


def evaluate_pool(entry: PoolRegister, rules: AlertRules, as_of: datetime, currency: str,
                  risk_threshold: Decimal, progress: PlanProgress | None = None,
                  chances: Mapping[str, Decimal] | None = None) -> list[AlertCandidate]:
    """Every candidate the pool-level rules raise for one pool."""
    found: list[AlertCandidate] = []
    if rules.consumption:
        found += consumption_alerts(entry, rules.consumption, currency)
    if rules.projected_lapse:
        found += lapse_alerts(entry, risk_threshold, as_of, currency, chances)
    if rules.expiry_days:
        found += expiry_alerts(entry, rules.expiry_days, as_of, currency)
    if rules.plan_behind is not None:
        found += plan_behind_alerts(entry, progress, rules.plan_behind)
    return found
