"""Rate-card conversion (exact, tiered, explained) and the Digital Wallet pool mapping."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creditops.core.errors import InputError
from creditops.core.ratecard import (
    CardOverride,
    Confidence,
    Figure,
    RateCard,
    Rounding,
    RoundingMode,
    TierMode,
    Tiers,
    TierScope,
    UsageType,
    UsageTypeOverride,
    apply_overrides,
    convert,
)
from creditops.core.wallet_mapping import make_match, overlapping, pool_for

READ = date(2026, 8, 31)


def fig(value: str | None, confidence: Confidence = Confidence.MEDIUM, note: str | None = None
        ) -> Figure:
    return Figure(D(value) if value is not None else None, ("S4",), READ, confidence, note)


def tiered_card(mode: TierMode = TierMode.GRADUATED, scope: TierScope = TierScope.USAGE_TYPE
                ) -> RateCard:
    starts = tuple(fig(v) for v in ("0", "300000", "1500000", "12500000"))
    return RateCard(
        name="d360", title="Data 360", version=READ, converts_to="credit",
        usage_types=(
            UsageType("unification", "Data 360 Unification", "row", D(1_000_000),
                      tuple(fig(v) for v in ("75000", "60000", "30000", "15000")),
                      fig("60000"), names=("DataCloud_Unification",)),
            UsageType("queries", "Data 360 Queries", "row", D(1_000_000),
                      tuple(fig(v) for v in ("3", "2.4", "1.2", "0.6"))),
            UsageType("free", "Free pipeline", "row", D(1_000_000),
                      tuple(fig("0") for _ in range(4))),
        ),
        rounding=Rounding(4, reason="fractional decrements"),
        tiers=Tiers(starts, mode, scope),
        price=fig("0.005", Confidence.HIGH),
    )


def flat_card() -> RateCard:
    return RateCard(
        name="flex", title="Agentforce", version=READ, converts_to="credit",
        usage_types=(
            UsageType("standard_action", "Standard Action", "action", D(1), (fig("20"),),
                      fig("16"), whole_units=True),
            UsageType("voice_minutes", "Voice Minutes", "minute", D(1),
                      (fig("60", Confidence.LOW, "one secondary source"),), whole_units=True),
            UsageType("headless", "Headless Platform Interaction", "call", D(1),
                      (fig(None, note="TBA on the rate card"),)),
            UsageType("translation", "Translation", "character", D(1_000_000),
                      (fig("4000", Confidence.LOW_MEDIUM),)),
        ),
        rounding=Rounding(0, RoundingMode.CEILING),
    )


def test_unification_of_3_2_million_rows_stays_in_the_base_tier() -> None:
    conversion = convert(tiered_card(), "unification", D(3_200_000))
    assert conversion.amount == D(240_000)
    assert [(s.tier, s.units, s.amount) for s in conversion.steps] == [
        (1, Fraction(3_200_000), Fraction(240_000))]
    text = "\n".join(conversion.explanation())
    assert "tier 1: 3,200,000 row(s) × 75,000 / 1,000,000 = 240,000 credits" in text
    assert "month to date: 0 credits" in text and "graduated" in text
    assert "rounded half up to 4 decimal places (fractional decrements)" in text


def test_month_to_date_moves_the_run_across_tiers() -> None:
    conversion = convert(tiered_card(), "Data 360 Unification", D(3_200_000),
                         month_to_date=D(250_000))
    # 50,000 credits fill tier 1 (2/3 of a million rows); the rest is at 60,000 per million.
    assert [s.tier for s in conversion.steps] == [1, 2]
    assert conversion.steps[0].amount == 50_000
    assert conversion.amount == D(50_000) + D(60_000) * (D(3_200_000) - D(2_000_000) / 3) / \
        D(1_000_000)
    assert conversion.amount == D(202_000)
    assert "≈666,666.66666667 row(s)" in "\n".join(conversion.explanation())


def test_a_run_can_span_every_tier_and_stay_exact() -> None:
    conversion = convert(tiered_card(), "queries", D(40) * D(10) ** 12)
    assert [s.tier for s in conversion.steps] == [1, 2, 3, 4]
    assert conversion.exact == sum(s.amount for s in conversion.steps)
    # Credits above 12.5M are at 0.6 per million rows; the tiers below are filled exactly.
    rows_in_lower_tiers = sum(s.units for s in conversion.steps[:3])
    last = (Fraction(40 * 10**12) - rows_in_lower_tiers) * Fraction("0.6") / 1_000_000
    assert conversion.steps[3].amount == last
    assert conversion.exact == 12_500_000 + last


def test_whole_run_mode_prices_the_run_at_the_tier_it_ends_in() -> None:
    conversion = convert(tiered_card(TierMode.WHOLE_RUN), "unification", D(10_000_000),
                         month_to_date=D(200_000))
    assert [s.tier for s in conversion.steps] == [2]
    assert conversion.amount == D(600_000)


def test_zero_rate_tiers_and_zero_quantity() -> None:
    card = tiered_card()
    assert convert(card, "free", D(5_000_000)).amount == 0
    zero = convert(card, "unification", D(0), month_to_date=D(300_000))
    assert zero.amount == 0 and [s.tier for s in zero.steps] == [2]


def test_sandbox_rate_is_flat() -> None:
    conversion = convert(tiered_card(), "unification", D(2_000_000), month_to_date=D(10 ** 9),
                         sandbox=True)
    assert conversion.amount == D(120_000)
    assert conversion.steps[0].tier == 0
    text = conversion.explanation()
    assert "sandbox rate" in text[0] and not any("monthly volume tiers" in t for t in text)
    with pytest.raises(InputError, match="no sandbox rate"):
        convert(tiered_card(), "queries", D(1), sandbox=True)


def test_whole_units_low_confidence_and_rounding_up() -> None:
    card = flat_card()
    voice = convert(card, "voice_minutes", D("12.5"))
    assert voice.billed_units == 13 and voice.amount == 780
    lines = voice.explanation()
    assert "12.5 minute(s) billed as 13 (each started minute counts)" in lines
    assert lines[-1].startswith("LOW CONFIDENCE: S4, 2026-08-31, confidence low")
    assert "one secondary source" in lines[-1]
    assert voice.low_confidence == [card.usage_types[1].production[0]]
    assert any(line.startswith("rate: 13 minute(s)") for line in lines)
    # 1,234 characters of translation: 4.936 credits, rounded up to 5.
    translation = convert(card, "translation", D(1234))
    assert translation.exact == Fraction(4936, 1000) and translation.amount == 5
    assert translation.low_confidence
    assert convert(card, "standard_action", D(3), sandbox=True).amount == 48


def test_refusals_name_what_is_wrong() -> None:
    card = flat_card()
    with pytest.raises(InputError, match="has no usage type 'nope'; it has: standard_action"):
        convert(card, "nope", D(1))
    with pytest.raises(InputError, match="negative"):
        convert(card, "standard_action", D(-1))
    with pytest.raises(InputError, match="month to date"):
        convert(card, "standard_action", D(1), month_to_date=D(-1))
    with pytest.raises(InputError, match=r"no rate on 'flex' \(TBA on the rate card\)"):
        convert(card, "headless", D(1))
    unpriced = UsageType("x", "X", "call", D(1), (fig(None),))
    bare = RateCard("c", "C", READ, "credit", (unpriced,), Rounding(2))
    with pytest.raises(InputError, match="has no rate on 'c'; give it one"):
        convert(bare, "x", D(1))


def test_rounding_of_non_terminating_fractions() -> None:
    assert Rounding(2).apply(Fraction(1, 3)) == D("0.33")
    assert Rounding(2).apply(Fraction(2, 3)) == D("0.67")
    assert Rounding(2, RoundingMode.CEILING).apply(Fraction(1, 3)) == D("0.34")
    assert Rounding(0).apply(Fraction(5, 2)) == D(3)
    assert Rounding(1).describe() == "rounded half up to 1 decimal place"
    assert Rounding(3, RoundingMode.CEILING).describe() == "rounded up to 3 decimal places"


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=10**7), st.integers(min_value=0, max_value=10**7),
       st.integers(min_value=0, max_value=2 * 10**7))
def test_splitting_a_run_never_changes_its_credits(first_millions: int, second_millions: int,
                                                   start: int) -> None:
    """Pricing a run from month-to-date M, then the next run from where it ended, costs what
    the two runs cost together: graduated tiers are a function of the month's position."""
    card = tiered_card()
    million = D(1_000_000)
    a = convert(card, "queries", first_millions * million, month_to_date=D(start))
    b = convert(card, "queries", second_millions * million, month_to_date=D(start) + a.amount)
    both = convert(card, "queries", (first_millions + second_millions) * million,
                   month_to_date=D(start))
    assert a.exact + b.exact == both.exact
    assert a.amount == a.exact  # multiples of 0.6 per million rows need no rounding


def test_a_figure_used_by_several_tiers_is_flagged_once() -> None:
    weak = fig("10", Confidence.LOW)
    usage = UsageType("u", "U", "row", D(1), (weak, weak))
    starts = (fig("0"), fig("100"))
    card = RateCard("c", "C", READ, "credit", (usage,), Rounding(0), Tiers(starts))
    conversion = convert(card, "u", D(50))
    assert [s.tier for s in conversion.steps] == [1, 2]
    assert conversion.low_confidence == [weak]


def test_overrides_replace_figures_and_say_so() -> None:
    card = tiered_card()
    contract_rate = Figure(D(50_000), ("Order form Q-1",), date(2026, 2, 1), Confidence.HIGH)
    overridden = apply_overrides(card, [
        CardOverride("workspace", {"queries": UsageTypeOverride(
            sandbox=Figure(D(2), ("own",), READ, Confidence.HIGH))},
            tier_starts=tuple(fig(v) for v in ("0", "1", "2", "3")),
            price=Figure(D("0.004"), ("order form",), READ, Confidence.HIGH)),
        CardOverride("contract MSA", {"DataCloud_Unification": UsageTypeOverride(
            production=tuple(contract_rate for _ in range(4)))}),
    ])
    unification = overridden.usage_type("unification")
    assert unification.production[0].value == 50_000
    assert unification.production[0].origin == "contract MSA"
    assert "set by contract MSA" in unification.production[0].describe()
    assert overridden.usage_type("queries").sandbox is not None
    assert overridden.price is not None and overridden.price.value == D("0.004")
    assert overridden.tiers is not None and overridden.tiers.starts[1].value == 1
    labels = [label for label, _ in overridden.figures()]
    assert "price per credit" in labels and "tier 2 starts" in labels
    assert "unification tier 4" in labels and "unification sandbox" in labels
    assert convert(overridden, "unification", D(1_000_000)).amount == 50_000
    with pytest.raises(InputError) as error:
        apply_overrides(card, [CardOverride("workspace", {
            "nope": UsageTypeOverride(),
            "queries": UsageTypeOverride(production=(contract_rate,))},
            tier_starts=(fig("0"),))])
    reasons = [p.reason for p in error.value.problems]
    assert any("'nope', which is not on rate card" in r for r in reasons)
    assert any("gives 1 rate(s) for queries; the card has 4" in r for r in reasons)
    assert any("tier starts that do not match" in r for r in reasons)
    flat = apply_overrides(flat_card(), [CardOverride("workspace", {
        "standard_action": UsageTypeOverride(production=(contract_rate,))})])
    assert flat.price is None
    assert flat.figures()[0][0] == "standard_action"
    assert "no source" in Figure(D(1), (), READ, Confidence.LOW).describe()


def test_card_scope_is_explained() -> None:
    conversion = convert(tiered_card(scope=TierScope.CARD), "queries", D(10))
    assert "the whole card's usage" in "\n".join(conversion.explanation())
    assert len(conversion.figures_used) == 5


def test_wallet_mapping_matches_and_finds_overlaps() -> None:
    entries = [
        make_match("flex-prod", "AgentforceFlexCredits", env="production"),
        make_match("flex-sbx", "AgentforceFlexCredits", env="sandbox"),
        make_match("dc", "DataCloudFlexCredits", ["Unification", "queries"],
                   org="00D5f000000NWRob"),
        make_match("dc-other", "DataCloudFlexCredits", ["prep"]),
    ]
    assert overlapping(entries) == []
    assert pool_for(entries, "agentforceflexcredits", "x", None, "production") == "flex-prod"
    assert pool_for(entries, "AgentforceFlexCredits", None, None, "sandbox") == "flex-sbx"
    assert pool_for(entries, "AgentforceFlexCredits", None, None, None) is None
    assert pool_for(entries, "DataCloudFlexCredits", "unification", "00D5f000000NWRobAA",
                    None) == "dc"
    assert pool_for(entries, "DataCloudFlexCredits", "unification", "00D5f000000OTHERAA",
                    None) is None
    assert pool_for(entries, "DataCloudFlexCredits", "unification", None, None) is None
    assert pool_for(entries, "DataCloudFlexCredits", None, None, None) is None
    assert pool_for(entries, "DataCloudFlexCredits", "prep", None, None) == "dc-other"
    assert pool_for(entries, "Other", "prep", None, None) is None
    clashes = [
        make_match("a", "Card"), make_match("b", "Card", ["x"]),  # overlap: a takes all
        make_match("a", "Card", ["y"]),  # same pool: fine
        make_match("c", "Card2", org="00D000000000001"),
        make_match("d", "Card2", org="00D000000000002"),  # other org: fine
        make_match("e", "Card3", ["x"]), make_match("f", "Card3", ["y"]),  # other types: fine
        make_match("g", "Card4", env="sandbox"), make_match("h", "Card4"),  # overlap
    ]
    assert [(a.pool, b.pool) for a, b in overlapping(clashes)] == [("a", "b"), ("g", "h")]
