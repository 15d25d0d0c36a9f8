"""The ledger's semantics (PRODUCT.md §2), case by case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest

from creditops.core.ledger import Ledger, balance_at
from creditops.core.model import (
    Duration,
    Grant,
    OveragePolicy,
    Pool,
    Recurrence,
    Rollover,
    Usage,
)
from creditops.core.replay import LedgerError


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def pool(*grants: Grant, policy: OveragePolicy = OveragePolicy.BILL) -> Pool:
    return Pool("p", "flex_credits", "credit", D("0.005"), tuple(grants), overage_policy=policy)


def use(key: str, at: str, quantity: str | int, usage_type: str | None = None,
        reverses: str | None = None) -> Usage:
    return Usage(key, t(at), D(quantity), usage_type, reverses)


def check_invariant(balance) -> None:
    carried = sum((g.carried_forward for g in balance.grants), D(0))
    granted = sum((g.granted for g in balance.grants), D(0)) - carried
    remaining = sum((g.remaining for g in balance.grants), D(0))
    assert granted == balance.consumed + remaining + balance.lapsed + balance.voided
    if balance.pool.overage_policy is OveragePolicy.BILL:
        assert balance.usage_total == balance.consumed + balance.overage
    else:
        assert balance.usage_total == balance.consumed + balance.overage


def test_half_open_activity_usage_at_expiry_is_not_covered() -> None:
    grant = Grant("g", D(100), t("2026-01-01"), t("2026-02-01"))
    usages = [use("u1", "2026-01-01", 10), use("u2", "2026-02-01", 5)]
    balance = balance_at(pool(grant), usages, t("2026-03-01"))
    g = balance.grant("g")
    assert (g.consumed, g.lapsed, g.remaining, g.ended) == (D(10), D(90), D(0), "expired")
    assert balance.overage == D(5)
    check_invariant(balance)


def test_state_at_instant_applies_grant_events_at_it_and_usage_strictly_before() -> None:
    grant = Grant("g", D(100), t("2026-01-01"), t("2026-02-01"))
    usages = [use("u1", "2026-01-10", 10)]
    at_usage = balance_at(pool(grant), usages, t("2026-01-10"))
    assert at_usage.balance == D(100)
    at_expiry = balance_at(pool(grant), usages, t("2026-02-01"))
    assert at_expiry.balance == D(0) and at_expiry.lapsed == D(90)
    before_effective = balance_at(pool(grant), usages, t("2025-12-31"))
    assert before_effective.grants == ()


def test_burn_order_priority_restriction_expiry_effective_id() -> None:
    later = Grant("a-later", D(10), t("2026-01-01"), t("2026-12-01"))
    sooner = Grant("z-sooner", D(10), t("2026-01-01"), t("2026-06-01"))
    urgent = Grant("m-priority", D(10), t("2026-01-01"), t("2026-12-01"), priority=1)
    restricted = Grant("r", D(10), t("2026-01-01"), t("2026-12-01"),
                       applies_to=frozenset({"voice"}))
    never = Grant("n", D(10), t("2026-01-01"))
    older = Grant("b-older", D(10), t("2025-12-01"), t("2026-12-01"))
    everything = pool(later, sooner, urgent, restricted, never, older)
    order = []
    for step in range(6):
        usages = [use(f"u{i}", "2026-02-01", 10, "voice") for i in range(step + 1)]
        balance = balance_at(everything, usages, t("2026-03-01"))
        order.append(next(g.grant.id for g in balance.grants
                          if g.consumed and g.grant.id not in order))
    assert order == ["m-priority", "r", "z-sooner", "b-older", "a-later", "n"]


def test_equal_keys_fall_back_to_grant_id() -> None:
    b = Grant("b", D(5), t("2026-01-01"), t("2026-06-01"))
    a = Grant("a", D(5), t("2026-01-01"), t("2026-06-01"))
    balance = balance_at(pool(b, a), [use("u", "2026-01-02", 5)], t("2026-01-03"))
    assert balance.grant("a").consumed == D(5) and balance.grant("b").consumed == D(0)


def test_restricted_grant_never_serves_other_usage_types() -> None:
    restricted = Grant("r", D(100), t("2026-01-01"), t("2026-12-01"),
                       applies_to=frozenset({"sandbox"}))
    balance = balance_at(pool(restricted), [use("u", "2026-01-02", 7, "production"),
                                            use("v", "2026-01-02", 3)], t("2026-01-03"))
    assert balance.grant("r").consumed == D(0)
    assert balance.overage == D(10)


def test_usage_spanning_grants_takes_from_each_in_order() -> None:
    first = Grant("first", D(30), t("2026-01-01"), t("2026-03-01"))
    second = Grant("second", D(30), t("2026-01-01"), t("2026-04-01"))
    balance = balance_at(pool(first, second), [use("u", "2026-01-05", 50)], t("2026-01-06"))
    assert balance.grant("first").remaining == D(0)
    assert balance.grant("second").remaining == D(10)
    assert balance.overage == D(0)


def test_void_ends_grant_keeps_charged_usage_and_reports_voided_not_lapsed() -> None:
    grant = Grant("g", D(100), t("2026-01-01"), t("2026-12-01"), voided_at=t("2026-03-01"))
    usages = [use("u1", "2026-02-01", 40), use("u2", "2026-03-01", 5)]
    balance = balance_at(pool(grant), usages, t("2026-04-01"))
    g = balance.grant("g")
    assert (g.consumed, g.voided, g.lapsed, g.ended) == (D(40), D(60), D(0), "voided")
    assert balance.overage == D(5)
    check_invariant(balance)


def test_void_before_effective_grants_nothing_usable() -> None:
    grant = Grant("g", D(100), t("2026-02-01"), t("2026-12-01"), voided_at=t("2026-01-15"))
    balance = balance_at(pool(grant), [use("u", "2026-02-02", 1)], t("2026-03-01"))
    g = balance.grant("g")
    assert (g.granted, g.voided, g.consumed) == (D(100), D(100), D(0))
    assert balance.overage == D(1)
    check_invariant(balance)


def test_void_does_not_change_burn_order_before_it() -> None:
    keeps = Grant("a", D(10), t("2026-01-01"), t("2026-12-01"))
    voided = Grant("b", D(10), t("2026-01-02"), t("2026-12-01"), voided_at=t("2026-06-01"))
    balance = balance_at(pool(keeps, voided), [use("u", "2026-02-01", 5)], t("2026-07-01"))
    assert balance.grant("a").consumed == D(5)
    assert balance.grant("b").voided == D(10)


def test_bill_overage_is_not_paid_back_by_later_grants() -> None:
    later = Grant("g", D(100), t("2026-02-01"), t("2026-12-01"))
    balance = balance_at(pool(later), [use("u", "2026-01-15", 30)], t("2026-03-01"))
    assert balance.overage == D(30) and balance.grant("g").remaining == D(100)
    check_invariant(balance)


def test_carry_overage_is_paid_first_by_the_next_grant_in_burn_order() -> None:
    early = Grant("early", D(10), t("2026-01-01"), t("2026-02-01"))
    next_a = Grant("next-a", D(15), t("2026-02-01"), t("2026-03-01"))
    next_b = Grant("next-b", D(50), t("2026-02-01"), t("2026-06-01"))
    usages = [use("u1", "2026-01-10", 40), use("u2", "2026-02-01", 5)]
    carry = pool(early, next_a, next_b, policy=OveragePolicy.CARRY)
    before = balance_at(carry, usages, t("2026-01-31"))
    assert before.overage == D(30)
    after = balance_at(carry, usages, t("2026-02-02"))
    assert after.grant("next-a").consumed == D(15)  # 15 of the debt
    assert after.grant("next-b").consumed == D(20)  # the rest of the debt, then u2
    assert after.overage == D(0)
    check_invariant(after)


def test_carry_debt_only_paid_by_grants_admitting_its_usage_type() -> None:
    restricted = Grant("r", D(50), t("2026-02-01"), t("2026-06-01"),
                       applies_to=frozenset({"sms"}))
    open_grant = Grant("o", D(5), t("2026-03-01"), t("2026-06-01"))
    carry = pool(restricted, open_grant, policy=OveragePolicy.CARRY)
    usages = [use("u1", "2026-01-10", 8, "email")]
    balance = balance_at(carry, usages, t("2026-04-01"))
    assert balance.grant("r").consumed == D(0)
    assert balance.grant("o").consumed == D(5)
    assert balance.overage == D(3)
    check_invariant(balance)


def test_recurring_grant_resets_and_lapses_each_period() -> None:
    monthly = Grant("m", D(20), t("2026-01-01"), t("2026-04-01"),
                    recurrence=Recurrence(Duration.parse("P1M"), t("2026-01-01")))
    usages = [use("u1", "2026-01-05", 15), use("u2", "2026-02-05", 20), use("u3", "2026-03-05", 1)]
    balance = balance_at(pool(monthly), usages, t("2026-03-10"))
    g = balance.grant("m")
    assert g.granted == D(60) and g.lapsed == D(5)
    assert g.remaining == D(19) and g.period_consumed == D(1)
    assert g.period_start == t("2026-03-01") and g.period_end == t("2026-04-01")
    final = balance_at(pool(monthly), usages, t("2026-05-01"))
    assert final.grant("m").lapsed == D(24) and final.grant("m").ended == "expired"
    check_invariant(final)


def test_recurrence_anchor_after_effective_counts_backwards() -> None:
    yearly = Grant("y", D(4), t("2025-11-01"), None,
                   recurrence=Recurrence(Duration.parse("P1Y"), t("2026-02-01")))
    balance = balance_at(pool(yearly), [], t("2026-03-01"))
    g = balance.grant("y")
    assert g.period_start == t("2026-02-01") and g.period_end == t("2027-02-01")
    assert g.granted == D(8) and g.lapsed == D(4)


def test_rollover_carries_a_capped_fraction_into_a_new_grant() -> None:
    grant = Grant("g", D(1000), t("2026-01-01"), t("2026-02-01"),
                  rollover=Rollover(D("0.5"), D(300), t("2026-06-01")))
    usages = [use("u1", "2026-01-10", 200), use("u2", "2026-02-10", 50)]
    balance = balance_at(pool(grant), usages, t("2026-03-01"))
    original = balance.grant("g")
    carried = balance.grant("g~rollover")
    assert original.carried_forward == D(300) and original.lapsed == D(500)
    assert carried.granted == D(300) and carried.consumed == D(50)
    assert carried.grant.effective == t("2026-02-01")
    assert carried.grant.expires == t("2026-06-01")
    check_invariant(balance)


def test_rollover_defaults_carry_everything_and_nothing_when_empty() -> None:
    grant = Grant("g", D(10), t("2026-01-01"), t("2026-02-01"), rollover=Rollover())
    full = balance_at(pool(grant), [], t("2026-03-01"))
    assert full.grant("g~rollover").remaining == D(10)
    used = balance_at(pool(grant), [use("u", "2026-01-02", 10)], t("2026-03-01"))
    assert [g.grant.id for g in used.grants] == ["g"]


def test_reversal_gives_units_back_to_the_grants_it_came_from() -> None:
    grant = Grant("g", D(100), t("2026-01-01"), t("2026-12-01"))
    usages = [use("u1", "2026-01-10", 120), use("r1", "2026-01-12", -30, reverses="u1"),
              use("r2", "2026-01-13", -50, reverses="u1")]
    after_first = balance_at(pool(grant), usages, t("2026-01-13"))
    assert after_first.overage == D(0)  # the overage part (20) is reversed first
    assert after_first.grant("g").remaining == D(10)
    after_both = balance_at(pool(grant), usages, t("2026-01-14"))
    assert after_both.grant("g").remaining == D(60)
    assert after_both.usage_total == D(40)
    check_invariant(after_both)


def test_reversal_after_expiry_or_void_counts_as_lapsed_or_voided() -> None:
    expiring = Grant("e", D(10), t("2026-01-01"), t("2026-02-01"))
    voided = Grant("v", D(10), t("2026-01-01"), t("2026-12-01"), voided_at=t("2026-02-01"),
                   priority=20)
    usages = [use("u1", "2026-01-10", 15), use("r1", "2026-03-01", -15, reverses="u1")]
    balance = balance_at(pool(expiring, voided), usages, t("2026-04-01"))
    assert balance.grant("e").lapsed == D(10) and balance.grant("v").voided == D(10)
    assert balance.consumed == D(0)
    check_invariant(balance)


def test_carry_reversal_cancels_open_debt_and_paid_debt() -> None:
    later = Grant("g", D(100), t("2026-02-01"), t("2026-12-01"))
    usages = [use("u1", "2026-01-10", 30), use("u2", "2026-01-11", 5),
              use("r1", "2026-01-20", -10, reverses="u1"),
              use("r2", "2026-03-01", -15, reverses="u1")]
    carry = pool(later, policy=OveragePolicy.CARRY)
    mid = balance_at(carry, usages, t("2026-01-21"))
    assert mid.overage == D(25)
    end = balance_at(carry, usages, t("2026-03-02"))
    assert end.grant("g").consumed == D(10) and end.overage == D(0)
    check_invariant(end)


@pytest.mark.parametrize(
    ("usages", "message"),
    [
        ([use("r", "2026-01-02", -5, reverses="missing")], "not an earlier usage"),
        ([use("u", "2026-01-02", 5), use("r", "2026-01-03", -6, reverses="u")], "more than"),
        ([use("u", "2026-01-02", 5), use("r", "2026-01-03", 6, reverses="u")], "negative"),
        ([use("u", "2026-01-02", -5)], "reverses no usage"),
    ],
)
def test_impossible_usage_is_a_ledger_error(usages: list[Usage], message: str) -> None:
    grant = Grant("g", D(100), t("2026-01-01"), t("2026-12-01"))
    with pytest.raises(LedgerError, match=message):
        balance_at(pool(grant), usages, t("2026-02-01"))


def test_ledger_only_moves_forward_and_must_be_advanced_before_reading() -> None:
    ledger = Ledger(pool(), [])
    with pytest.raises(AssertionError):
        ledger.snapshot()
    ledger.advance(t("2026-02-01"))
    with pytest.raises(LedgerError, match="forward"):
        ledger.advance(t("2026-01-01"))


def test_unknown_grant_lookup_raises_key_error() -> None:
    with pytest.raises(KeyError):
        balance_at(pool(), [], t("2026-01-01")).grant("nope")


def test_result_does_not_depend_on_input_order() -> None:
    grants = [Grant("a", D(10), t("2026-01-01"), t("2026-03-01")),
              Grant("b", D(10), t("2026-01-01"), t("2026-03-01"))]
    usages = [use(f"u{i}", "2026-01-05", i + 1) for i in range(5)]
    one = balance_at(pool(*grants), usages, t("2026-04-01"))
    other = balance_at(pool(*reversed(grants)), list(reversed(usages)), t("2026-04-01"))
    assert [(g.grant.id, g.consumed, g.lapsed) for g in one.grants] == \
           [(g.grant.id, g.consumed, g.lapsed) for g in other.grants]


def test_projection_matches_day_by_day_usage_exactly() -> None:
    grants = (
        Grant("a", D(100), t("2026-01-01"), t("2026-01-20")),
        Grant("b", D(55), t("2026-01-05"), t("2026-02-10"), applies_to=frozenset({"x"})),
        Grant("c", D(40), t("2026-01-01"), t("2026-03-01"),
              recurrence=Recurrence(Duration.parse("P7D"), t("2026-01-01")),
              rollover=Rollover(D("0.5"), None, t("2026-04-01"))),
    )
    for policy in OveragePolicy:
        subject = pool(*grants, policy=policy)
        daily = [(None, D("3.5")), ("x", D("4.25"))]
        projected = Ledger(subject, [])
        lapses = projected.project_lapses(t("2026-01-01"), t("2026-04-15"), daily)
        explicit = [Usage(f"d{k}-{i}", t("2026-01-01") + timedelta(days=k), q, u)
                    for k in range(104) for i, (u, q) in enumerate(daily)]
        replayed = Ledger(subject, explicit)
        replayed.advance(t("2026-04-15"))
        a, b = projected.snapshot(), replayed.snapshot()
        assert [(g.grant.id, g.consumed, g.lapsed, g.remaining) for g in a.grants] == \
               [(g.grant.id, g.consumed, g.lapsed, g.remaining) for g in b.grants]
        assert (a.overage, a.usage_total) == (b.overage, b.usage_total)
        assert lapses["a"] == a.grant("a").lapsed


def test_projection_with_no_daily_usage_only_applies_events() -> None:
    grant = Grant("g", D(10), t("2026-01-01"), t("2026-02-01"))
    ledger = Ledger(pool(grant), [])
    assert ledger.project_lapses(t("2026-01-01"), t("2026-03-01"), [(None, D(0))]) == {"g": D(10)}


def test_projection_in_a_time_zone_with_daylight_saving() -> None:
    zone = ZoneInfo("America/New_York")
    start = datetime(2026, 3, 1, tzinfo=zone)
    grant = Grant("g", D(100), start, datetime(2026, 3, 21, tzinfo=zone))
    ledger = Ledger(pool(grant), [])
    # 20 local days, one of them 23 hours long: 20 daily draws of 4.
    assert ledger.project_lapses(start, datetime(2026, 3, 22, tzinfo=zone),
                                 [(None, D(4))]) == {"g": D(20)}


def test_duration_parsing_and_month_end_clamping() -> None:
    assert Duration.parse("p1y") == Duration(months=12)
    assert Duration.parse("P2W3D") == Duration(days=17)
    assert str(Duration.parse("P1Y3M2D")) == "P1Y3M2D"
    assert Duration.parse("P1M").times(t("2026-01-31"), 1) == t("2026-02-28")
    assert Duration.parse("P1M").times(t("2024-01-31"), 1) == t("2024-02-29")
    assert Duration.parse("P1M").times(t("2026-01-31"), 2) == t("2026-03-31")
    assert Duration.parse("P1Y").times(t("2024-02-29"), 1) == t("2025-02-28")
    for bad in ("1M", "P", "PXM", "P-1M"):
        with pytest.raises(ValueError, match="not a period"):
            Duration.parse(bad)
    with pytest.raises(ValueError, match="positive"):
        Duration(months=0, days=0)


def test_grant_problems_name_what_is_wrong() -> None:
    assert Grant("g", D(1), t("2026-01-01"), t("2026-02-01")).problems() == []
    bad = Grant("g", D(-1), t("2026-01-01"), t("2026-01-01"), applies_to=frozenset(),
                rollover=Rollover(D(2), D(-1), t("2025-01-01")))
    reasons = " | ".join(bad.problems())
    for fragment in ("negative", "expiry is not after", "carried grant must expire",
                     "fraction", "max is negative", "applies_to is empty"):
        assert fragment in reasons
    no_expiry = Grant("g", D(1), t("2026-01-01"), rollover=Rollover())
    assert "need an expiry" in no_expiry.problems()[0]


def test_overage_rate_defaults_to_unit_value() -> None:
    assert pool().overage_value_rate == D("0.005")
    priced = Pool("p", "k", "u", D(1), overage_rate=D(2))
    assert priced.overage_value_rate == D(2)


def test_zero_quantity_usage_changes_nothing_even_without_grants() -> None:
    balance = balance_at(pool(), [use("u", "2026-01-02", 0)], t("2026-01-03"))
    assert balance.overage == D(0) and balance.usage_total == D(0)


def test_open_ended_carry_forward_is_sound() -> None:
    grant = Grant("g", D(1), t("2026-01-01"), t("2026-02-01"), rollover=Rollover())
    assert grant.problems() == []


def test_first_recurrence_after_an_instant_equals_counting_one_by_one() -> None:
    anchor = t("2020-01-31")
    for every in (Duration(months=1), Duration(months=1, days=10), Duration(days=9),
                  Duration(months=12)):
        for after in (t("2019-03-01"), t("2020-01-31"), t("2026-02-28T12:00:00")):
            count = -200
            while every.times(anchor, count) <= after:
                count += 1
            assert every.first_after(anchor, after) == every.times(anchor, count)


def test_projected_carry_debts_stay_in_day_order() -> None:
    """Two usage types running into debt must be paid back day by day, as real usage is."""
    every_3_days = Recurrence(Duration(days=3), t("2026-01-01"))
    grants = (Grant("g0", D("0.75"), t("2026-01-01"), priority=1, recurrence=every_3_days),
              Grant("g1", D("0.75"), t("2026-01-08"), priority=1, recurrence=every_3_days,
                    applies_to=frozenset({"a"})))
    subject = pool(*grants, policy=OveragePolicy.CARRY)
    daily = [(None, D("0.25")), ("a", D("0.25"))]
    projected = Ledger(subject, [])
    projected.project(t("2026-01-01"), t("2026-05-01"), daily)
    explicit = [Usage(f"d{k:03d}-{i}", t("2026-01-01") + timedelta(days=k), q, u)
                for k in range(120) for i, (u, q) in enumerate(daily)]
    expected = balance_at(subject, explicit, t("2026-05-01"))
    assert [(g.grant.id, g.consumed, g.remaining) for g in projected.snapshot().grants] == \
           [(g.grant.id, g.consumed, g.remaining) for g in expected.grants]
