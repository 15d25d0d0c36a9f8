"""The advisor's arithmetic, worked by hand, and its explanations."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creditops.core import advisor
from creditops.core.advisor import CsmRule, SupportCase, Tier
from tests.success.helpers import (
    CSM,
    PREMIER,
    PREMIER_PLUS,
    SIGNATURE,
    STANDARD,
    TIERS,
    D,
    per_sev,
    profile,
)


def test_tier_costs_follow_the_published_formula() -> None:
    costs = {cost.tier: cost for cost in advisor.advise(TIERS, profile(), "Standard", CSM).costs}
    # Standard: 2×48×1 + 10×48×0.5 + 20×48×0.1 + 30×48×0 = 432 weighted hours × 1,000
    assert costs["Standard"] == advisor.TierCost("Standard", D(0), D(432000), D(0), D(432000),
                                                 D(432))
    # Premier: 0.30 × 1M; (2×1 + 10×2×0.5 + 20×4×0.1) × 1,000; 4 Accelerators × 3 h × 200
    premier = costs["Premier"]
    assert (premier.price, premier.incident_cost, premier.included_value, premier.net_cost) == (
        D(300000), D(20000), D(2400), D(317600))
    # Premier+ adds 12 × min(5 used, 10 included) × 80 of Admin Assist
    assert costs["Premier+"].included_value == D(2400) + D(4800)
    assert costs["Premier+"].net_cost == D(362800)
    # Signature: Sev 1 in 15 minutes
    assert costs["Signature"].incident_cost == D("18500")
    assert costs["Signature"].net_cost == D(416100)


def test_recommendation_reasons_and_break_even() -> None:
    advice = advisor.advise(TIERS, profile(), "Standard", CSM)
    assert advice.recommended == "Premier"
    points = {point.tier: point for point in advice.break_even}
    assert set(points) == {"Premier", "Premier+", "Signature"}
    # (300,000 − 2,400) / (432 − 20)
    assert points["Premier"].downtime_cost_per_hour == D(297600) / D(412)
    assert "once an hour of downtime costs more than USD 722.33" in points["Premier"].explanation
    assert advice.reasons[0] == (
        "Premier has the lowest expected annual net cost: USD 317,600.00 = price USD "
        "300,000.00 + expected incident cost USD 20,000.00 − included services you will use "
        "USD 2,400.00.")
    assert advice.reasons[1] == "The next best, Premier+, costs USD 45,200.00 a year more."
    assert "cut the expected cost of waiting on incidents by USD 412,000.00" in advice.reasons[2]
    assert advice.reasons[3] == points["Premier"].explanation
    assert "each Accelerator used is worth USD 600.00" in advice.reasons[4]
    assert "counts 4 a year" in advice.reasons[4]


def test_standard_recommended_when_downtime_is_cheap() -> None:
    advice = advisor.advise(TIERS, profile(downtime_cost_per_hour=D(100)), "Standard", CSM)
    assert advice.recommended == "Standard"
    # the reasons then say when each paid tier would pay off
    assert any("Premier is cheaper than Standard once" in reason for reason in advice.reasons)
    assert not any("Accelerator used is worth" in reason for reason in advice.reasons)


def test_accelerator_reason_left_out_when_nothing_is_worth_counting() -> None:
    advice = advisor.advise(TIERS, profile(consulting_rate_per_hour=D(0)), "Standard", CSM)
    assert not any("Accelerator used is worth" in reason for reason in advice.reasons)
    capped = Tier("Premier", D("0.30"), PREMIER.response_hours, D(0), D(0))
    advice = advisor.advise((STANDARD, capped), profile(), "Standard", CSM)
    assert not any("Accelerator used is worth" in reason for reason in advice.reasons)


ON_STANDARD = CsmRule(D(1000000), "Standard", D(1))


def test_no_incident_saving_sentence_when_the_tier_is_not_faster() -> None:
    same_speed = Tier("Bundle", D("0"), STANDARD.response_hours, None, D(0), D(1000))
    advice = advisor.advise((STANDARD, same_speed), profile(), "Standard", ON_STANDARD)
    assert advice.recommended == "Bundle"
    assert not any("cut the expected cost of waiting" in reason for reason in advice.reasons)


def test_ties_go_to_the_lower_price_then_catalogue_order() -> None:
    # Same net cost: the cheaper price wins even when listed later.
    dear = Tier("Dear", D("0.10"), STANDARD.response_hours, None, D(0), D(100000))
    cheap = Tier("Cheap", D("0"), STANDARD.response_hours, None, D(0))
    rule = CsmRule(D(1000000), "Cheap", D(1))
    advice = advisor.advise((dear, cheap), profile(accelerators_used_per_year=D(0)), "Cheap",
                            rule)
    assert advice.recommended == "Cheap"
    assert "(same net cost; the lower price wins)" in advice.reasons[1]
    twin = Tier("Twin", D("0"), STANDARD.response_hours, None, D(0))
    advice = advisor.advise((cheap, twin), profile(), "Cheap", rule)
    assert advice.recommended == "Cheap"


def test_accelerators_count_up_to_the_entitlement() -> None:
    capped = Tier("Capped", D("0.30"), PREMIER.response_hours, D(2), D(0))
    value = advisor.included_value(capped, profile(accelerators_used_per_year=D(6)))
    assert value == D(2) * D(3) * D(200)
    assert advisor.included_value(PREMIER, profile(accelerators_used_per_year=D(6))) == D(3600)


@pytest.mark.parametrize(("tier", "expected_value", "words"), [
    # faster and dearer: a positive break-even above which it pays
    (Tier("T", D("0.1"), per_sev("1", "1", "1", "1"), D(0), D(0)), D(100000) / D(47),
     "once an hour of downtime costs more than"),
    # slower and cheaper: pays only below the break-even
    (Tier("T", D("-0.1"), per_sev("100", "48", "48", "48"), D(0), D(0)), D(100000) / D(52),
     "only while an hour of downtime costs less than"),
    # faster and cheaper: never crosses
    (Tier("T", D("0"), per_sev("1", "1", "1", "1"), None, D(0), D(1)), None,
     "cheaper than Standard at any downtime cost"),
    # slower and dearer: never crosses
    (Tier("T", D("0.1"), per_sev("100", "48", "48", "48"), D(0), D(0)), None,
     "never cheaper than Standard"),
    # parallel lines
    (Tier("T", D("0.1"), STANDARD.response_hours, D(0), D(0)), None,
     "costs USD 100,000.00 a year more at any downtime cost"),
    (Tier("T", D("0"), STANDARD.response_hours, D(0), D(0), D(5)), None,
     "costs USD 5.00 a year less at any downtime cost"),
    (Tier("T", D("0"), STANDARD.response_hours, D(0), D(0)), None,
     "T and Standard cost the same at any downtime cost"),
])
def test_break_even_cases(tier: Tier, expected_value: Decimal | None, words: str) -> None:
    one_incident = profile(incidents_per_year=per_sev("1", "0", "0", "0"),
                           impact_share=per_sev("1", "1", "1", "1"),
                           admin_assist_hours_used_per_month=D(0))
    point = advisor.break_even(advisor.tier_cost(tier, one_incident),
                               advisor.tier_cost(STANDARD, one_incident), one_incident)
    assert point.downtime_cost_per_hour == expected_value
    assert words in point.explanation


def test_break_even_point_makes_the_net_costs_equal() -> None:
    p = profile()
    point = advisor.break_even(advisor.tier_cost(PREMIER, p), advisor.tier_cost(STANDARD, p), p)
    assert point.downtime_cost_per_hour is not None
    at_point = profile(downtime_cost_per_hour=point.downtime_cost_per_hour)
    gap = (advisor.tier_cost(PREMIER, at_point).net_cost
           - advisor.tier_cost(STANDARD, at_point).net_cost)
    assert abs(gap) < D("0.000001")


def test_csm_rule_from_the_catalogue() -> None:
    eligible, reason = advisor.csm_eligibility(CSM, TIERS, profile(net_licence_annual=D(1000001)))
    assert eligible and "is above USD 1,000,000.00" in reason
    # exactly 1M is not above; but Premier at 30% of 1M = 300K ≥ 100K
    eligible, reason = advisor.csm_eligibility(CSM, TIERS, profile())
    assert eligible and "Premier would cost USD 300,000.00" in reason
    # 300K licence: Premier 90K < 100K
    eligible, reason = advisor.csm_eligibility(CSM, TIERS, profile(net_licence_annual=D(300000)))
    assert not eligible and "below USD 100,000.00" in reason
    # the thresholds are data: a different rule changes the answer
    strict = CsmRule(D("5000000"), "Signature", D("500000"))
    assert not advisor.csm_eligibility(strict, TIERS, profile())[0]
    with pytest.raises(ValueError, match="names tier 'Nope'"):
        advisor.csm_eligibility(CsmRule(D(2000000), "Nope", D(1)), TIERS, profile())


def test_fte_comparison() -> None:
    advice = advisor.advise(TIERS, profile(), "Standard", CSM)
    assert advice.fte.price_minus_fte == {"Premier": D(150000), "Premier+": D(200000),
                                          "Signature": D(250000)}
    assert advice.fte.ftes_for_price["Premier"] == D("2.00")
    assert "Premier costs USD 300,000.00, USD 150,000.00 more than one FTE" in advice.fte.summary
    equal = advisor.fte_comparison(advice.costs, profile(fte_cost_annual=D(300000)))
    assert "Premier costs USD 300,000.00, the same as one FTE" in equal.summary
    assert "USD 50,000.00 more than" in equal.summary
    free = advisor.fte_comparison(advice.costs, profile(fte_cost_annual=D(0)))
    assert free.ftes_for_price["Premier"] is None
    alone = advisor.fte_comparison(advice.costs[:1], profile())
    assert alone.summary == "No paid tier to compare with hiring a Salesforce FTE."
    cheaper = advisor.fte_comparison(advice.costs, profile(fte_cost_annual=D(500000)))
    assert "USD 200,000.00 less than one FTE" in cheaper.summary


def test_advise_refuses_empty_or_unknown_baseline() -> None:
    with pytest.raises(ValueError, match="no tier"):
        advisor.advise((), profile(), "Standard", CSM)
    with pytest.raises(ValueError, match="baseline tier 'Gold'"):
        advisor.advise(TIERS, profile(), "Gold", CSM)


# ---------------------------------------------------------------------------------------------
# Properties the issue asks for


money = st.decimals(min_value=0, max_value=10**7, places=2)
hours = st.decimals(min_value=0, max_value=200, places=2)


@st.composite
def faster_pair(draw: st.DrawFn) -> tuple[Tier, Tier]:
    slow = {sev: draw(hours) for sev in advisor.SEVERITIES}
    fast = {sev: slow[sev] - draw(st.decimals(min_value=0, max_value=slow[sev], places=2))
            for sev in advisor.SEVERITIES}
    def tier(name: str, response: dict[str, Decimal]) -> Tier:
        return Tier(name, draw(st.decimals(min_value=0, max_value=1, places=3)), response,
                    draw(st.none() | st.decimals(min_value=0, max_value=50, places=0)),
                    draw(st.decimals(min_value=0, max_value=40, places=1)), draw(money))
    return tier("Fast", fast), tier("Slow", slow)


@settings(max_examples=60, deadline=None)
@given(pair=faster_pair(), low=money, extra=money,
       incidents=st.lists(st.decimals(min_value=0, max_value=100, places=1), min_size=4,
                          max_size=4),
       shares=st.lists(st.decimals(min_value=0, max_value=1, places=2), min_size=4, max_size=4))
def test_more_downtime_cost_never_makes_a_faster_tier_less_attractive(
        pair: tuple[Tier, Tier], low: Decimal, extra: Decimal, incidents: list[Decimal],
        shares: list[Decimal]) -> None:
    fast, slow = pair
    base = profile(incidents_per_year=dict(zip(advisor.SEVERITIES, incidents, strict=True)),
                   impact_share=dict(zip(advisor.SEVERITIES, shares, strict=True)))

    def advantage(downtime: Decimal) -> Decimal:
        p = profile(**{**base.__dict__, "downtime_cost_per_hour": downtime})
        return advisor.tier_cost(slow, p).net_cost - advisor.tier_cost(fast, p).net_cost

    assert advantage(low + extra) >= advantage(low)


@settings(max_examples=60, deadline=None)
@given(used=st.decimals(min_value=0, max_value=60, places=1),
       more=st.decimals(min_value=0, max_value=60, places=1),
       cap=st.none() | st.decimals(min_value=0, max_value=30, places=0),
       rate=money, session_hours=hours)
def test_more_accelerator_use_never_raises_premiers_net_cost(
        used: Decimal, more: Decimal, cap: Decimal | None, rate: Decimal,
        session_hours: Decimal) -> None:
    premier = Tier("Premier", PREMIER.price_pct, PREMIER.response_hours, cap, D(0))

    def net(count: Decimal) -> Decimal:
        p = profile(accelerators_used_per_year=count, consulting_rate_per_hour=rate,
                    accelerator_hours=session_hours)
        return advisor.tier_cost(premier, p).net_cost

    assert net(used + more) <= net(used)


# ---------------------------------------------------------------------------------------------
# The Premier → Signature case


def case(case_id: str, opened: str, sev: str, first: str) -> SupportCase:
    return SupportCase(case_id, date.fromisoformat(opened), sev, D(first), D(10))


def test_upgrade_case_counts_waiting_signature_would_have_saved() -> None:
    cases = [
        case("old", "2025-03-31", "sev1", "9"),  # outside the 12 months (window is after 03-31)
        case("a", "2025-04-01", "sev1", "1.25"),  # saves 1.00 h at full impact
        case("b", "2025-09-10", "sev1", "0.1"),  # already faster than 15 minutes: saves 0
        case("c", "2025-12-01", "sev2", "3"),  # saves 1 h at 0.5
        case("d", "2026-03-31", "sev3", "4"),  # Signature's Sev 3 target equals: 0
        case("future", "2026-04-01", "sev1", "9"),  # after as_of
    ]
    result = advisor.upgrade_case(cases, PREMIER, SIGNATURE, profile(), date(2026, 3, 31))
    assert (result.window_start, result.window_end) == (date(2025, 3, 31), date(2026, 3, 31))
    assert (result.cases_in_file, result.cases_counted) == (6, 4)
    lines = {line.severity: line for line in result.by_severity}
    assert (lines["sev1"].cases, lines["sev1"].saved_hours, lines["sev1"].value) == (
        2, D("1.00"), D("1000.00"))
    assert (lines["sev2"].saved_hours, lines["sev2"].value) == (D(1), D("500.0"))
    assert lines["sev3"].saved_hours == 0 and lines["sev4"].cases == 0
    assert result.saved_hours == D("2.00")
    assert result.value == D("1500.00")
    assert result.incremental_price == D(100000)
    assert result.incremental_included_value == 0
    assert result.net_benefit == D("1500.00") - D(100000)
    assert "does not pay back: USD 98,500.00 a year worse off" in result.reasons[-1]
    assert "40% vs 30% of net licence" in result.reasons[1]
    assert not any("Included services" in reason for reason in result.reasons)


def test_upgrade_case_that_pays_back() -> None:
    cases = [case(str(i), "2026-01-15", "sev1", "10") for i in range(30)]
    rich = profile(downtime_cost_per_hour=D(50000))
    result = advisor.upgrade_case(cases, PREMIER_PLUS, SIGNATURE, rich, date(2026, 6, 30))
    # 30 × 9.75 h × 50,000; Signature loses Premier+'s Admin Assist (12 × 5 × 80)
    assert result.value == D(30) * D("9.75") * D(50000)
    assert result.incremental_included_value == D(-4800)
    assert result.net_benefit == result.value - D(4800) - D(50000)
    assert "Included services you will use differ by USD -4,800.00" in result.reasons[2]
    assert "pays back" in result.reasons[-1]


def test_a_catalogue_of_one_tier_recommends_it() -> None:
    advice = advisor.advise((STANDARD,), profile(), "Standard", ON_STANDARD)
    assert advice.recommended == "Standard"
    assert len(advice.reasons) == 1
    assert advice.break_even == ()
