"""The alert check end to end: rules evaluated on a workspace, alerts stored once, e-mail
delivered to a real SMTP server and chat to a real webhook, failures kept pending and retried,
never sent twice."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from creditops.adapters.storage.tables import AlertDeliveryRow
from creditops.core.errors import InputError
from creditops.services.alerts import list_alerts, run_check, set_state
from creditops.services.errors import NotFoundError
from tests.monitoring.conftest import AS_OF, Mailbox, Webhook, body_of, free_port, start_mailbox


@pytest.fixture
def mail_env(monkeypatch: pytest.MonkeyPatch, mailbox: Mailbox) -> Mailbox:
    monkeypatch.setenv("CREDITOPS_SMTP_URL", f"smtp://127.0.0.1:{mailbox.port}")
    monkeypatch.setenv("CREDITOPS_MAIL_FROM", "creditops <creditops@example.com>")
    monkeypatch.delenv("CREDITOPS_NOTIFY_URLS", raising=False)
    return mailbox


def by_subject(box: Mailbox, text: str):  # type: ignore[no-untyped-def]
    found = [(rcpt, m) for rcpt, m in box.received if text in m["Subject"]]
    assert len(found) == 1, [m["Subject"] for _, m in box.received]
    return found[0]


def test_check_delivers_once_to_the_owner_with_the_administrator_in_copy(
        database_url: str, make_workspace, mail_env: Mailbox, webhook: Webhook) -> None:  # type: ignore[no-untyped-def]
    workspace = make_workspace(database_url, hook_port=webhook.port)
    report = run_check(workspace, AS_OF, with_forecast=False)
    rules = sorted(item["rule"] for item in report.new)
    # The vouchers' last day is 91 days away: not yet within the 90-day lead time.
    assert rules == ["consumption", "expiry", "plan_behind", "projected_lapse", "renewal"]
    assert not report.failed and report.pending == 0
    rcpt, message = by_subject(mail_env, "flex-y: 90% consumed")
    assert sorted(rcpt) == ["dana@example.com", "priya@example.com"]
    assert message["To"] == "priya@example.com" and message["Cc"] == "dana@example.com"
    assert message["From"] == "creditops <creditops@example.com>"
    body = body_of(message)
    assert "Consumed: 9,000 credit" in body and "Remaining: 1,000 credit" in body
    assert "Last day: 2026-12-15" in body
    # The owner given by name only is found in `owners:`.
    rcpt, message = by_subject(mail_env, "vouchers: 82.4% projected to lapse")
    assert message["To"] == "aiko@example.com"
    # 35 left, 2 used in the 90-day window: 35 − 91 × 2/90 = 32.98 projected to lapse.
    assert "USD 13,191.12" in message["Subject"]
    assert "Remaining: 35 voucher" in body_of(message)
    rcpt, message = by_subject(mail_env, "behind its utilisation plan")
    assert "Planned by now: 20 voucher" in body_of(message)
    assert "Consumed since then: 5 voucher" in body_of(message)
    rcpt, message = by_subject(mail_env, "Renewal of MSA")
    assert rcpt == ["dana@example.com"]
    assert len(mail_env.received) == 5
    # The training pool's chat target got its pool's alerts, and only those.
    paths = {path for path, _ in webhook.received}
    assert paths == {"/hooks/training"} and len(webhook.received) == 2
    titles = sorted(payload["title"] for _, payload in webhook.received)
    assert any("vouchers: 82.4% projected to lapse" in title for title in titles)
    assert all("training" in payload["message"] or "vouchers" in payload["message"]
               for _, payload in webhook.received)

    again = run_check(workspace, AS_OF, with_forecast=False)
    assert again.new == [] and again.already == 5 and again.messages == []
    assert len(mail_env.received) == 5 and len(webhook.received) == 2
    views = list_alerts(workspace)
    assert len(views) == 5
    assert all(d.status == "sent" and d.attempts == 1 for v in views for d in v.deliveries)


def test_a_delivery_failure_stays_pending_and_is_retried_never_twice(
        sqlite_url: str, make_workspace, monkeypatch: pytest.MonkeyPatch,
        webhook: Webhook) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    monkeypatch.setenv("CREDITOPS_SMTP_URL", f"smtp://127.0.0.1:{port}?timeout=5")
    monkeypatch.setenv("CREDITOPS_MAIL_FROM", "creditops@example.com")
    workspace = make_workspace(sqlite_url, hook_port=webhook.port)
    report = run_check(workspace, AS_OF, with_forecast=False)
    assert len(report.new) == 5
    assert {m.channel for m, _ in report.failed} == {"email"} and len(report.failed) == 5
    assert all(f"127.0.0.1:{port}" in error for _, error in report.failed)
    assert len(webhook.received) == 2  # chat went out regardless
    with workspace.session() as session:
        mail = list(session.scalars(select(AlertDeliveryRow).where(
            AlertDeliveryRow.channel == "email")))
    assert mail and all(d.status == "pending" and d.attempts == 1 and d.last_error
                        for d in mail)

    retry = run_check(workspace, AS_OF, with_forecast=False)
    assert retry.new == [] and len(retry.failed) == 5
    with workspace.session() as session:
        attempts = set(session.scalars(select(AlertDeliveryRow.attempts).where(
            AlertDeliveryRow.channel == "email")))
    assert attempts == {2}

    box = Mailbox(port)
    controller = start_mailbox(box)
    try:
        delivered = run_check(workspace, AS_OF, with_forecast=False)
        assert not delivered.failed and len(delivered.sent) == 5 and delivered.pending == 0
        assert len(box.received) == 5
        run_check(workspace, AS_OF, with_forecast=False)
        assert len(box.received) == 5 and len(webhook.received) == 2
    finally:
        controller.stop()


def test_digest_sends_one_message_per_recipient(sqlite_url: str, make_workspace,
                                                mail_env: Mailbox, webhook: Webhook) -> None:  # type: ignore[no-untyped-def]
    workspace = make_workspace(sqlite_url, hook_port=webhook.port)
    report = run_check(workspace, AS_OF, digest=True, with_forecast=False)
    assert report.digest and len(report.new) == 5
    recipients = sorted(rcpt[0] for rcpt, _ in mail_env.received)
    assert recipients == ["aiko@example.com", "dana@example.com", "priya@example.com"]
    dana = next(m for rcpt, m in mail_env.received if rcpt == ["dana@example.com"])
    assert dana["Subject"] == "[creditops] 5 alerts as of 2026-10-01"
    body = body_of(dana)
    assert "flex-y: 90% consumed" in body and "Renewal of MSA" in body
    priya = next(m for rcpt, m in mail_env.received if rcpt == ["priya@example.com"])
    assert priya["Subject"] == "[creditops] 2 alerts as of 2026-10-01"
    assert len(webhook.received) == 1 and "2 alerts" in webhook.received[0][1]["title"]


def test_dry_run_shows_and_changes_nothing(sqlite_url: str, make_workspace,
                                           mail_env: Mailbox) -> None:  # type: ignore[no-untyped-def]
    workspace = make_workspace(sqlite_url)
    report = run_check(workspace, AS_OF, dry_run=True, with_forecast=False)
    assert report.dry_run and len(report.new) == 5 and all(i["id"] is None for i in report.new)
    email = [m for m in report.messages if m.channel == "email"]
    assert len(email) == 5 and any(m.to == ("priya@example.com",) for m in email)
    assert mail_env.received == [] and list_alerts(workspace, None) == []


def test_inbox_acknowledge_and_resolve(sqlite_url: str, make_workspace,
                                       monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("CREDITOPS_SMTP_URL", raising=False)
    workspace = make_workspace(sqlite_url)
    report = run_check(workspace, AS_OF, with_forecast=False)
    assert not report.email_configured
    assert {m.channel for m in report.messages} == {"chat"}  # e-mail is not configured
    first = list_alerts(workspace)[0].alert
    acknowledged = set_state(workspace, first.id, "acknowledged", note="on it", actor="aiko")
    assert acknowledged.state_changed_by == "aiko" and acknowledged.note == "on it"
    assert [v.alert.id for v in list_alerts(workspace, "acknowledged")] == [first.id]
    with pytest.raises(InputError, match="already acknowledged"):
        set_state(workspace, first.id, "acknowledged")
    set_state(workspace, first.id, "resolved")
    with pytest.raises(InputError, match="already resolved"):
        set_state(workspace, first.id, "acknowledged")
    with pytest.raises(NotFoundError):
        set_state(workspace, 999, "resolved")
    assert len(list_alerts(workspace, None, "flex")) == 2
    with pytest.raises(InputError, match="unknown state"):
        list_alerts(workspace, "closed")


def test_bad_settings_give_clear_errors(sqlite_url: str, make_workspace,
                                        monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    workspace = make_workspace(sqlite_url)
    monkeypatch.setenv("CREDITOPS_SMTP_URL", "ftp://mail.example.com")
    with pytest.raises(InputError, match=r"CREDITOPS_SMTP_URL.*smtp://host:port"):
        run_check(workspace, AS_OF, with_forecast=False)
    monkeypatch.setenv("CREDITOPS_SMTP_URL", "smtp://127.0.0.1:2525")
    monkeypatch.delenv("CREDITOPS_MAIL_FROM", raising=False)
    with pytest.raises(InputError, match="CREDITOPS_MAIL_FROM"):
        run_check(workspace, AS_OF, with_forecast=False)
    monkeypatch.delenv("CREDITOPS_SMTP_URL")
    monkeypatch.setenv("CREDITOPS_NOTIFY_URLS", "slack://not-a-token")
    with pytest.raises(InputError, match=r"CREDITOPS_NOTIFY_URLS.*slack://…"):
        run_check(workspace, AS_OF, with_forecast=False)
