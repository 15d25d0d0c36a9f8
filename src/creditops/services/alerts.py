"""The alert check: evaluate the rules, store what fired once, and deliver what is pending
(e-mail to the owner with the administrator in copy, chat through Apprise), then the inbox:
list, acknowledge, resolve. Who hears of an alert, and how, is in ``alert_routing``.

Delivery is at most once per recipient and chat target: a message goes out only for delivery
records that are pending, each record is claimed before sending and marked sent right after, in
its own transaction. A failed delivery stays pending with its error and attempt count, and the
next check retries it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from creditops.adapters.notify import (
    chat_label,
    chat_target_key,
    send_chat,
    send_email,
)
from creditops.adapters.storage.tables import AlertDeliveryRow, AlertRow, PoolRow
from creditops.core.alerts import (
    AlertCandidate,
    AlertRules,
    evaluate_pool,
    renewal_alerts,
)
from creditops.core.errors import InputError, Problem
from creditops.core.plans import plan_progress
from creditops.core.register import PoolRegister, build_pool_register
from creditops.services.alert_routing import (
    Channels,
    Recipients,
    read_channels,
    recipients_for,
    rules_from_json,
)
from creditops.services.errors import NotFoundError
from creditops.services.forecast import ForecastOptions, forecast_pool
from creditops.services.milestones import load_milestones
from creditops.services.workspace import (
    Workspace,
    current_actor,
    load_facts,
)

STATES = ("open", "acknowledged", "resolved")
CHECK_FORECAST_PATHS = 2000
STALE_CLAIM = timedelta(minutes=30)


# -- evaluation -------------------------------------------------------------------------------

@dataclass
class Evaluation:
    as_of: datetime
    currency: str
    candidates: list[tuple[AlertCandidate, Recipients, tuple[str, ...]]]  # with chat keys
    channels: Channels
    digest: bool


def _chances(entry: PoolRegister, usages: list[Any], milestones: list[Any], threshold: Decimal
             ) -> dict[str, Decimal]:
    if not any(row.status == "at_risk" for row in entry.grants):
        return {}
    forecast = forecast_pool(entry.pool, usages, entry.balance.as_of, entry, milestones,
                             threshold, ForecastOptions(paths=CHECK_FORECAST_PATHS))
    return {g.grant_id: g.probability_over_threshold for g in forecast.grants
            if g.probability_over_threshold is not None
            and g.period_start <= entry.balance.as_of}


def evaluate(workspace: Workspace, as_of_text: str | None, *, now: datetime | None = None,
             digest: bool | None = None, with_forecast: bool = True) -> Evaluation:
    with workspace.session() as session:
        facts = load_facts(session, as_of_text, now=now)
        pool_rows = list(session.scalars(select(PoolRow).order_by(PoolRow.id)))
        channels = read_channels(facts.document, pool_rows)
        milestones = load_milestones(session, facts.zone)
    as_of, raw, settings = facts.as_of, facts.document, facts.settings
    pools, usage, contracts = facts.pools, facts.usage, facts.contracts
    currency = str(raw.get("currency", "USD"))
    base = rules_from_json(AlertRules(), raw.get("alerts"))
    base_recipients = list((raw.get("alerts") or {}).get("recipients") or [])
    attributes = {row.id: row.attributes or {} for row in pool_rows}
    found: list[tuple[AlertCandidate, Recipients, tuple[str, ...]]] = []
    entries = []
    for pool in pools:
        usages = usage.get(pool.id, [])
        entry = build_pool_register(pool, usages, as_of, settings, contracts)
        entries.append(entry)
        pool_alerts = attributes[pool.id].get("alerts") or {}
        rules = rules_from_json(base, pool_alerts)
        threshold = pool.risk_threshold if pool.risk_threshold is not None \
            else settings.risk_threshold
        mine = [m for m in milestones if m.pool_id == pool.id]
        progress = plan_progress(pool, mine, usages, as_of)
        chances = _chances(entry, usages, mine, threshold) \
            if with_forecast and rules.projected_lapse else {}
        extra = base_recipients + list(pool_alerts.get("recipients") or [])
        chat = tuple(chat_target_key(u) for u in
                     dict.fromkeys(channels.workspace_chat + channels.pool_chat.get(pool.id, ())))
        for candidate in evaluate_pool(entry, rules, as_of, currency, threshold, progress,
                                       chances):
            owner = next((g.owner for g in entry.grants if g.id == candidate.grant_id),
                         pool.owner)
            found.append((candidate, recipients_for(candidate, owner, raw, extra), chat))
    if base.renewal_days:
        chat = tuple(chat_target_key(u) for u in channels.workspace_chat)
        for contract in sorted(contracts.values(), key=lambda c: c.id):
            for candidate in renewal_alerts(contract, base.renewal_days, as_of, entries,
                                            currency):
                found.append((candidate, recipients_for(candidate, None, raw, base_recipients),
                              chat))
    use_digest = bool((raw.get("alerts") or {}).get("digest", False)) if digest is None \
        else digest
    return Evaluation(as_of, currency, found, channels, use_digest)


# -- storing and delivering -------------------------------------------------------------------

@dataclass(frozen=True)
class Message:
    """One message to send: e-mail (to, cc) or chat (a target key), covering delivery
    records of one or more alerts."""

    channel: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    target: str
    subject: str
    body: str
    delivery_ids: tuple[int, ...]
    alert_ids: tuple[int, ...]


@dataclass
class CheckReport:
    as_of: datetime
    dry_run: bool
    digest: bool
    new: list[dict[str, Any]] = field(default_factory=list)
    already: int = 0
    messages: list[Message] = field(default_factory=list)
    sent: list[Message] = field(default_factory=list)
    failed: list[tuple[Message, str]] = field(default_factory=list)
    cancelled: int = 0
    pending: int = 0
    email_configured: bool = False


def _alert_text(alert: AlertRow) -> str:
    return f"{alert.title}\n\n{alert.body}\n\nAlert {alert.id} · acknowledge: creditops alerts " \
           f"ack {alert.id}"


def _digest(alerts: list[AlertRow], as_of: datetime) -> tuple[str, str]:
    subject = f"[creditops] {len(alerts)} alert{'s' if len(alerts) != 1 else ''} " \
              f"as of {(as_of - timedelta(microseconds=1)).date().isoformat()}"
    sections = [f"{i}. {_alert_text(alert)}" for i, alert in enumerate(alerts, start=1)]
    return subject, ("\n\n" + "-" * 60 + "\n\n").join(sections)


def plan_messages(deliveries: list[tuple[AlertDeliveryRow, AlertRow]], digest: bool,
                  as_of: datetime) -> list[Message]:
    """Groups pending delivery records into messages: per alert (owner in To, copies in Cc,
    one chat message per target), or in digest mode one message per recipient or target."""
    messages = []
    if digest:
        groups: dict[tuple[str, str], list[tuple[AlertDeliveryRow, AlertRow]]] = {}
        for delivery, alert in deliveries:
            groups.setdefault((delivery.channel, delivery.target), []).append((delivery, alert))
        for (channel, target), items in sorted(groups.items()):
            alerts = sorted({a.id: a for _, a in items}.values(), key=lambda a: a.id)
            subject, body = _digest(alerts, as_of)
            messages.append(Message(channel, (target,) if channel == "email" else (), (),
                                    target, subject, body, tuple(d.id for d, _ in items),
                                    tuple(a.id for a in alerts)))
        return messages
    by_alert: dict[int, list[tuple[AlertDeliveryRow, AlertRow]]] = {}
    for delivery, alert in deliveries:
        by_alert.setdefault(alert.id, []).append((delivery, alert))
    for alert_id, items in sorted(by_alert.items()):
        alert = items[0][1]
        subject = f"[creditops] {alert.title}"
        mail = [d for d, _ in items if d.channel == "email"]
        if mail:
            to = tuple(d.target for d in mail if d.role == "to")
            cc = tuple(d.target for d in mail if d.role == "cc")
            if not to:
                to, cc = cc[:1], cc[1:]
            messages.append(Message("email", to, cc, ",".join(to), subject, _alert_text(alert),
                                    tuple(d.id for d in mail), (alert_id,)))
        for delivery in (d for d, _ in items if d.channel == "chat"):
            messages.append(Message("chat", (), (), delivery.target, subject,
                                    _alert_text(alert), (delivery.id,), (alert_id,)))
    return messages


def _insert_alert(session: Session, values: dict[str, Any]) -> int | None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(AlertRow).values(**values).on_conflict_do_nothing(
        index_elements=["dedupe_key"]).returning(AlertRow.id)
    found = session.execute(statement).scalar_one_or_none()
    return int(found) if found is not None else None


def _store(session: Session, evaluation: Evaluation, now: datetime, report: CheckReport
           ) -> None:
    for candidate, recipients, chat in evaluation.candidates:
        alert_id = _insert_alert(session, {
            "dedupe_key": candidate.dedupe_key, "rule": candidate.rule,
            "pool_id": candidate.pool_id, "grant_id": candidate.grant_id,
            "contract_id": candidate.contract_id, "threshold": candidate.threshold,
            "period": candidate.period, "severity": candidate.severity,
            "title": candidate.title, "body": "\n".join(candidate.lines),
            "facts": candidate.facts, "state": "open", "raised_at": now,
            "as_of": evaluation.as_of})
        if alert_id is None:
            report.already += 1
            continue
        report.new.append({"id": alert_id, "rule": candidate.rule, "title": candidate.title,
                           "to": recipients.to, "cc": recipients.cc})
        targets: list[tuple[str, str, str, str]] = []
        if evaluation.channels.smtp is not None:
            targets += [("email", a, a, "to") for a in recipients.to]
            targets += [("email", a, a, "cc") for a in recipients.cc]
        urls = evaluation.channels.chat_urls()
        targets += [("chat", key, chat_label(urls[key]), "to") for key in chat]
        for channel, target, label, role in targets:
            session.add(AlertDeliveryRow(alert_id=alert_id, channel=channel, target=target,
                                         label=label, role=role, status="pending", attempts=0))
    session.flush()


def _pending(session: Session, now: datetime, *, reclaim: bool = True
             ) -> list[tuple[AlertDeliveryRow, AlertRow]]:
    if reclaim:
        # A claim older than STALE_CLAIM belongs to a check that died mid-way: retry it.
        session.execute(update(AlertDeliveryRow).where(
            AlertDeliveryRow.status == "sending",
            AlertDeliveryRow.last_attempt_at < now - STALE_CLAIM).values(status="pending"))
    rows = session.execute(
        select(AlertDeliveryRow, AlertRow).join(AlertRow, AlertRow.id == AlertDeliveryRow.alert_id)
        .where(AlertDeliveryRow.status == "pending").order_by(AlertDeliveryRow.id)).all()
    return [(delivery, alert) for delivery, alert in rows]


def _send(message: Message, channels: Channels, urls: Mapping[str, str]) -> tuple[bool, str]:
    if message.channel == "email":
        if channels.smtp is None:
            return False, "e-mail is not configured (set CREDITOPS_SMTP_URL and " \
                          "CREDITOPS_MAIL_FROM)"
        result = send_email(channels.smtp, list(message.to), list(message.cc), message.subject,
                            message.body)
    else:
        result = send_chat(urls[message.target], message.subject, message.body)
    return result.ok, result.error or ""


def run_check(workspace: Workspace, as_of_text: str | None = None, *, dry_run: bool = False,
              digest: bool | None = None, now: datetime | None = None,
              with_forecast: bool = True) -> CheckReport:
    """Evaluates the rules as of ``as_of``, stores the alerts that fire for the first time,
    and delivers every pending delivery (new or left by an earlier failure). ``dry_run``
    shows what would be stored and sent, and changes nothing."""
    now = now or datetime.now(UTC)
    evaluation = evaluate(workspace, as_of_text, now=now, digest=digest,
                          with_forecast=with_forecast)
    report = CheckReport(evaluation.as_of, dry_run, evaluation.digest,
                         email_configured=evaluation.channels.smtp is not None)
    urls = evaluation.channels.chat_urls()
    if dry_run:
        with workspace.session() as session:
            known = set(session.scalars(select(AlertRow.dedupe_key)))
            pending = _pending(session, now, reclaim=False)
        fresh = [(c, r, chat) for c, r, chat in evaluation.candidates
                 if c.dedupe_key not in known]
        report.already = len(evaluation.candidates) - len(fresh)
        previews = []
        for number, (candidate, recipients, chat) in enumerate(fresh, start=-len(fresh)):
            alert = AlertRow(id=number, title=candidate.title, body="\n".join(candidate.lines))
            report.new.append({"id": None, "rule": candidate.rule, "title": candidate.title,
                               "to": recipients.to, "cc": recipients.cc})
            if evaluation.channels.smtp is not None:
                previews += [(AlertDeliveryRow(id=0, channel="email", target=a, role=role),
                              alert) for role, group in (("to", recipients.to),
                                                         ("cc", recipients.cc)) for a in group]
            previews += [(AlertDeliveryRow(id=0, channel="chat", target=key, role="to"), alert)
                         for key in chat]
        report.messages = plan_messages(pending + previews, evaluation.digest,
                                        evaluation.as_of)
        report.pending = len(pending)
        return report
    with workspace.session() as session:
        _store(session, evaluation, now, report)
    with workspace.session() as session:
        pending = _pending(session, now)
        live = [(d, a) for d, a in pending if a.state != "resolved"
                and (d.channel == "email" or d.target in urls)]
        dropped = [d.id for d, a in pending if (d, a) not in live]
        if dropped:
            session.execute(update(AlertDeliveryRow).where(AlertDeliveryRow.id.in_(dropped))
                            .values(status="cancelled", last_error="alert resolved or chat "
                                    "target no longer configured"))
        report.cancelled = len(dropped)
        report.messages = plan_messages(live, evaluation.digest, evaluation.as_of)
    for message in report.messages:
        with workspace.session() as session:
            claimed = len(session.execute(
                update(AlertDeliveryRow).where(AlertDeliveryRow.id.in_(message.delivery_ids),
                                               AlertDeliveryRow.status == "pending")
                .values(status="sending", last_attempt_at=now)
                .returning(AlertDeliveryRow.id)).all())
        if claimed != len(message.delivery_ids):
            continue  # another check is sending these
        ok, error = _send(message, evaluation.channels, urls)
        with workspace.session() as session:
            for delivery in session.scalars(select(AlertDeliveryRow).where(
                    AlertDeliveryRow.id.in_(message.delivery_ids))):
                delivery.attempts += 1
                delivery.last_attempt_at = now
                if ok:
                    delivery.status, delivery.sent_at, delivery.last_error = "sent", now, None
                else:
                    delivery.status, delivery.last_error = "pending", error
        if ok:
            report.sent.append(message)
        else:
            report.failed.append((message, error))
    with workspace.session() as session:
        report.pending = len(session.scalars(select(AlertDeliveryRow.id).where(
            AlertDeliveryRow.status == "pending")).all())
    return report


# -- the inbox --------------------------------------------------------------------------------

@dataclass(frozen=True)
class AlertView:
    alert: AlertRow
    deliveries: tuple[AlertDeliveryRow, ...]


def list_alerts(workspace: Workspace, state: str | None = "open", pool_id: str | None = None
                ) -> list[AlertView]:
    if state is not None and state not in STATES:
        raise InputError(Problem(f"unknown state {state!r}; expected one of "
                                 f"{', '.join(STATES)} or all", column="--state"))
    with workspace.session() as session:
        query = select(AlertRow).order_by(AlertRow.id)
        if state is not None:
            query = query.where(AlertRow.state == state)
        if pool_id is not None:
            query = query.where(AlertRow.pool_id == pool_id)
        alerts = list(session.scalars(query))
        deliveries: dict[int, list[AlertDeliveryRow]] = {}
        if alerts:
            for row in session.scalars(select(AlertDeliveryRow).where(
                    AlertDeliveryRow.alert_id.in_([a.id for a in alerts]))
                    .order_by(AlertDeliveryRow.id)):
                deliveries.setdefault(row.alert_id, []).append(row)
    return [AlertView(a, tuple(deliveries.get(a.id, []))) for a in alerts]


def set_state(workspace: Workspace, alert_id: int, state: str, *, note: str | None = None,
              actor: str | None = None, now: datetime | None = None) -> AlertRow:
    """Acknowledges or resolves an alert (who and when are kept)."""
    with workspace.session() as session:
        alert = session.get(AlertRow, alert_id)
        if alert is None:
            raise NotFoundError(f"no alert with id {alert_id}")
        if alert.state == "resolved":
            raise InputError(Problem(f"alert {alert_id} is already resolved"))
        if alert.state == state:
            raise InputError(Problem(f"alert {alert_id} is already {state}"))
        alert.state = state
        alert.state_changed_at = now or datetime.now(UTC)
        alert.state_changed_by = actor or current_actor()
        if note:
            alert.note = note
        return alert
