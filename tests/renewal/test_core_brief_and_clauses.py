"""Clause checklist rules and the asks of the renewal brief."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from creditops.core.clauses import (
    CHECKLIST,
    ChecklistContext,
    ItemKind,
    Mark,
    attach_exposures,
    clause_exposures,
    propose_marks,
    split_sentences,
)
from creditops.core.renewal_brief import (
    ClauseCost,
    ClauseGap,
    HistorySummary,
    IncentiveLine,
    IncentiveStatus,
    RenewalBrief,
    SuccessPlanUse,
    TrueUpExposure,
    UpliftExposure,
    UpliftLine,
    UtilisationLine,
    derive_asks,
)
from creditops.core.trueup import GrowthModel, Pricing, Timing
from tests.renewal.helpers import clause, path_product, rate_product, scenario

D = Decimal


def marks(text: str | None, **context: object) -> dict[str, Mark]:
    return {m.item.key: m.mark for m in propose_marks(text, ChecklistContext(**context))}  # type: ignore[arg-type]


def test_checklist_has_the_seeds_seven_points_and_five_pitfalls() -> None:
    kinds = [item.kind for item in CHECKLIST]
    assert kinds.count(ItemKind.POINT) == 7 and kinds.count(ItemKind.PITFALL) == 5


def test_sentences_and_list_items() -> None:
    text = "First sentence. Second one; Third, e.g. more\n\n- a bullet\n2) numbered item"
    assert split_sentences(text) == ["First sentence.", "Second one;", "Third, e.g. more",
                                     "a bullet", "numbered item"]


def test_without_text_only_the_context_speaks() -> None:
    found = marks(None)
    assert found["pricing_basis"] is Mark.MISSING
    assert found["ramp_interaction"] is Mark.UNCLEAR
    found = marks(None, scenario_name="s", has_ramp=True, has_history=True)
    assert found["growth_modelling"] is Mark.PRESENT
    assert found["ramp_interaction"] is Mark.MISSING
    assert found["renewal_preparation"] is Mark.PRESENT


def test_contradicting_sentences_are_unclear() -> None:
    text = ("Additional licences are co-terminous with the subscription term. "
            "Additional licences have their own 12-month term.")
    found = {m.item.key: m for m in propose_marks(text)}
    assert found["coterm"].mark is Mark.UNCLEAR
    assert len(found["coterm"].evidence) == 2
    assert marks("Additional licences may be co-termed on request.")["coterm"] is Mark.UNCLEAR


def test_specific_rules() -> None:
    assert marks("Additional licences are billed at the then-current list price.")[
        "discount_preservation"] is Mark.MISSING
    assert marks("Additional licences receive a reduced discount at Salesforce's discretion.")[
        "discount_preservation"] is Mark.UNCLEAR
    assert marks("Our growth forecast is 10% a year.")["growth_modelling"] is Mark.PRESENT
    assert marks("The ramp schedule is 1,000 then 1,100 users.")["ramp_interaction"] is (
        Mark.UNCLEAR)
    assert marks("Renewal pricing shall not exceed 5%.")["renewal_preparation"] is Mark.PRESENT


def test_exposures_follow_the_model() -> None:
    # Adds late in a 2-year term: their own 12-month term runs past the term and costs more.
    late = path_product([10] * 20 + [14] * 4)
    exposures = clause_exposures(scenario([late], [clause(Pricing.ORIGINAL_RATE)], 2),
                                 clause(Pricing.ORIGINAL_RATE))
    assert exposures["coterm"].amount == 4 * 80 * (12 - 4)
    assert exposures["coterm"].basis == "additions on their own 12-month terms"
    assert exposures["pricing_basis"].amount == 4 * 4 * 110 - 4 * 4 * 80
    assert exposures["timing"].amount == 0
    assert exposures["audit_cooperation"].amount is None
    early = rate_product(GrowthModel.LINEAR, "0.1", 3)
    exposures = clause_exposures(
        scenario([early], [clause(Pricing.ORIGINAL_RATE, Timing.QUARTERLY)], 3),
        clause(Pricing.ORIGINAL_RATE, Timing.QUARTERLY))
    assert exposures["coterm"].amount == 0 and "fragment" in exposures["coterm"].basis
    assert exposures["timing"].amount is not None and exposures["timing"].amount > 0
    attached = attach_exposures(propose_marks("Additional licences are co-terminous."),
                                exposures)
    by_key = {mark.item.key: mark for mark in attached}
    assert by_key["coterm"].exposure is None  # present: nothing at stake
    assert by_key["pricing_basis"].exposure == exposures["pricing_basis"]


def brief(**sections: object) -> RenewalBrief:
    return RenewalBrief(title="t", currency="USD", as_of=date(2029, 11, 1), **sections)  # type: ignore[arg-type]


def test_no_data_no_asks() -> None:
    assert brief().with_asks().asks == ()


def test_asks_follow_the_data_largest_first() -> None:
    incentives = (
        IncentiveLine("Flex", "flex_credits", "credit", "g1", D(1000), D(5), None, None,
                      IncentiveStatus.LAPSED),
        IncentiveLine("Vouchers", "training_credits", "voucher", "g2", D(3), None,
                      date(2027, 1, 1), date(2030, 1, 1), IncentiveStatus.UNUSED),
    )
    full = brief(
        incentives=incentives,
        utilisation=(UtilisationLine("flex_credits", "credit", D(100), D(20), D(80),
                                     D(500), D(400)),
                     UtilisationLine("add_on", "seat", D(0), D(0), D(0))),
        success_plan=SuccessPlanUse("Premier", D(90_000), D(12), D(3)),
        trueup=TrueUpExposure("s", D(1_000_000), (ClauseCost("A", "", D(10), (D(10),), None,
                                                              None),), "C", "A", D(70_000), 30),
        history=HistorySummary(D(50_000), None, D(20_000), "steady", "forecast inflation",
                               D("-0.3"), 0),
        uplift=UpliftExposure(D(1), D("0.07"), 2, 1, D(0), (
            UpliftLine("no cap", D(10), (D(5), D(5)), D(0)),
            UpliftLine("cap 0.03 per year", D(9), (D(5), D(4)), D(1)))),
        clause_gaps=(ClauseGap("Pricing basis defined", "point", "missing", D(60_000), "b"),
                     ClauseGap("Audit", "pitfall", "missing", None, "not priced")),
    ).with_asks()
    titles = [ask.title for ask in full.asks]
    assert titles[0] == "Lower the Premier price or swap entitlements"
    assert titles[1] == "True-up adds on clause C terms"
    assert "Size the commitment on actual growth" in titles
    assert full.asks[-1].amount is None
    assert "Price instead of more flex_credits" in titles
    assert full.incentive_total(IncentiveStatus.LAPSED) == 5
    assert full.incentive_total(IncentiveStatus.UNUSED) == 0
    unused = next(ask for ask in full.asks if ask.title.startswith("Extend"))
    assert unused.amount is None
    assert "30% below" in next(a.rationale for a in full.asks if a.title.startswith("Size"))


def test_asks_stay_quiet_when_nothing_is_at_stake() -> None:
    quiet = brief(
        success_plan=SuccessPlanUse("Premier"),
        trueup=TrueUpExposure("s", D(1), (), "C", "C", D(0), 0),
        history=HistorySummary(D(0), None, D(0), "steady", "accurate", D("0.05"), 0),
        uplift=UpliftExposure(D(1), D("0.07"), 1, 1, D(0), (
            UpliftLine("no cap", D(1), (D(1),), D(0)), UpliftLine("cap", D(1), (D(1),), D(0)))),
        clause_gaps=(ClauseGap("Audit", "pitfall", "missing", None, "not priced"),),
    )
    assert derive_asks(quiet) == ()
    assert SuccessPlanUse("Premier", entitled=D(0), used=D(1)).utilisation is None
    assert UtilisationLine("k", "u", D(0), D(0), D(0)).utilisation is None
