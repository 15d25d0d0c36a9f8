"""The program model: periods, segments, and the checks that make a program mean something."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from creditops.core.errors import InputError
from creditops.core.incentives import (
    Baseline,
    Caps,
    Improvement,
    PerDealRebate,
    Period,
    Points,
    Segment,
    Target,
    Tier,
    Tiered,
    check_program,
    decimal_places,
)
from tests.partners.helpers import PERIOD, SEGMENTS, issue_program, issue_rules

D = Decimal


def problems(**changes: object) -> list[str]:
    with pytest.raises(InputError) as caught:
        check_program(issue_program(**changes), "program.yaml")
    return [f"{problem.column}: {problem.reason}" for problem in caught.value.problems]


def test_the_issue_program_is_valid_and_names_its_periods() -> None:
    program = check_program(issue_program())
    assert program.baseline_period == Period(date(2026, 11, 4), date(2027, 1, 31))
    assert PERIOD.days == 89 and str(PERIOD) == "2027-02-01..2027-04-30"
    assert program.tracked_kinds == ("campaign_run", "customer_meeting", "email_sent",
                                     "opportunity_registered", "training_completed")
    assert program.segment_of({"tier": "Silver"}) == "growth"
    assert program.segment_of({"tier": "Partner"}) == "unsegmented"
    assert [rule.id for rule in program.rules_for("strategic")] == ["rebate", "tiers",
                                                                    "behaviour"]
    assert [rule.id for rule in program.rules_for("unsegmented")] == ["behaviour"]
    assert program.with_period(Period(date(2027, 5, 1), date(2027, 7, 31))).period.start == \
        date(2027, 5, 1)


def test_same_period_last_year_maps_29_february_to_the_28th() -> None:
    leap = Period(date(2028, 2, 1), date(2028, 2, 29))
    assert leap.baseline(Baseline.SAME_PERIOD_LAST_YEAR) == Period(date(2027, 2, 1),
                                                                   date(2027, 2, 28))
    assert PERIOD.year_earlier() == Period(date(2026, 2, 1), date(2026, 4, 30))
    assert PERIOD.previous().contains(date(2027, 1, 31))
    assert not PERIOD.previous().contains(date(2027, 2, 1))


def test_counting_metrics_and_extra_kinds_are_tracked() -> None:
    program = issue_program(kinds=("webinar_hosted",), rules=(
        Target("webinars", ("all",), "webinar_hosted", D(3), D(100)),
        Points("calls", ("all",), D(1), (("customer_meeting", 1),))))
    assert check_program(program).tracked_kinds == ("customer_meeting", "webinar_hosted")
    assert program.known_kinds[-1] == "webinar_hosted"


def test_segments_match_on_every_attribute_they_name() -> None:
    segment = Segment("emea-gold", (("region", frozenset({"EMEA"})),
                                    ("tier", frozenset({"Gold"}))))
    assert segment.matches({"tier": "Gold", "region": "EMEA"})
    assert not segment.matches({"tier": "Gold", "region": "NA"})
    assert not segment.matches({"tier": "Gold"})


def test_a_segment_an_earlier_one_always_takes_can_never_match() -> None:
    shadowed = (Segment("gold", (("tier", frozenset({"Gold", "Silver"})),)),
                Segment("gold-emea", (("region", frozenset({"EMEA"})),
                                      ("tier", frozenset({"Gold"})))))
    assert problems(segments=shadowed, rules=(issue_rules()[4],)) == [
        "segments.gold-emea: segment 'gold-emea' can never match: every partner it accepts "
        "is taken by the earlier segment 'gold' (first match wins)"]
    # Narrower first, wider second: both can match.
    check_program(issue_program(segments=shadowed[::-1], rules=(issue_rules()[4],)))


def test_bad_segments_are_named() -> None:
    found = problems(segments=(Segment("all", (("tier", frozenset({"Gold"})),)),
                               Segment("nothing", ()),
                               Segment("empty", (("tier", frozenset()),))),
                     rules=(issue_rules()[4],))
    assert found == [
        "segments.all: segment name 'all' is reserved: 'all' means every partner, "
        "'unsegmented' those no segment matches",
        "segments.nothing: segment 'nothing' names no attribute to match",
        "segments.empty.tier: segment 'empty' lists no value for 'tier'"]


def test_rules_naming_undefined_segments_or_no_segment_are_refused() -> None:
    found = problems(rules=(PerDealRebate("rebate", ("strategic", "partners"), rate=D("0.02")),
                            PerDealRebate("none", (), amount=D(10))))
    assert found == [
        "rules[0].segments: rule 'rebate': segment 'partners' is not defined (defined: all, "
        "emerging, growth, strategic)",
        "rules[1].segments: rule 'none': lists no segment (use [all] for every partner)"]


def test_negative_rates_and_amounts_are_refused() -> None:
    found = problems(rules=(
        PerDealRebate("rebate", ("all",), rate=D("-0.02")),
        Target("t", ("all",), "deals", D(-1), D(-5)),
        Improvement("g", ("all",), "revenue", D("-0.1"), D("-0.05"), D(-1), D(-2)),
        Points("p", ("all",), D(-2), (("email_sent", -1),), cap_points=0)),
        caps=Caps(per_partner=D(-1), per_program=D("10.001")))
    assert found == [
        "caps.per_partner: must not be negative (got -1)",
        "caps.per_program: 10.001 has more than 2 decimal places",
        "rules[0].rate: rule 'rebate': must not be negative (got -0.02)",
        "rules[1].threshold: rule 't': must not be negative (got -1)",
        "rules[1].bonus: rule 't': must not be negative (got -5)",
        "rules[2].min_gain: rule 'g': must not be negative (got -0.1)",
        "rules[2].rate: rule 'g': must not be negative (got -0.05)",
        "rules[2].floor: rule 'g': must not be negative (got -1)",
        "rules[2].cap: rule 'g': must not be negative (got -2)",
        "rules[3].point_value: rule 'p': must not be negative (got -2)",
        "rules[3].cap_points: rule 'p': must be positive (got 0)",
        "rules[3].points.email_sent: rule 'p': points must not be negative (got -1)"]


def test_a_rebate_is_a_rate_or_an_amount() -> None:
    assert problems(rules=(PerDealRebate("both", ("all",), D("0.01"), D(5)),
                           PerDealRebate("neither", ("all",)))) == [
        "rules[0].rate: rule 'both': give either rate (share of each deal's amount) or amount "
        "(fixed per deal), not both and not neither",
        "rules[1].rate: rule 'neither': give either rate (share of each deal's amount) or "
        "amount (fixed per deal), not both and not neither"]


def test_tiers_must_ascend_without_overlap() -> None:
    found = problems(rules=(
        Tiered("overlap", ("all",), "revenue", (Tier(D(0), D(0)), Tier(D(0), D("0.01")))),
        Tiered("unordered", ("all",), "revenue",
               (Tier(D(0), D(0)), Tier(D(1000), D("0.02")), Tier(D(500), D("0.01")))),
        Tiered("empty", ("all",), "revenue", ())))
    assert found == [
        "rules[0].tiers[1].from: rule 'overlap': tiers overlap: two tiers start at 0",
        "rules[1].tiers[2].from: rule 'unordered': tiers are not in ascending order: 500 "
        "comes after 1000",
        "rules[2].tiers: rule 'empty': lists no tier"]


def test_metrics_and_point_kinds_must_be_known() -> None:
    found = problems(rules=(
        Target("t", ("all",), "profit", D(1), D(1)),
        Improvement("g", ("all",), "deal_closed", D(0), D(0)),
        Points("p", ("all",), D(1), (("deal_closed", 5), ("webinar", 1))),
        Points("q", ("all",), D(1), ())))
    assert found == [
        "rules[0].metric: rule 't': unknown metric 'profit' (expected deals, revenue or the "
        "count of an event kind: opportunity_registered, training_completed, "
        "customer_meeting, campaign_run, email_sent)",
        "rules[1].metric: rule 'g': unknown metric 'deal_closed' (expected deals, revenue or "
        "the count of an event kind: opportunity_registered, training_completed, "
        "customer_meeting, campaign_run, email_sent)",
        "rules[2].points.deal_closed: rule 'p': deals earn through per_deal_rebate, target, "
        "tiered or improvement rules, not points",
        "rules[2].points.webinar: rule 'p': unknown event kind 'webinar' (declare it under "
        "kinds:)",
        "rules[3].points: rule 'q': lists no event kind"]


def test_rule_ids_are_unique_and_not_reserved() -> None:
    rebate = PerDealRebate("rebate", ("all",), rate=D("0.01"))
    clawback = PerDealRebate("clawback", ("all",), rate=D("0.01"))
    assert problems(rules=(rebate, rebate, clawback)) == [
        "rules[1].id: rule id 'rebate' is used twice",
        "rules[2].id: rule id 'clawback' is reserved for clawback, per_partner_cap, "
        "program_cap lines"]


def test_periods_and_baselines_must_make_sense() -> None:
    assert problems(period=Period(date(2027, 5, 1), date(2027, 4, 30))) == [
        "period: start 2027-05-01 is after end 2027-04-30"]
    long = Period(date(2026, 1, 1), date(2027, 6, 30))
    assert problems(period=long, baseline=Baseline.SAME_PERIOD_LAST_YEAR) == [
        "baseline: the baseline period 2025-01-01..2026-06-30 overlaps the period "
        "2026-01-01..2027-06-30: a period longer than a year cannot use "
        "same_period_last_year"]


def test_declared_kinds_are_lowercase_names_beyond_the_standard_ones() -> None:
    assert problems(kinds=("Webinar", "email_sent")) == [
        "kinds[0]: event kind 'Webinar' must be lowercase letters, digits and underscores",
        "kinds[1]: 'email_sent' is a standard kind; declare only extra kinds"]


def test_figures_beyond_the_engines_precision_are_refused() -> None:
    assert problems(rules=(PerDealRebate("r", ("all",), rate=D("0.000000001")),
                           PerDealRebate("s", ("all",), amount=D("1E+15")))) == [
        "rules[0].rate: rule 'r': 1E-9 has more than 8 decimal places",
        "rules[1].amount: rule 's': 1E+15 is too large (at most 14 integer digits)"]
    assert decimal_places(D("1.50")) == 1
    assert decimal_places(D("1500")) == 0
    assert decimal_places(D(0)) == 0


def test_segments_fixture_is_the_issues() -> None:
    assert [segment.name for segment in SEGMENTS] == ["strategic", "growth", "emerging"]
