"""The quarterly governance review and the calendar export."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from creditops.adapters.ical import CalendarEvent, stable_uid, write_calendar
from creditops.adapters.reports_governance import write_governance
from creditops.adapters.storage.repository import (
    load_contracts,
    load_pools,
    load_usage,
    read_settings,
    workspace_zone,
)
from creditops.adapters.storage.tables import AlertRow, OutcomeRow
from creditops.core.alerts import AlertRules, last_day, quantity_text
from creditops.core.errors import InputError, Problem
from creditops.core.governance import (
    AlertLine,
    GovernanceReport,
    Outcome,
    PlanLine,
    PoolPeriod,
    RiskLine,
    outcome_headline,
    parse_period,
    quarter_of,
    summarise_kinds,
    total_kinds,
)
from creditops.core.ledger import Ledger
from creditops.core.model import Pool, Usage, day_start
from creditops.core.numbers import ZERO
from creditops.core.register import Register, build_pool_register
from creditops.services.alert_routing import rules_from_json
from creditops.services.milestones import load_milestones
from creditops.services.plans import plan_views
from creditops.services.workspace import (
    Workspace,
    load_facts,
    register_settings,
    resolve_as_of,
)

FORMATS = ("html", "xlsx", "md")


def _used_and_lapsed(pool: Pool, usages: list[Usage], start: datetime, end: datetime
                     ) -> tuple[Decimal, Decimal]:
    """Units consumed from grants and units lapsed over [start, end), from the exact ledger."""
    ledger = Ledger(pool, usages)
    ledger.advance(start)
    before = ledger.snapshot()
    ledger.advance(end)
    after = ledger.snapshot()
    return after.consumed - before.consumed, after.lapsed - before.lapsed


def outcome_from_row(row: OutcomeRow) -> Outcome:
    return Outcome(metric=row.metric, unit=row.unit, before=row.before, after=row.after,
                   before_day=row.before_day, after_day=row.after_day,
                   value_used=row.value_used, pool_id=row.pool_id, grant_id=row.grant_id,
                   note=row.note)


def governance_report(workspace: Workspace, period_text: str | None = None,
                      as_of_text: str | None = None, *, now: datetime | None = None
                      ) -> GovernanceReport:
    """The review of one period (default: the quarter of ``as_of``), as of the end of the
    period or ``as_of`` when that is sooner."""
    now = now or datetime.now(UTC)
    with workspace.session() as session:
        zone = workspace_zone(session)
        requested = resolve_as_of(as_of_text, zone, now)
        try:
            period = parse_period(period_text) if period_text else quarter_of(
                (requested - timedelta(microseconds=1)).date())
        except ValueError as error:
            raise InputError(Problem(str(error), column="--period")) from None
        start = day_start(period.start, zone)
        as_of = min(requested, day_start(period.end, zone))
        if as_of <= start:
            raise InputError(Problem(f"{period.label} has not started by {requested.date()}",
                                     column="--period"))
        year_start = day_start(date(period.start.year, 1, 1), zone)
        raw = read_settings(session)
        settings = register_settings(raw)
        pools = load_pools(session)
        usage = load_usage(session, before=as_of)
        contracts = load_contracts(session)
        milestones = load_milestones(session, zone)
        alerts = list(session.scalars(select(AlertRow).order_by(AlertRow.id)))
        outcomes = list(session.scalars(select(OutcomeRow).order_by(OutcomeRow.id)))
    currency = str(raw.get("currency", "USD"))
    entries = []
    rows = []
    risks = []
    for pool in pools:
        usages = usage.get(pool.id, [])
        entry = build_pool_register(pool, usages, as_of, settings, contracts)
        entries.append(entry)
        used, lapsed = _used_and_lapsed(pool, usages, start, as_of)
        used_ytd, lapsed_ytd = _used_and_lapsed(pool, usages, year_start, as_of)
        at_risk = [g for g in entry.grants if g.status == "at_risk"]
        rows.append(PoolPeriod(
            pool_id=pool.id, name=pool.name, kind=pool.kind, unit=pool.unit,
            unit_value=pool.unit_value, consumed=used, lapsed=lapsed, consumed_ytd=used_ytd,
            lapsed_ytd=lapsed_ytd, remaining=entry.row.remaining,
            at_risk=sum((g.projected_unconsumed for g in at_risk), ZERO),
            overage_value=entry.overage_value, status=entry.row.status))
        risks += [RiskLine(pool.id, g.id, last_day(g.expires) if g.expires else None,
                           g.projected_unconsumed, g.projected_unconsumed_pct,
                           g.projected_unconsumed_value, g.owner) for g in at_risk]
    register = Register(as_of, tuple(entries))
    plans = [PlanLine(
        pool_id=view.pool.id,
        planned_to_date=view.progress.planned_to_date if view.progress else ZERO,
        actual_to_date=view.progress.actual_to_date if view.progress else ZERO,
        behind_pct=view.progress.behind_pct if view.progress else None,
        coverage=view.coverage, front_loading=view.front_loading,
        next_milestone=None if not view.progress or not view.progress.next_due else
        f"{view.progress.next_due.at.date().isoformat()}: "
        f"{quantity_text(view.progress.next_due.quantity)} {view.pool.unit}"
        + (f" — {view.progress.next_due.description}"
           if view.progress.next_due.description else ""))
        for view in plan_views(pools, usage, register, milestones) if view.milestones]
    in_period = [a for a in alerts if start <= a.raised_at < as_of or start <= a.as_of < as_of]
    kinds = summarise_kinds(rows)
    names = {pool.id: pool.name or pool.id for pool in pools}
    return GovernanceReport(
        title="Credits and incentives governance review",
        currency=currency, period=period, as_of=as_of, kinds=tuple(kinds),
        total=total_kinds(kinds), pools=tuple(rows),
        at_risk=tuple(sorted(risks, key=lambda r: -r.value)),
        alerts_by_rule=dict(sorted(Counter(a.rule for a in in_period).items())),
        open_alerts=tuple(AlertLine(a.id, a.raised_at, a.rule,
                                    a.grant_id or a.pool_id or a.contract_id or "", a.title,
                                    a.state) for a in alerts if a.state != "resolved"),
        plans=tuple(plans),
        outcomes=tuple((outcome_from_row(o), outcome_headline(
            outcome_from_row(o), names.get(o.pool_id or "", o.pool_id or o.grant_id or
                                           o.milestone_id or ""), currency))
            for o in outcomes
            if (o.after_day or o.before_day or o.created_at.date()) < period.end),
    )


def export_governance(workspace: Workspace, path: Path | None, fmt: str | None = None,
                      period_text: str | None = None, as_of_text: str | None = None, *,
                      now: datetime | None = None) -> tuple[GovernanceReport, Path]:
    """Writes the review to ``path`` (default ``governance-PERIOD.FORMAT``); the format comes
    from ``fmt``, else from the file name, else HTML."""
    chosen = (fmt or (path.suffix.lstrip(".") if path is not None and path.suffix else "html")
              ).lower()
    chosen = {"markdown": "md", "htm": "html"}.get(chosen, chosen)
    if chosen not in FORMATS:
        raise InputError(Problem(f"unknown format {chosen!r}; expected html, xlsx or md",
                                 column="--format"))
    report = governance_report(workspace, period_text, as_of_text, now=now)
    target = path or Path(f"governance-{report.period.label}.{chosen}")
    write_governance(report, target, chosen)
    return report, target


# -- the calendar -------------------------------------------------------------------------------

@dataclass(frozen=True)
class CalendarSummary:
    events: int
    by_kind: dict[str, int]


def calendar_events(workspace: Workspace, as_of_text: str | None = None, *,
                    now: datetime | None = None) -> list[CalendarEvent]:
    """Grant expiries and the alert lead dates before them, plan milestones, contract ends
    and their renewal preparation dates. UIDs come from the ids, so a new export updates the
    events a calendar already holds."""
    with workspace.session() as session:
        facts = load_facts(session, as_of_text, now=now)
        milestones = load_milestones(session, facts.zone)
    as_of, settings, pools, usage, contracts = (facts.as_of, facts.settings, facts.pools,
                                                facts.usage, facts.contracts)
    rules = rules_from_json(AlertRules(), facts.document.get("alerts"))
    today = (as_of - timedelta(microseconds=1)).date()  # the last day as_of covers
    events: list[CalendarEvent] = []
    units = {pool.id: pool.unit for pool in pools}
    for pool in pools:
        entry = build_pool_register(pool, usage.get(pool.id, []), as_of, settings, contracts)
        for row in entry.grants:
            balance = entry.balance.grant(row.id)
            if not balance.active or row.expires is None:
                continue
            day = last_day(row.expires)
            left = f"{quantity_text(row.remaining)} {pool.unit} left"
            detail = (f"Pool {pool.id}" + (f" ({pool.name})" if pool.name else "")
                      + f"\nGrant {row.id}: {left} as of {today.isoformat()}; projected to "
                      f"lapse {quantity_text(row.projected_unconsumed)} {pool.unit}"
                      + (f"\nOwner: {row.owner}" if row.owner else ""))
            events.append(CalendarEvent(
                uid=stable_uid("expiry", row.id, day.isoformat()),
                summary=f"Last day of {row.id} ({left})", start=day, description=detail,
                categories=("creditops", "expiry")))
            for lead in rules.expiry_days or ():
                lead_day = day - timedelta(days=lead)
                if lead_day >= today and lead_day > balance.period_start.date():
                    events.append(CalendarEvent(
                        uid=stable_uid("expiry-lead", row.id, day.isoformat(), str(lead)),
                        summary=f"{row.id} lapses in {lead} days ({left})", start=lead_day,
                        description=detail, categories=("creditops", "alert")))
    for milestone in milestones:
        unit = units.get(milestone.pool_id, "")
        events.append(CalendarEvent(
            uid=stable_uid("milestone", milestone.id),
            summary=f"Milestone {milestone.pool_id}: {quantity_text(milestone.quantity)} {unit}"
                    + (f" — {milestone.description}" if milestone.description else ""),
            start=milestone.at.date(),
            description="\n".join(part for part in (
                f"Planned use of {quantity_text(milestone.quantity)} {unit} of "
                f"{milestone.pool_id}",
                f"Owner: {milestone.owner}" if milestone.owner else "",
                f"Project: {milestone.project}" if milestone.project else "") if part),
            categories=("creditops", "milestone")))
    for contract in sorted(contracts.values(), key=lambda c: c.id):
        end_day = last_day(contract.end)
        events.append(CalendarEvent(
            uid=stable_uid("renewal", contract.id, end_day.isoformat()),
            summary=f"Contract {contract.id} ends ({contract.name})", start=end_day,
            description=f"Renewal date of {contract.name}", categories=("creditops", "renewal")))
        for lead in rules.renewal_days or ():
            lead_day = end_day - timedelta(days=lead)
            if lead_day >= today:
                events.append(CalendarEvent(
                    uid=stable_uid("renewal-lead", contract.id, end_day.isoformat(), str(lead)),
                    summary=f"Prepare the renewal of {contract.id}: {lead} days to its end",
                    start=lead_day, description=f"{contract.name} ends on "
                    f"{end_day.isoformat()}; review unused incentives and true-up exposure.",
                    categories=("creditops", "renewal")))
    return events


def export_calendar(workspace: Workspace, path: Path, as_of_text: str | None = None, *,
                    now: datetime | None = None) -> CalendarSummary:
    now = now or datetime.now(UTC)
    events = calendar_events(workspace, as_of_text, now=now)
    write_calendar(path, events, "creditops: expiries, milestones and renewals", now)
    kinds = Counter(event.categories[-1] for event in events)
    return CalendarSummary(len(events), dict(sorted(kinds.items())))

