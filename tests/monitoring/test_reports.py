"""Forecast and back-test on a workspace, the governance review in its three formats, the
calendar export, notification URLs, and the migration against the models."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from icalendar import Calendar
from openpyxl import load_workbook

from creditops.adapters.notify import chat_label, chat_url_problem, parse_smtp_url, split_address
from creditops.adapters.storage.tables import Base
from creditops.core.errors import InputError
from creditops.services.alerts import run_check
from creditops.services.errors import NotFoundError
from creditops.services.forecast import (
    ForecastOptions,
    backtest_workspace,
    forecast_workspace,
    horizon_days,
)
from creditops.services.governance import export_calendar, export_governance, governance_report
from creditops.services.plans import OutcomeInput, add_outcome
from tests.monitoring.conftest import AS_OF
from tests.monitoring.helpers import t

MONITORING_TABLES = {"plan_milestones", "acceleration_plans", "alerts", "alert_deliveries",
                     "outcomes"}


def test_forecast_is_reproducible_and_follows_the_plan(sqlite_url: str, make_workspace) -> None:  # type: ignore[no-untyped-def]
    workspace = make_workspace(sqlite_url)
    options = ForecastOptions(paths=500, seed=3)
    first = forecast_workspace(workspace, None, AS_OF, options)
    assert first == forecast_workspace(workspace, None, AS_OF, options)
    [training] = forecast_workspace(workspace, "training", AS_OF, options)
    assert training == next(o for o in first if o.forecast.pool_id == "training")
    grant = training.forecast.grants[0]
    # The plan's 15 vouchers on 30 November come on top of the usage the history shows.
    assert grant.consumption.p10 >= D(15) and grant.status == "at_risk"
    assert grant.lapse is not None and grant.lapse.p50 <= D(20)
    [unplanned] = forecast_workspace(workspace, "training", AS_OF,
                                     ForecastOptions(paths=500, seed=3, use_plan=False))
    lapse = unplanned.forecast.grants[0].lapse
    assert lapse is not None and lapse.p50 - grant.lapse.p50 == D(15)
    flex = next(o for o in first if o.forecast.pool_id == "flex").forecast
    assert flex.horizon_end == t("2026-12-16")  # the end of flex-y's last day
    assert flex.grants[0].lapse == flex.grants[0].lapse.__class__(D(0), D(0), D(0))
    assert flex.run_out_probability > D("0.9")
    with pytest.raises(NotFoundError):
        forecast_workspace(workspace, "nope", AS_OF)
    with pytest.raises(ValueError):
        ForecastOptions(paths=0)
    with pytest.raises(ValueError):
        ForecastOptions(history_days=-1)
    with pytest.raises(ValueError):
        ForecastOptions(horizon_days=0)


def test_horizon() -> None:
    as_of = t("2026-10-01")
    assert horizon_days([], as_of, None) == 365
    assert horizon_days([t("2026-10-11T06:00:00")], as_of, None) == 11
    assert horizon_days([t("2030-01-01")], as_of, None) == 365
    assert horizon_days([t("2026-10-11")], as_of, 30) == 30


def test_backtest_reports_errors_per_lead_and_pool(sqlite_url: str, make_workspace) -> None:  # type: ignore[no-untyped-def]
    workspace = make_workspace(sqlite_url)
    report = backtest_workspace(workspace, "2027-01-31", options=ForecastOptions(paths=300))
    # flex-y (ends 15 December) and the vouchers (31 December), 90/60/30 days before.
    assert sorted({(c.grant_id, c.lead_days) for c in report.cases}) == [
        ("flex-y", 30), ("flex-y", 60), ("flex-y", 90),
        ("vouchers", 30), ("vouchers", 60), ("vouchers", 90)]
    flex = [c for c in report.cases if c.grant_id == "flex-y"]
    assert all(c.actual == D(1000) and c.quantity == D(10000) for c in flex)
    assert report.overall.cases == 6 and report.by_lead[90].cases == 2
    assert set(report.by_pool) == {"flex", "training"}
    assert report.overall.mae_pct is not None and report.overall.coverage is not None
    with pytest.raises(NotFoundError):
        backtest_workspace(workspace, AS_OF, pool_id="nope")


def test_governance_review_in_three_formats(sqlite_url: str, make_workspace,
                                            tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("CREDITOPS_SMTP_URL", raising=False)
    workspace = make_workspace(sqlite_url)
    run_check(workspace, AS_OF, with_forecast=False, now=datetime(2026, 9, 20, tzinfo=UTC))
    add_outcome(workspace, OutcomeInput(metric="certified admins", pool_id="training",
                                        before=D(4), after=D(9), value_used=D(2000),
                                        after_day=datetime(2026, 6, 30).date()))
    report = governance_report(workspace, "2026Q3", "2026-10-15")
    assert report.period.label == "2026-Q3" and report.as_of == t("2026-10-01")
    flex = next(k for k in report.kinds if k.kind == "flex_credits")
    # 33 credits a day over July … September, the last day only 24 (9,000 in all).
    assert flex.used_value == D("12.11")  # 3,027 credits × 0.004
    assert flex.used_value_ytd == D("36.00")
    assert report.total.at_risk_value == D("13182.23")  # as of the end of Q3
    assert [r.grant_id for r in report.at_risk] == ["vouchers"]
    assert report.alerts_by_rule["renewal"] == 1 and len(report.open_alerts) == 5
    assert report.plans[0].pool_id == "training"
    assert report.outcomes[0][1] == "USD 2,000.00 of training → certified admins +125%"
    for fmt in ("html", "md", "xlsx"):
        target = tmp_path / f"review.{fmt}"
        _, path = export_governance(workspace, target, None, "2026Q3", AS_OF)
        assert path == target and target.stat().st_size > 0
    html = (tmp_path / "review.html").read_text()
    assert "<h2>At risk</h2>" in html and "13,182.23" in html and "+125%" in html
    markdown = (tmp_path / "review.md").read_text()
    assert "| training_credits |" in markdown and "## Outcomes" in markdown
    book = load_workbook(tmp_path / "review.xlsx")
    assert book.sheetnames == ["Summary", "Value by kind", "At risk", "Alerts",
                               "Plan progress", "Outcomes", "Pools"]
    assert book["At risk"]["F2"].value == 13182.23
    with pytest.raises(InputError, match="unknown format 'pdf'"):
        export_governance(workspace, tmp_path / "x.pdf", None, "2026Q3", AS_OF)
    with pytest.raises(InputError, match="--period"):
        governance_report(workspace, "Q5", AS_OF)
    with pytest.raises(InputError, match="has not started"):
        governance_report(workspace, "2027Q1", AS_OF)
    monkeypatch.chdir(tmp_path)
    _, default = export_governance(workspace, None, "markdown", None, AS_OF)
    assert default == Path("governance-2026-Q4.md") and default.exists()


def test_calendar_export_has_stable_uids(sqlite_url: str, make_workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    workspace = make_workspace(sqlite_url)
    first = tmp_path / "a.ics"
    summary = export_calendar(workspace, first, AS_OF)
    assert summary.by_kind == {"alert": 7, "expiry": 2, "milestone": 3, "renewal": 3}
    events = Calendar.from_ical(first.read_bytes()).walk("VEVENT")
    titles = {str(e["SUMMARY"]): e for e in events}
    assert "Last day of flex-y (1,000 credit left)" in titles
    assert titles["Last day of flex-y (1,000 credit left)"].decoded("DTSTART").isoformat() \
        == "2026-12-15"
    assert "flex-y lapses in 30 days (1,000 credit left)" in titles
    assert any(title.startswith("Milestone training: 15 voucher") for title in titles)
    assert "Prepare the renewal of MSA: 150 days to its end" in titles
    second = tmp_path / "b.ics"
    export_calendar(workspace, second, "2026-10-20", now=datetime(2026, 10, 21, tzinfo=UTC))
    later = Calendar.from_ical(second.read_bytes()).walk("VEVENT")
    uids = {str(e["UID"]) for e in events}
    assert {str(e["UID"]) for e in later} <= uids  # updates, never duplicates
    assert len({str(e["UID"]) for e in later}) == len(later)


def test_notification_urls_and_addresses() -> None:
    assert chat_url_problem("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general") \
        is None
    assert chat_url_problem(
        "https://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ") is None
    teams = "workflow://prod-01.westus.logic.azure.com:443/abc123def456/sig789xyz"
    assert chat_url_problem(teams) is None
    assert chat_url_problem("json://127.0.0.1:8080/hook") is None
    assert "not a chat target" in (chat_url_problem("slack://bad") or "")
    assert "not a chat target" in (chat_url_problem("nonsense") or "")
    assert "CREDITOPS_SMTP_URL" in (chat_url_problem("mailto://a@b.example") or "")
    label = chat_label("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general")
    assert "TIiajkdnlazkcOXrIdevi7FQ" not in label and label.startswith("slack://")
    assert chat_label("oops://x") == "oops://…"
    assert split_address("Priya Shah <priya@example.com>") == ("Priya Shah", "priya@example.com")
    assert split_address("priya@example.com") == (None, "priya@example.com")
    assert split_address("Priya Shah") == ("Priya Shah", None)
    assert split_address('"Shah, Priya" <bad>') == ("Shah, Priya", None)
    smtp = parse_smtp_url("smtps://me%40x.example:p%3Ass@mail.example?verify=no&timeout=5",
                          "Ops <ops@example.com>")
    assert (smtp.host, smtp.port, smtp.mode, smtp.user, smtp.password) == (
        "mail.example", 465, "ssl", "me@x.example", "p:ss")
    assert not smtp.verify and smtp.timeout == 5 and smtp.sender_name == "Ops"
    assert parse_smtp_url("smtp+starttls://mail.example", "a@b.example").port == 587
    for url, sender, message in [
        ("smtp://mail.example?tls=1", "a@b.example", "unknown option"),
        ("smtp://mail.example?timeout=x", "a@b.example", "timeout"),
        ("smtp://mail.example:99999", "a@b.example", "not a URL"),
        ("smtp://mail.example", "nobody", "not an e-mail address"),
    ]:
        with pytest.raises(InputError, match=message):
            parse_smtp_url(url, sender)


def test_the_migration_matches_the_models(database_url: str, make_workspace) -> None:  # type: ignore[no-untyped-def]
    workspace = make_workspace(database_url)
    with workspace.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    mine = [d for d in differences if any(name in repr(d) for name in MONITORING_TABLES)]
    assert mine == []
