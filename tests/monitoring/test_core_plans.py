"""Plans: where milestones fall in a grant's life, coverage, front-loading, plan-vs-actual and
the acceleration plan."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from creditops.core.ledger import balance_at
from creditops.core.model import Duration, Grant, Recurrence, Usage
from creditops.core.plans import (
    acceleration_plan,
    burn_ahead,
    days_between,
    front_loading,
    grant_for,
    period_bounds,
    plan_coverage,
    plan_progress,
    plan_start,
    ratio,
)
from tests.monitoring.helpers import daily, make_pool, milestone, t

YEAR = Grant("y", D(1000), t("2026-01-01"), t("2027-01-01"))


def test_ratio_and_days_between() -> None:
    assert ratio(D(1), D(3)) == D("0.333333")
    assert ratio(D(1), D(0)) is None
    assert days_between(t("2026-01-01"), t("2026-01-02T12:00:00")) == D("1.5")
    assert days_between(t("2026-01-02"), t("2026-01-01")) == D(-1)


def test_period_bounds_of_plain_and_recurring_grants() -> None:
    assert period_bounds(YEAR, t("2026-05-05")) == (t("2026-01-01"), t("2027-01-01"))
    monthly = Grant("m", D(20), t("2026-01-31"), t("2026-12-15"),
                    recurrence=Recurrence(Duration(months=1), t("2026-01-31")))
    # Month ends do not drift: the period that holds 10 April is 31 March … 30 April.
    assert period_bounds(monthly, t("2026-04-10")) == (t("2026-03-31"), t("2026-04-30"))
    assert period_bounds(monthly, t("2026-12-10")) == (t("2026-11-30"), t("2026-12-15"))
    weekly = Grant("w", D(5), t("2026-01-05"), recurrence=Recurrence(Duration(days=7),
                                                                     t("2026-01-01")))
    # Anchored before the grant: the first period starts at the grant's effective instant.
    assert period_bounds(weekly, t("2026-01-06")) == (t("2026-01-05"), t("2026-01-08"))
    assert period_bounds(weekly, t("2026-01-01")) == (t("2026-01-05"), t("2026-01-08"))


def test_grant_for_follows_burn_order_and_restrictions() -> None:
    early = Grant("early", D(10), t("2026-01-01"), t("2026-06-01"))
    first = Grant("first", D(10), t("2026-01-01"), t("2027-01-01"), priority=1)
    typed = Grant("typed", D(10), t("2026-01-01"), t("2026-03-01"),
                  applies_to=frozenset({"sandbox"}))
    voided = Grant("voided", D(10), t("2026-01-01"), t("2026-02-01"), voided_at=t("2026-01-10"))
    endless = Grant("endless", D(10), t("2026-01-01"))
    pool = make_pool(early, first, typed, voided, endless)
    assert grant_for(pool, milestone("2026-02-10", "1")) == first
    assert grant_for(make_pool(early, typed, voided, endless),
                     milestone("2026-01-15", "1")) == early
    assert grant_for(make_pool(early, typed, endless),
                     milestone("2026-01-15", "1", usage_type="sandbox")) == typed
    assert grant_for(make_pool(endless), milestone("2025-06-01", "1")) is None
    assert grant_for(make_pool(early), milestone("2026-07-01", "1")) is None


def test_coverage_and_front_loading() -> None:
    pool = make_pool(YEAR)
    plan = [milestone("2026-02-01", "300"), milestone("2026-03-01", "100"),
            milestone("2026-10-01", "100")]
    assert plan_coverage(plan, t("2026-02-15"), D(800)) == D("0.25")
    assert plan_coverage(plan, t("2026-02-15"), D(0)) is None
    # 400 of the 500 placed units fall before 2 July, the middle of the grant's year.
    assert front_loading(pool, plan) == D("0.8")
    outside = [milestone("2025-06-01", "50")]
    assert front_loading(pool, outside) is None
    assert front_loading(make_pool(Grant("open", D(5), t("2026-01-01"))),
                         [milestone("2026-02-01", "1")]) is None


def test_plan_progress_compares_cumulative_plan_with_actual_use() -> None:
    pool = make_pool(YEAR)
    plan = [milestone("2026-02-28", "100", description="kick-off"),
            milestone("2026-04-30", "200"), milestone("2026-09-30", "300")]
    usage = [*daily("2026-01-01", 100, "1"), Usage("other", t("2026-03-01"), D(5), None)]
    progress = plan_progress(pool, plan, usage, t("2026-05-01"))
    assert progress is not None
    assert progress.start == t("2026-01-01")
    assert progress.planned_to_date == D(300)
    assert progress.actual_to_date == D(105)  # 100 days of 1, plus 5
    assert progress.behind == D(195) and progress.behind_pct == D("0.65")
    assert progress.last_due == plan[1] and progress.next_due == plan[2]
    assert progress.planned_ahead == D(300)
    assert [m.actual_cumulative for m in progress.milestones] == [D(59), D(105), None]
    assert [m.planned_cumulative for m in progress.milestones] == [D(100), D(300), D(600)]
    ahead = plan_progress(pool, plan, daily("2026-01-01", 120, "5"), t("2026-05-01"))
    assert ahead is not None and ahead.behind == D(0) and ahead.behind_pct == D(0)
    before = plan_progress(pool, plan, [], t("2026-02-01"))
    assert before is not None and before.behind_pct is None and before.last_due is None
    done = plan_progress(pool, plan, [], t("2026-12-01"))
    assert done is not None and done.next_due is None
    assert plan_progress(pool, [milestone("2026-02-01", "1", pool="other")], [],
                         t("2026-05-01")) is None


def test_plan_start_without_a_grant_is_the_first_milestone() -> None:
    pool = make_pool(YEAR)
    assert plan_start(pool, [milestone("2025-03-01", "1"), milestone("2026-03-01", "1")]) \
        == t("2025-03-01")


def test_acceleration_plan_needed_rate_gap_and_weekly_tracking() -> None:
    plan = acceleration_plan("y", D(700), t("2027-01-01"), t("2026-10-02"), D(2))
    # 700 units from 2 October to 2 December (61 days): 11.47541 a day.
    assert plan.target == t("2026-12-02") and plan.buffer_kept
    assert plan.days_left == D(61)
    assert plan.needed_rate == D("11.47541")
    assert plan.gap == D("9.47541") and plan.multiplier == D("5.737705")
    assert len(plan.weeks) == 9 and plan.weeks[-1].end == t("2026-12-02")
    assert plan.weeks[-1].target_cumulative == D(700)
    assert all(w.actual_cumulative is None and w.on_track is None for w in plan.weeks)
    started = t("2026-09-18")
    usage = daily("2026-09-18", 14, "9")
    tracked = acceleration_plan("y", D(560), t("2027-01-01"), t("2026-10-02"), D(2),
                                ahead=D(0), started=started, starting_to_consume=D(700),
                                usages=usage)
    first, second, third = tracked.weeks[:3]
    assert first.actual_cumulative == D(63) and first.on_track is False
    assert second.actual_cumulative == D(126) and second.on_track is False
    assert third.actual_cumulative is None
    idle = acceleration_plan("y", D(10), t("2026-10-20"), t("2026-10-02"), D(0),
                             buffer_days=30)
    assert not idle.buffer_kept and idle.target == t("2026-10-20")
    assert idle.multiplier is None and idle.needed_rate == D("0.555556")
    late = acceleration_plan("y", D(10), t("2026-10-02T06:00:00"), t("2026-10-02"), D(1))
    assert late.days_left == D(1) and late.needed_rate == D(10)
    assert idle.weeks[0].on_track is None


@pytest.mark.parametrize("good", [True, False])
def test_burn_ahead_counts_grants_that_burn_first_for_the_same_usage(good: bool) -> None:
    soon = Grant("soon", D(300), t("2026-01-01"), t("2026-06-01"))
    later = Grant("later", D(1000), t("2026-01-01"), t("2027-01-01"))
    typed = Grant("typed", D(50), t("2026-01-01"), t("2026-03-01"),
                  applies_to=frozenset({"x"}))
    endless = Grant("endless", D(7), t("2026-01-01"))
    grants = (soon, later, typed, endless) if good else (later, soon, endless, typed)
    balance = balance_at(make_pool(*grants), [Usage("a", t("2026-01-02"), D(100), None)],
                         t("2026-02-01"))
    assert burn_ahead(balance.grants, "later") == D(200)
    assert burn_ahead(balance.grants, "soon") == D(0)
    assert burn_ahead(balance.grants, "endless") == D(1200)
