"""Uplift over several terms: the caps as defined in the module."""

from __future__ import annotations

from decimal import Decimal

from creditops.core.uplift import (
    NO_CAP,
    Cap,
    CapKind,
    UpliftTerms,
    UpliftTiming,
    compare_caps,
    project_uplift,
    uplift_problems,
)

D = Decimal


def test_renewal_timing_raises_once_per_term() -> None:
    terms = UpliftTerms(D(1000), D("0.07"), terms=3, term_years=2, success_plan_pct=D("0.3"))
    path = project_uplift(terms)
    assert [year.licence for year in path.years] == [1000, 1000, 1070, 1070, D("1144.9"),
                                                     D("1144.9")]
    assert path.years[2].requested == D("0.07") and path.years[1].requested == 0
    assert path.success_plan_total == path.licence_total * D("0.3")
    assert path.term_totals() == (D(2600), D(2782), D("2976.74"))
    assert path.cumulative_increase == D("0.1449")
    assert NO_CAP.label == "no cap"


def test_caps_per_year_per_renewal_and_cpi() -> None:
    terms = UpliftTerms(D(1000), D("0.10"), terms=2, term_years=3)
    per_year = project_uplift(terms, Cap(CapKind.PER_YEAR, rate=D("0.03")))
    assert per_year.years[3].applied == D("0.092727")  # 1.03³ − 1 over three years
    per_renewal = project_uplift(terms, Cap(CapKind.PER_RENEWAL, rate=D("0.05")))
    assert per_renewal.years[3].applied == D("0.05")
    cpi = project_uplift(terms, Cap(CapKind.CPI, cpi=(D("0.01"), D("0.02")), margin=D("0.01")))
    # years 1, 2, 3 since the last increase: (1.02)(1.03)(1.03) − 1, the path's last rate repeating
    assert cpi.years[3].applied == D("1.02") * D("1.03") * D("1.03") - 1
    negative = project_uplift(terms, Cap(CapKind.CPI, cpi=(D("-0.5"),)))
    assert negative.years[3].applied == 0
    assert Cap(CapKind.CPI, cpi=(D("0.02"),), margin=D("0.01")).label == "CPI [0.02] + 0.01"
    assert Cap(CapKind.PER_RENEWAL, rate=D("0.05")).label == "cap 0.05 per renewal"


def test_annual_timing_and_per_renewal_cap_leave_in_term_increases() -> None:
    terms = UpliftTerms(D(100), D("0.10"), terms=2, term_years=2, timing=UpliftTiming.ANNUAL)
    path = project_uplift(terms, Cap(CapKind.PER_RENEWAL, rate=D("0.02")))
    assert [year.applied for year in path.years] == [0, D("0.10"), D("0.02"), D("0.10")]
    comparison = compare_caps(terms, [Cap(CapKind.PER_RENEWAL, rate=D("0.02"))])
    assert comparison.saving(comparison.capped[0]) == comparison.uncapped.total - path.total
    assert comparison.saving(comparison.capped[0]) > 0


def test_zero_licence_and_problems() -> None:
    assert project_uplift(UpliftTerms(D(0), D("0.07"), 1, 1)).cumulative_increase == 0
    found = {p.column for p in uplift_problems(
        UpliftTerms(D(-1), D(-1), 0, 0, D(-1)),
        [Cap(CapKind.CPI), Cap(CapKind.PER_YEAR, rate=D(-1)), Cap(CapKind.CPI, cpi=(D(-1),))])}
    assert found == {"licence", "uplift", "terms", "term_years", "success_plan_pct", "cpi",
                     "per_year"}
