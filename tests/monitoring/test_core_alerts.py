"""The alert rules as pure functions: what fires, once per (rule, subject, threshold, period),
and what the messages say."""

from __future__ import annotations

from decimal import Decimal as D

from creditops.core.alerts import (
    AlertRules,
    consumption_alerts,
    evaluate_pool,
    expiry_alerts,
    lapse_alerts,
    last_day,
    money_text,
    percent_text,
    plan_behind_alerts,
    quantity_text,
    renewal_alerts,
)
from creditops.core.model import Contract, Duration, Grant, Recurrence, Usage
from creditops.core.plans import plan_progress
from creditops.core.register import build_pool_register
from tests.monitoring.helpers import daily, make_pool, milestone, t

AS_OF = t("2026-10-02")


def register(*grants: Grant, usage: list[Usage] | None = None, as_of: str = "2026-10-02",
             **extra: object):  # type: ignore[no-untyped-def]
    pool = make_pool(*grants, owner="Priya Shah <priya@example.com>", name="Flex",
                     contract="MSA", **extra)
    return build_pool_register(pool, usage or [], t(as_of))


def test_text_helpers() -> None:
    assert quantity_text(D("1234567.50")) == "1,234,567.5"
    assert percent_text(D("0.8567")) == "85.7%"
    assert money_text(D("1234.565"), "USD") == "USD 1,234.57"
    assert last_day(t("2027-01-01")) == t("2026-12-31").date()


def test_consumption_fires_the_highest_threshold_reached_per_period() -> None:
    grant = Grant("g", D(1000), t("2026-01-01"), t("2027-01-01"))
    entry = register(grant, usage=[Usage("a", t("2026-02-01"), D(870), None)])
    [alert] = consumption_alerts(entry, (D("0.5"), D("0.85"), D("0.9")), "USD")
    assert alert.threshold == "0.85" and alert.severity == "info"
    assert alert.dedupe_key == "consumption|g|0.85|2026-01-01"
    assert "85%" in alert.title and "870 of 1,000 credit" in alert.title
    assert "Remaining: 130 credit" in alert.lines and "Owner: Priya Shah" in alert.lines[-1]
    full = register(grant, usage=[Usage("a", t("2026-02-01"), D(1000), None)])
    [done] = consumption_alerts(full, (D("0.5"), D(1)), "USD")
    assert done.threshold == "1" and done.severity == "warning"
    assert consumption_alerts(register(grant), (D("0.5"),), "USD") == []
    empty = Grant("e", D(0), t("2026-01-01"), t("2027-01-01"))
    voided = Grant("v", D(10), t("2026-01-01"), t("2027-01-01"), voided_at=t("2026-02-01"))
    assert consumption_alerts(register(empty, voided), (D("0.5"),), "USD") == []


def test_consumption_of_a_grant_without_expiry_or_owner() -> None:
    endless = Grant("open", D(10), t("2026-01-01"))
    entry = build_pool_register(make_pool(endless), [Usage("a", t("2026-02-01"), D(6), None)],
                                AS_OF)
    [alert] = consumption_alerts(entry, (D("0.5"),), "USD")
    assert not any(line.startswith(("Last day", "Owner")) for line in alert.lines)


def test_consumption_of_a_recurring_grant_is_per_period() -> None:
    monthly = Grant("m", D(20), t("2026-01-01"), t("2027-01-01"),
                    recurrence=Recurrence(Duration(months=1), t("2026-01-01")))
    entry = register(monthly, usage=[Usage("a", t("2026-10-01"), D(15), None)])
    [alert] = consumption_alerts(entry, (D("0.7"),), "USD")
    assert alert.period == "2026-10-01"


def test_projected_lapse_names_the_needed_run_rate_and_the_forecast() -> None:
    grant = Grant("g", D(1000), t("2026-01-01"), t("2027-01-01"))
    usage = daily("2026-07-04", 90, "2")  # 2 a day over the run-rate window
    entry = register(grant, usage=usage)
    assert entry.grants[0].status == "at_risk"
    [alert] = lapse_alerts(entry, D("0.2"), AS_OF, "USD", {"g": D("0.83")})
    assert alert.dedupe_key == "projected_lapse|g|0.2|2026-12-31"
    assert "2026-12-31" in alert.title
    # 820 − 2 × 91 = 638 left at expiry; to use 820 by 2 December: 820 / 61 a day.
    assert any("13.442623 credit per day instead of 2" in line for line in alert.lines)
    assert any("83%" in line for line in alert.lines)
    assert alert.facts["needed_rate"] == "13.442623"
    [plain] = lapse_alerts(entry, D("0.2"), AS_OF, "USD")
    assert not any("Forecast" in line for line in plain.lines)
    endless = Grant("open", D(1000), t("2026-01-01"))
    assert lapse_alerts(register(endless, usage=usage), D("0.2"), AS_OF, "USD") == []


def test_expiry_fires_the_nearest_lead_time_with_units_left() -> None:
    grant = Grant("g", D(1000), t("2026-01-01"), t("2026-10-22"))
    [alert] = expiry_alerts(register(grant), (90, 60, 30, 7), AS_OF, "USD")
    assert alert.threshold == "30d" and alert.period == "2026-10-21"
    assert alert.severity == "warning" and "in 20 days" in alert.title
    week = Grant("w", D(5), t("2026-01-01"), t("2026-10-05"))
    [urgent] = expiry_alerts(register(week), (90, 60, 30, 7), AS_OF, "USD")
    assert urgent.severity == "critical" and urgent.threshold == "7d"
    far = Grant("f", D(5), t("2026-01-01"), t("2026-12-20"))
    [early] = expiry_alerts(register(far), (90, 60, 30, 7), AS_OF, "USD")
    assert early.severity == "info" and early.threshold == "90d"
    assert expiry_alerts(register(Grant("x", D(5), t("2026-01-01"), t("2027-06-01"))),
                         (90,), AS_OF, "USD") == []
    used = register(grant, usage=[Usage("a", t("2026-02-01"), D(1000), None)])
    assert expiry_alerts(used, (30,), AS_OF, "USD") == []
    assert expiry_alerts(register(Grant("o", D(5), t("2026-01-01"))), (30,), AS_OF, "USD") == []


def test_expiry_of_a_monthly_allowance_only_counts_short_lead_times() -> None:
    monthly = Grant("m", D(20), t("2026-01-01"), t("2027-01-01"),
                    recurrence=Recurrence(Duration(months=1), t("2026-01-01")))
    assert expiry_alerts(register(monthly, as_of="2026-10-10"), (30,), t("2026-10-10"),
                         "USD") == []
    [alert] = expiry_alerts(register(monthly, as_of="2026-10-26"), (30, 7), t("2026-10-26"),
                            "USD")
    assert alert.threshold == "7d" and alert.period == "2026-10-31"


def test_plan_behind() -> None:
    grant = Grant("g", D(1000), t("2026-01-01"), t("2027-01-01"))
    pool = make_pool(grant)
    entry = build_pool_register(pool, [], AS_OF)
    plan = [milestone("2026-03-01", "100", description="kick-off"),
            milestone("2026-11-01", "50", description="wave 2")]
    progress = plan_progress(pool, plan, [Usage("a", t("2026-02-01"), D(30), None)], AS_OF)
    [alert] = plan_behind_alerts(entry, progress, D("0.2"))
    assert alert.dedupe_key == "plan_behind|p|0.2|2026-03-01"
    assert "70% behind" in alert.title
    assert any("kick-off" in line for line in alert.lines)
    assert any("wave 2" in line for line in alert.lines)
    assert plan_behind_alerts(entry, progress, D("0.8")) == []
    assert plan_behind_alerts(entry, None, D("0.2")) == []
    last = plan_progress(pool, [*plan[:1], milestone("2026-06-01", "10")], [], AS_OF)
    [alert] = plan_behind_alerts(entry, last, D("0.2"))
    assert not any(line.startswith("Next milestone") for line in alert.lines)
    assert any(line.endswith("10 credit") for line in alert.lines)


def test_renewal_brings_the_unused_value_of_the_contract() -> None:
    contract = Contract("MSA", "Master agreement", t("2024-01-01"), t("2027-02-01"),
                        net_annual_value=D(240000))
    grant = Grant("g", D(1000), t("2026-01-01"), t("2027-01-01"))
    entry = register(grant)
    other = build_pool_register(make_pool(grant, contract="OTHER"), [], AS_OF)
    [alert] = renewal_alerts(contract, (150, 120), AS_OF, [entry, other], "USD")
    assert alert.dedupe_key == "renewal|MSA|150d|2027-01-31"
    assert any("USD 5.00" in line for line in alert.lines)  # 1000 credits × 0.005
    assert any("240,000.00" in line for line in alert.lines)
    assert renewal_alerts(contract, (60,), AS_OF, [entry], "USD") == []
    ended = Contract("OLD", "Old", t("2020-01-01"), t("2026-01-01"))
    assert renewal_alerts(ended, (150,), AS_OF, [], "USD") == []
    no_value = Contract("MC", "MC", t("2025-01-01"), t("2027-02-01"))
    [plain] = renewal_alerts(no_value, (150,), AS_OF, [], "USD")
    assert not any("Net annual value" in line for line in plain.lines)


def test_evaluate_pool_runs_the_enabled_rules() -> None:
    grant = Grant("g", D(1000), t("2026-01-01"), t("2026-10-22"))
    entry = register(grant, usage=daily("2026-07-04", 90, "2"))
    rules = {a.rule for a in evaluate_pool(entry, AlertRules(), AS_OF, "USD", D("0.2"))}
    assert rules == {"projected_lapse", "expiry"}
    off = AlertRules(consumption=None, projected_lapse=False, expiry_days=None,
                     plan_behind=None)
    assert evaluate_pool(entry, off, AS_OF, "USD", D("0.2")) == []
