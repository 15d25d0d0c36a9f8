"""Diagnostics and replays on histories worked by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from creditops.core.incentive_diagnostics import (
    Goal,
    diagnose,
    goals,
    replay,
    replay_periods,
)
from creditops.core.incentive_reference import (
    evaluate,
)
from creditops.core.incentives import (
    Caps,
    PerDealRebate,
    Period,
    Points,
    Target,
)
from tests.partners.helpers import PERIOD, Events, issue_program, issue_rules, partner

D = Decimal
NOV, AUG = date(2026, 12, 1), date(2026, 9, 1)


def history() -> tuple[list, Events]:
    partners = [partner("S1", "Platinum"), partner("G1", "Gold"), partner("G2", "Silver"),
                partner("E1", "Registered"), partner("E2", "Registered")]
    events = Events().deal("s-now", "S1", NOV, "600000").deal("s-before", "S1", AUG, "500000")
    for number in range(12):
        events.deal(f"g-now{number}", "G1", NOV, "10000")
    for number in range(10):
        events.deal(f"g-before{number}", "G1", AUG, "10000")
    events.deal("g2a", "G2", NOV, "5000").deal("g2b", "G2", NOV, "5000")
    events.deal("e1", "E1", NOV, "2000")
    return partners, events


def test_the_diagnosis_of_the_issue_program() -> None:
    program = issue_program()
    partners, events = history()
    result = evaluate(program.with_period(program.baseline_period), partners, events.events)
    diagnosis = diagnose(program, result)
    assert diagnosis.history == Period(date(2026, 11, 4), date(2027, 1, 31))
    assert diagnosis.history_baseline == Period(date(2026, 8, 7), date(2026, 11, 3))
    reached = {(item.goal.rule, item.goal.label, item.segment): (item.reached, item.partners,
                                                                 format(item.share, "f"))
               for item in diagnosis.attainability}
    assert reached == {
        ("ten-deals", "deals ≥ 10", "growth"): (1, 2, "0.5000"),
        ("ten-deals", "deals ≥ 10", "emerging"): (0, 2, "0.0000"),
        ("tiers", "revenue ≥ 500,000.00 (tier 2)", "strategic"): (1, 1, "1.0000"),
        ("tiers", "revenue ≥ 1,000,000.00 (tier 3)", "strategic"): (0, 1, "0.0000"),
        ("growth", "revenue +10% over baseline (at least 50,000.00)", "growth"): (1, 2, "0.5000"),
        ("growth", "revenue +10% over baseline (at least 50,000.00)", "emerging"): (0, 2, "0.0000"),
        ("behaviour", "the 2000-point cap", "strategic"): (0, 1, "0.0000"),
        ("behaviour", "the 2000-point cap", "growth"): (0, 2, "0.0000"),
        ("behaviour", "the 2000-point cap", "emerging"): (0, 2, "0.0000"),
    }
    rebates = {item.segment: (item.cost, item.paid_anyway, item.revenue_above_baseline,
                              item.anyway_share) for item in diagnosis.rebates}
    assert rebates == {"strategic": (D("12000.00"), D("10000.00"), D(100000), D("0.8333")),
                       "growth": (D("2600.00"), D("2000.00"), D(30000), D("0.7692")),
                       "emerging": (D("40.00"), D("0.00"), D(2000), D(0))}
    overall = diagnosis.concentration[0]
    assert (overall.segment, overall.partners, overall.paid_partners, overall.top_partners,
            overall.total, overall.top_total, overall.top_share) == (
        "all", 5, 4, 1, D("21640.00"), D("13000.00"), D("0.6007"))
    assert diagnosis.cost == D("21640.00")
    assert [finding.code for finding in diagnosis.findings] == [
        "per-deal-rebate", "unobtainable-goal", "unobtainable-goal", "unobtainable-goal",
        "one-size-goal", "payout-concentration"]
    rebate, *_, one_size, concentrated = diagnosis.findings
    assert "would have cost USD 14,640.00, of which USD 12,000.00 (81.97%) paid for revenue " \
           "up to each partner's own baseline" in rebate.message
    assert "reached by 50% of 'growth' partners but 0% of 'emerging' partners" in \
        one_size.message
    assert concentrated.message.startswith("The top 10% of partners (1 of 5) would receive "
                                           "60.07% of all payouts")
    unobtainable = [(finding.rule, finding.segment) for finding in diagnosis.findings
                    if finding.code == "unobtainable-goal"]
    assert unobtainable == [("ten-deals", "emerging"), ("tiers", "strategic"),
                            ("growth", "emerging")]


def test_a_program_that_commits_every_dont() -> None:
    program = issue_program(segments=(), rules=(PerDealRebate("rebate", ("all",),
                                                              rate=D("0.02")),),
                            caps=Caps())
    diagnosis = diagnose(program, evaluate(program, [partner("A"), partner("B")], []))
    assert [finding.code for finding in diagnosis.findings] == [
        "no-history", "per-deal-rebate", "no-behaviour-incentive", "one-size-fits-all"]
    assert diagnosis.findings[2].segment == "unsegmented"
    assert diagnosis.concentration[0].top_share == 0
    assert diagnosis.rebates[0].anyway_share == 0


def test_a_goal_on_behaviour_counts_as_rewarding_behaviour() -> None:
    program = issue_program(rules=(Target("meet", ("strategic", "growth", "emerging"),
                                          "customer_meeting", D(3), D(100)),))
    events = Events().many("m", "G1", NOV, "customer_meeting", 3)
    result = evaluate(program.with_period(program.baseline_period),
                      [partner("G1"), partner("S1", "Platinum")], events.events)
    codes = [finding.code for finding in diagnose(program, result).findings]
    assert "no-behaviour-incentive" not in codes
    # Only two segments have partners, both covered by every rule: one size fits all.
    assert "one-size-fits-all" in codes


def test_goals_of_each_rule() -> None:
    rebate, target, tiers, growth, behaviour = issue_rules()
    assert goals(rebate) == []
    assert goals(target) == [Goal("ten-deals", "deals ≥ 10")]
    assert [goal.position for goal in goals(tiers)] == [1, 2]
    assert goals(Points("p", ("all",), D(1), (("email_sent", 1),))) == []
    assert goals(growth)[0].label == "revenue +10% over baseline (at least 50,000.00)"
    assert goals(behaviour)[0].label == "the 2000-point cap"


def test_replay_periods_end_before_the_program_or_with_the_data() -> None:
    assert replay_periods(PERIOD, 2, date(2027, 6, 30)) == [
        Period(date(2026, 8, 7), date(2026, 11, 3)),
        Period(date(2026, 11, 4), date(2027, 1, 31))]
    assert replay_periods(PERIOD, 1, date(2026, 12, 31)) == [
        Period(date(2026, 10, 4), date(2026, 12, 31))]


def test_a_replay_summarises_cost_distribution_and_goals() -> None:
    program = issue_program()
    partners, events = history()
    results = [evaluate(program.with_period(period), partners, events.events)
               for period in replay_periods(program.period, 2, date(2027, 4, 30))]
    simulation = replay(program, results)
    assert [period.cost for period in simulation.periods] == [D("19500.00"), D("21640.00")]
    assert simulation.total_cost == D("41140.00")
    assert simulation.mean_cost == D("20570.00")
    latest = simulation.periods[-1]
    overall = latest.distribution[0]
    assert (overall.segment, overall.partners, overall.paid_partners, overall.median,
            overall.p90, overall.largest, overall.mean) == (
        "all", 5, 4, D("200.00"), D("13000.00"), D("13000.00"), D("4328.00"))
    assert [item.segment for item in latest.distribution] == ["all", "strategic", "growth",
                                                              "emerging"]
    assert latest.by_rule["rebate"] == D("14640.00")
    assert len(latest.attainment) == 9
    empty = replay(program, [])
    assert (empty.total_cost, empty.mean_cost, empty.periods) == (0, 0, ())


def test_rebates_only_where_they_apply_and_equal_goals_are_no_one_size_goal() -> None:
    rebate, target, *_ = issue_rules()
    program = issue_program(rules=(PerDealRebate("rebate", ("growth",), rate=D("0.02")),
                                   target))
    partners = [partner("S1", "Platinum"), partner("G1"), partner("E1", "Registered")]
    events = Events().deal("g", "G1", NOV, "1000").deal("e", "E1", NOV, "1000")
    diagnosis = diagnose(program, evaluate(program.with_period(program.baseline_period),
                                           partners, events.events))
    assert [item.segment for item in diagnosis.rebates] == ["growth"]
    codes = [finding.code for finding in diagnosis.findings]
    assert "one-size-goal" not in codes
    assert codes.count("unobtainable-goal") == 2
    assert rebate.id == "rebate"
