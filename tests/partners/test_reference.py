"""The row-by-row reference: every rule's meaning on figures worked by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from creditops.core.errors import InputError, Problem
from creditops.core.incentive_payouts import (
    PartnerMetrics,
    PayoutLine,
    PeriodMetrics,
    explain_line,
    money,
    percent,
    quantity,
)
from creditops.core.incentive_reference import (
    MAX_PROBLEMS,
    LockedPeriod,
    Reversal,
    check_events,
    evaluate,
    late_reversals,
    raise_problems,
    scale_to_program_cap,
)
from creditops.core.incentives import (
    Caps,
    Improvement,
    PerDealRebate,
    Period,
    Points,
    Target,
    Tier,
    Tiered,
)
from tests.partners.helpers import Events, issue_program, partner

D = Decimal
FEB, MAR, JAN = date(2027, 2, 10), date(2027, 3, 10), date(2027, 1, 15)


def scenario() -> tuple[list, Events]:
    partners = [partner("S1", "Platinum"), partner("G1", "Gold"), partner("E1", "Registered"),
                partner("U1", "Partner")]
    events = Events()
    # S1: 1,200,000 of revenue in the period, a deal of the baseline reversed in the period.
    events.deal("s-old", "S1", JAN, "10000").deal("s1", "S1", FEB, "700000")
    events.deal("s2", "S1", MAR, "500000").reversal("r-old", "S1", FEB, "s-old")
    events.many("s-opp", "S1", FEB, "opportunity_registered", 3)
    events.add("s-camp", "S1", MAR, "campaign_run")
    # G1: 11 deals of 10,000, one reversed in the period; 60,000 in the baseline.
    for number in range(11):
        events.deal(f"g{number}", "G1", MAR, "10000")
    events.reversal("r-g0", "G1", date(2027, 4, 1), "g0")
    for number in range(6):
        events.deal(f"gb{number}", "G1", date(2026, 12, 1), "10000")
    # E1: one huge deal and too many e-mails: every cap binds.
    events.deal("e1", "E1", FEB, "3000000").many("e-mail", "E1", MAR, "email_sent", 2500)
    # U1: matches no segment; only the behaviour rule (segments: [all]) applies.
    events.add("u-meet", "U1", MAR, "customer_meeting")
    # Outside both windows: ignored.
    events.deal("late", "G1", date(2027, 5, 2), "99999")
    return partners, events


def lines(result, partner_id: str) -> dict[str, tuple[str, str]]:
    payout = next(item for item in result.partners if item.partner_id == partner_id)
    return {line.rule: (format(line.amount, "f"), line.explain) for line in payout.lines}


def test_the_issue_program_over_worked_figures() -> None:
    partners, events = scenario()
    check_events(events.events, {item.partner_id for item in partners})
    result = evaluate(issue_program(), partners, events.events)
    totals = {payout.partner_id: format(payout.total, "f") for payout in result.partners}
    assert totals == {"E1": "50000.00", "G1": "9000.00", "S1": "32960.00", "U1": "10.00"}
    assert lines(result, "S1") == {
        "rebate": ("24000.00", "2% of the revenue of 2 net deals, 1,200,000.00 = 24,000.00"),
        "tiers": ("9000.00", "revenue 1,200,000.00: 500,000.00 at 0% + 500,000.00 at 1% + "
                             "200,000.00 at 2% = 9,000.00"),
        "behaviour": ("160.00", "3 opportunity_registered × 10 + 1 campaign_run × 50 = 80 "
                                "points; × 2.00 = 160.00"),
        "clawback": ("-200.00", "1 deal closed before the period and reversed in it (s-old), "
                                "revenue 10,000.00: takes back the 'rebate' rebate = -200.00"),
    }
    assert lines(result, "G1") == {
        "rebate": ("2000.00", "2% of the revenue of 10 net deals, 100,000.00 = 2,000.00"),
        "ten-deals": ("5000.00", "deals 10 ≥ target 10: bonus 5,000.00"),
        "growth": ("2000.00", "revenue 100,000.00 against baseline 60,000.00; needs "
                              "66,000.00 (+10%); pays 5% of the gain 40,000.00 = 2,000.00"),
        "behaviour": ("0.00", "no rewarded behaviour in the period"),
    }
    assert lines(result, "E1") == {
        "rebate": ("60000.00", "2% of the revenue of 1 net deal, 3,000,000.00 = 60,000.00"),
        "ten-deals": ("0.00", "deals 1 < target 10: no bonus"),
        "growth": ("20000.00", "revenue 3,000,000.00 against baseline 0.00 (floor 50,000.00); "
                               "needs 55,000.00 (+10%); pays 5% of the gain 2,950,000.00, "
                               "capped at 20,000.00 = 20,000.00"),
        "behaviour": ("4000.00", "2500 email_sent × 1 = 2500 points, capped at 2000; × 2.00 = "
                                 "4,000.00"),
        "per_partner_cap": ("-34000.00", "rule lines total 84,000.00, above the per-partner "
                                         "cap 50,000.00: -34,000.00"),
    }
    assert lines(result, "U1") == {"behaviour": ("10.00", "1 customer_meeting × 5 = 5 points; "
                                                          "× 2.00 = 10.00")}
    assert {key: format(value, "f") for key, value in result.by_rule.items()} == {
        "rebate": "86000.00", "ten-deals": "5000.00", "tiers": "9000.00", "growth": "22000.00",
        "behaviour": "4170.00", "per_partner_cap": "-34000.00", "clawback": "-200.00"}
    assert {key: format(value, "f") for key, value in result.by_segment.items()} == {
        "strategic": "32960.00", "growth": "9000.00", "emerging": "50000.00",
        "unsegmented": "10.00"}
    assert result.total == D("91970.00") == sum(result.by_rule.values())
    assert result.warnings == ()
    s1 = next(item for item in result.partners if item.partner_id == "S1")
    assert s1.metrics.baseline == PeriodMetrics(1, D(10000), {
        "campaign_run": 0, "customer_meeting": 0, "email_sent": 0, "opportunity_registered": 0,
        "training_completed": 0})
    assert s1.lines[0].figures == {"deals": D(2), "revenue": D(1200000)}
    assert s1.lines[-1].figures == {"deals": D(1), "revenue": D(10000)}
    assert s1.lines[-1].refs == ("s-old",)


def test_reversals_in_the_baseline_and_of_deals_in_the_future_windows() -> None:
    events = Events().deal("b1", "G1", date(2026, 12, 1), "30000")
    events.reversal("rb1", "G1", date(2026, 12, 20), "b1")    # baseline net: 0
    events.deal("b2", "G1", date(2026, 12, 2), "20000")
    events.reversal("rb2", "G1", date(2027, 5, 5), "b2")      # after the period: nothing yet
    events.deal("old", "G1", date(2026, 6, 1), "5000")
    events.reversal("rold", "G1", date(2026, 12, 5), "old")   # before the period: nothing
    result = evaluate(issue_program(), [partner("G1")], events.events)
    metrics = result.partners[0].metrics
    assert (metrics.baseline.deals, metrics.baseline.revenue) == (1, D(20000))
    assert metrics.clawed_deals == ()
    assert [line.rule for line in result.partners[0].lines] == ["rebate", "ten-deals", "growth",
                                                                "behaviour"]


def test_lines_round_half_up_to_cents_and_totals_add_rounded_lines() -> None:
    program = issue_program(rules=(PerDealRebate("r", ("all",), rate=D("0.005")),
                                   PerDealRebate("fixed", ("all",), amount=D("0.125"))),
                            caps=Caps())
    events = Events().deal("d1", "A", FEB, "1").deal("d2", "B", FEB, "3")
    result = evaluate(program, [partner("A"), partner("B")], events.events)
    amounts = [[line.amount for line in payout.lines] for payout in result.partners]
    assert amounts == [[D("0.01"), D("0.13")], [D("0.02"), D("0.13")]]  # 0.005, 0.015: up
    assert [payout.total for payout in result.partners] == [D("0.14"), D("0.15")]
    assert result.partners[0].lines[1].explain == "0.125 per net deal × 1 deal = 0.13"


def test_the_program_cap_scales_every_payout_down_to_the_cent() -> None:
    program = issue_program(rules=(Target("t", ("all",), "deals", D(1), D(100)),),
                            caps=Caps(per_program=D(200)))
    partners = [partner(name) for name in ("A", "B", "C")]
    events = Events()
    for name in ("A", "B", "C"):
        events.deal(f"d{name}", name, FEB, "1")
    result = evaluate(program, partners, events.events)
    assert [payout.total for payout in result.partners] == [D("66.66")] * 3
    line = result.partners[0].lines[-1]
    assert (line.rule, line.amount) == ("program_cap", D("-33.34"))
    assert line.explain == ("the program's payouts total 300.00, above the program cap "
                            "200.00: every payout is scaled by 200.00 / 300.00 (rounded down "
                            "to the cent), 100.00 becomes 66.66")
    assert scale_to_program_cap(D("30000"), D("40000"), D("25000")) == D("18750.00")
    # Under the cap nothing changes; a zero payout stays zero and gets no line.
    roomy = evaluate(issue_program(rules=program.rules, caps=Caps(per_program=D(300))),
                     partners, events.events)
    assert all(len(payout.lines) == 1 for payout in roomy.partners)
    partners.append(partner("D"))
    capped = evaluate(program, partners, events.events)
    assert [line.rule for line in capped.partners[3].lines] == ["t"]


def test_clawbacks_follow_the_caps_and_may_make_a_total_negative() -> None:
    program = issue_program(rules=(PerDealRebate("r", ("all",), rate=D("0.10")),
                                   PerDealRebate("fixed", ("growth",), amount=D(50))),
                            caps=Caps(per_partner=D(10), per_program=D(5)))
    events = Events().deal("old", "G1", JAN, "1000").reversal("rv", "G1", FEB, "old")
    events.deal("now", "G1", FEB, "200")
    result = evaluate(program, [partner("G1")], events.events)
    assert [(line.rule, line.amount) for line in result.partners[0].lines] == [
        ("r", D("20.00")), ("fixed", D("50.00")), ("per_partner_cap", D("-60.00")),
        ("program_cap", D("-5.00")), ("clawback", D("-150.00"))]
    assert result.partners[0].total == D("-145.00")
    assert result.partners[0].lines[-1].explain.endswith(
        "takes back the 'r', 'fixed' rebate = -150.00")


def test_only_the_kinds_rules_count_are_counted_and_only_in_the_windows() -> None:
    program = issue_program(rules=(Points("p", ("all",), D(1), (("email_sent", 1),)),))
    events = Events().add("m", "G1", FEB, "customer_meeting")
    events.add("e-late", "G1", date(2027, 6, 1), "email_sent").add("e", "G1", FEB, "email_sent")
    result = evaluate(program, [partner("G1")], events.events)
    assert result.partners[0].metrics.period.counts == {"email_sent": 1}
    assert result.partners[0].total == D("1.00")


def test_no_rebate_rule_no_clawback() -> None:
    program = issue_program(rules=(Points("p", ("all",), D(1), (("email_sent", 1),)),))
    events = Events().deal("old", "G1", JAN, "1000").reversal("rv", "G1", FEB, "old")
    result = evaluate(program, [partner("G1")], events.events)
    assert [line.rule for line in result.partners[0].lines] == ["p"]
    assert result.partners[0].metrics.clawed_deals == ("old",)


def test_late_reversals_of_locked_periods_are_clawed_back_once() -> None:
    locked = Period(date(2026, 11, 4), date(2027, 1, 31))
    reversals = [
        Reversal("late", "G1", date(2026, 12, 1), date(2027, 1, 20)),     # recorded late
        Reversal("known", "G1", date(2026, 12, 1), date(2027, 1, 21)),    # known at locking
        Reversal("after", "G1", date(2026, 12, 1), date(2027, 2, 3)),     # a normal clawback
        Reversal("older", "G1", date(2026, 10, 1), date(2026, 11, 20)),   # deal not in lock
        Reversal("settled", "G1", date(2026, 12, 2), date(2027, 1, 5)),   # clawed back already
    ]
    locks = [LockedPeriod(locked, frozenset({"known"}), frozenset()),
             LockedPeriod(Period(date(2027, 2, 1), date(2027, 4, 30)), frozenset(),
                          frozenset({"settled"}))]
    assert late_reversals(locks, reversals, Period(date(2027, 2, 1), date(2027, 4, 30))) == \
        frozenset({"late"})
    assert late_reversals(locks, reversals, Period(date(2027, 1, 1), date(2027, 1, 31))) == \
        frozenset()
    events = Events().deal("late", "G1", date(2026, 12, 1), "1000")
    events.reversal("rl", "G1", date(2027, 1, 20), "late")
    events.deal("other", "G1", date(2026, 12, 1), "500")
    events.reversal("ro", "G1", date(2027, 1, 20), "other")
    result = evaluate(issue_program(), [partner("G1")], events.events, frozenset({"late"}))
    assert result.partners[0].metrics.clawed_deals == ("late",)
    assert result.partners[0].lines[-1].amount == D("-20.00")


def test_improvement_and_tiers_on_counting_metrics() -> None:
    program = issue_program(rules=(
        Improvement("more-meetings", ("all",), "customer_meeting", D("0.5"), D(10), D(2)),
        Tiered("calls", ("all",), "customer_meeting", (Tier(D(2), D(1)), Tier(D(4), D(3)))),
        Target("training", ("all",), "training_completed", D(1), D(7))), caps=Caps())
    events = Events().many("b", "G1", date(2026, 12, 1), "customer_meeting", 3)
    events.many("m", "G1", FEB, "customer_meeting", 5)
    result = evaluate(program, [partner("G1")], events.events)
    assert lines(result, "G1") == {
        "more-meetings": ("20.00", "customer_meeting 5 against baseline 3; needs 4.5 (+50%); "
                                   "pays 10.00 each of the gain 2 = 20.00"),
        "calls": ("5.00", "customer_meeting 5: 2 at 1.00 each + 1 at 3.00 each = 5.00"),
        "training": ("0.00", "training_completed 0 < target 1: no bonus"),
    }
    quiet = evaluate(program, [partner("G1")], Events().events)
    assert lines(quiet, "G1")["calls"] == ("0.00", "customer_meeting 0: below the first tier "
                                                   "= 0.00")
    assert lines(quiet, "G1")["more-meetings"][1] == (
        "customer_meeting 0 against baseline 0 (floor 2); needs 3 (+50%): not reached, "
        "nothing paid")


def test_a_segment_without_partners_is_a_warning() -> None:
    result = evaluate(issue_program(), [partner("G1")], [])
    assert result.warnings == ("segment 'strategic' matches no partner in the partners file",
                               "segment 'emerging' matches no partner in the partners file")
    assert result.partners[0].total == 0


def test_data_problems_name_the_row_and_column() -> None:
    events = Events().deal("d1", "G1", FEB, "10").deal("d1", "G1", FEB, "20")
    events.reversal("r1", "G1", FEB, "nope").reversal("r2", "G2", FEB, "d1")
    events.reversal("r3", "G1", date(2027, 2, 9), "d1").add("x", "ghost", FEB, "email_sent")
    with pytest.raises(InputError) as caught:
        check_events(events.events, {"G1", "G2"}, "events.csv")
    assert [str(problem) for problem in caught.value.problems] == [
        "events.csv, row 3, column 'id': deal id 'd1' is used twice (first at row 2)",
        "events.csv, row 4, column 'ref': reverses unknown deal 'nope' (no deal_closed event "
        "has this id)",
        "events.csv, row 5, column 'partner_id': reverses deal 'd1' of another partner ('G1')",
        "events.csv, row 6, column 'at': reversal on 2027-02-09 is before its deal 'd1' closed "
        "on 2027-02-10 (row 2)",
        "events.csv, row 6, column 'ref': deal 'd1' is already reversed at row 5",
        "events.csv, row 7, column 'partner_id': partner 'ghost' is not in the partners file",
    ]


def test_problems_are_reported_twenty_at_a_time() -> None:
    problems = [Problem(f"bad {row}", "f.csv", row, column)
                for row in range(30, 0, -1) for column in ("kind", "id")]
    with pytest.raises(InputError) as caught:
        raise_problems(problems, source="f.csv")
    shown = caught.value.problems
    assert len(shown) == MAX_PROBLEMS + 1
    assert [(problem.row, problem.column) for problem in shown[:3]] == [
        (1, "id"), (1, "kind"), (2, "id")]
    assert str(shown[-1]) == "f.csv: and 40 more problems"
    with pytest.raises(InputError) as caught:
        raise_problems([Problem("odd", "f.csv", None, "elsewhere")], total=1)
    assert len(caught.value.problems) == 1
    raise_problems([])


def test_words_for_numbers() -> None:
    assert money(D("1234.5")) == "1,234.50"
    assert money(D("0.125")) == "0.125"
    assert quantity("deals", D("12.0")) == "12"
    assert quantity("revenue", D(12)) == "12.00"
    assert percent(D("0.025")) == "2.5%"
    metrics = PartnerMetrics(PeriodMetrics(), PeriodMetrics())
    stored = PayoutLine("r", "target", D(1), source={"deals": D(2)}, text="as locked")
    assert (stored.figures, stored.explain) == ({"deals": D(2)}, "as locked")
    assert PayoutLine("r", "target", D(1)).figures == {}
    cap = PayoutLine("per_partner_cap", "per_partner_cap", D(-1),
                     source={"positive": D(11), "cap": D(10)})
    assert explain_line(cap) == ("rule lines total 11.00, above the per-partner cap 10.00: "
                                 "-1.00")
    assert metrics.period.value("email_sent") == 0
