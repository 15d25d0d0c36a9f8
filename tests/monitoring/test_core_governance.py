"""The governance review's arithmetic: periods, value by kind, outcomes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from creditops.core.governance import (
    GovernanceReport,
    Outcome,
    PoolPeriod,
    outcome_headline,
    parse_period,
    quarter_of,
    summarise_kinds,
    total_kinds,
)
from tests.monitoring.helpers import t


def test_periods() -> None:
    q3 = parse_period("2026Q3")
    assert (q3.label, q3.start, q3.end) == ("2026-Q3", date(2026, 7, 1), date(2026, 10, 1))
    q4 = parse_period("2026-q4")
    assert q4.end == date(2027, 1, 1) and q4.label == "2026-Q4"
    assert parse_period("2026H2").start == date(2026, 7, 1)
    assert parse_period("2026H1").end == date(2026, 7, 1)
    year = parse_period(" 2026 ")
    assert (year.label, year.start, year.end) == ("2026", date(2026, 1, 1), date(2027, 1, 1))
    assert quarter_of(date(2026, 10, 31)).label == "2026-Q4"
    with pytest.raises(ValueError, match="2026Q3"):
        parse_period("Q3")


def row(pool: str, kind: str, unit_value: str, **quantities: str) -> PoolPeriod:
    values = {name: D(quantities.get(name, "0")) for name in
              ("consumed", "lapsed", "consumed_ytd", "lapsed_ytd", "remaining", "at_risk",
               "overage_value")}
    return PoolPeriod(pool, None, kind, "credit", D(unit_value), status="on_track",
                      **values)  # type: ignore[arg-type]


def test_value_by_kind_sums_units_times_unit_value_then_rounds() -> None:
    kinds = summarise_kinds([
        row("a", "flex", "0.004", consumed="1001", consumed_ytd="3001", remaining="500",
            at_risk="250", overage_value="1.5"),
        row("b", "flex", "0.004", consumed="1", lapsed="1000"),
        row("c", "training", "400", lapsed_ytd="2", remaining="3"),
    ])
    flex, training = kinds
    assert flex.pools == 2 and flex.used_value == D("4.01")  # 1002 × 0.004 = 4.008
    assert flex.lapsed_value == D("4.00") and flex.used_value_ytd == D("12.00")
    assert flex.at_risk_value == D("1.00") and flex.overage_value == D("1.50")
    assert training.lapsed_value_ytd == D("800.00") and training.remaining_value == D("1200.00")
    total = total_kinds(kinds)
    assert total.kind == "total" and total.pools == 3
    assert total.remaining_value == D("1202.00")


def outcome(**changes: object) -> Outcome:
    values: dict[str, object] = dict(
        metric="user adoption", unit="%", before=D(50), after=D(60), before_day=None,
        after_day=None, value_used=D(50000), pool_id="success-fund", grant_id=None)
    values.update(changes)
    return Outcome(**values)  # type: ignore[arg-type]


def test_outcome_headlines() -> None:
    assert outcome().change == D("0.2")
    assert outcome_headline(outcome(), "Customer success fund", "USD") == \
        "USD 50,000.00 of Customer success fund → user adoption +20%"
    zero = outcome(before=D(0), after=D(30), unit="tickets")
    assert zero.change is None
    assert outcome_headline(zero, "x", "USD").endswith("user adoption +30 tickets")
    assert outcome_headline(outcome(before=D(0), after=D(5)), "x", "USD").endswith("+5%")
    only_after = outcome(before=None, after=D(250), unit="people trained", value_used=None)
    assert outcome_headline(only_after, "vouchers", "USD") == \
        "vouchers → user adoption 250 people trained"
    assert outcome_headline(outcome(before=None, after=None, unit=None), "x", "EUR") == \
        "EUR 50,000.00 of x → user adoption"
    assert outcome_headline(outcome(before=D(1), after=D(2), unit=None,), "x", "USD") \
        .endswith("+100%")
    assert outcome_headline(outcome(before=D(0), after=D(2), unit=None), "x", "USD") \
        .endswith("+2")


def test_report_headline() -> None:
    kinds = summarise_kinds([row("a", "flex", "1", consumed="10", consumed_ytd="1500",
                                 lapsed_ytd="20", at_risk="5")])
    report = GovernanceReport("t", "USD", parse_period("2026Q3"), t("2026-10-01"),
                              tuple(kinds), total_kinds(kinds), (), (), {}, (), (), ())
    assert report.headline == ("USD 1,500.00 of credits and incentives used this year "
                               "(USD 10.00 in 2026-Q3); USD 20.00 lapsed this year; "
                               "USD 5.00 at risk of lapsing.")
