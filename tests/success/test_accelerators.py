"""Matching words, TF-IDF scores, ranking and the session schedule."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from creditops.core import accelerators as acc
from creditops.core.accelerators import BacklogItem, CatalogueEntry, ItemMatches, Match, UsedSession

D = Decimal


def entry(entry_id: str, title: str, description: str = "", product: str = "") -> CatalogueEntry:
    return CatalogueEntry(entry_id, title, description, product, D(3))


def item(item_id: str, title: str, priority: int = 3, owner: str = "Ana",
         description: str = "", questions: str = "") -> BacklogItem:
    return BacklogItem(item_id, title, description, owner, priority, questions)


@pytest.mark.parametrize(("word", "expected"), [
    ("integration", "integr"), ("integrations", "integr"), ("integrate", "integr"),
    ("integrating", "integr"), ("integrated", "integr"),
    ("optimisation", "optim"), ("optimization", "optim"), ("optimise", "optim"),
    ("capabilities", "capability"), ("processes", "process"), ("process", "process"),
    ("pages", "pag"), ("page", "pag"), ("searches", "search"), ("boxes", "box"),
    ("status", "status"), ("analysis", "analysis"), ("cases", "cas"), ("flow", "flow"),
    ("api", "api"), ("ads", "ads"), ("routing", "rout"), ("ties", "tie"),
])
def test_stem_folds_related_forms(word: str, expected: str) -> None:
    assert acc.stem(word) == expected


def test_words_drop_stopwords_digits_and_single_letters() -> None:
    assert acc.words("The ERP sync runs at 2 a.m. for Salesforce users") == [
        ("erp", "erp"), ("sync", "sync"), ("run", "runs"), ("user", "users")]


def test_tfidf_prefers_the_entry_sharing_rare_words() -> None:
    catalogue = [entry("C1", "Data migration", "bulk loads of legacy records"),
                 entry("C2", "Report design", "dashboards for managers"),
                 entry("C3", "Unrelated", "nothing in common")]
    backlog = [item("B1", "Migrate legacy records", description="dashboards later")]
    scores = acc.tfidf_scores(backlog, catalogue)
    assert scores[("B1", "C1")] > scores[("B1", "C2")] > 0
    assert ("B1", "C3") not in scores  # nothing shared: no score at all
    assert all(0 < value <= 1 for value in scores.values())
    # a perfect copy scores 1
    twin = acc.tfidf_scores([item("B", "Data migration", description="bulk loads")],
                            [entry("C", "Data migration", "bulk loads")])
    assert abs(twin[("B", "C")] - 1) < D("1e-20")


def test_rank_matches_orders_by_score_then_id_and_keeps_the_words() -> None:
    catalogue = [entry("C2", "Flow design"), entry("C1", "Flow design"), entry("C3", "Other")]
    backlog = [item("B1", "Rebuild flows")]
    scores = {("B1", "C1"): D("0.5"), ("B1", "C2"): D("0.5"), ("B1", "C3"): D("0.04")}
    [result] = acc.rank_matches(backlog, catalogue, scores, top=5, min_score=D("0.05"))
    assert [match.entry.id for match in result.matches] == ["C1", "C2"]
    assert result.matches[0].matched_words == ("flows",)
    assert result.matches[0].score == D("0.5000")
    [limited] = acc.rank_matches(backlog, catalogue, scores, top=1, min_score=D(0))
    assert [match.entry.id for match in limited.matches] == ["C1"]
    with pytest.raises(ValueError, match="top"):
        acc.rank_matches(backlog, catalogue, scores, top=0, min_score=D(0))


def test_top_k_accuracy() -> None:
    first, second = entry("C1", "a"), entry("C2", "b")
    ranked = [ItemMatches(item("B1", "x"), (Match(first, D(1), ()), Match(second, D(1), ()))),
              ItemMatches(item("B2", "y"), (Match(first, D(1), ()),)),
              ItemMatches(item("B3", "z"), ())]
    expected = {"B1": "C2", "B2": "C1"}
    assert acc.top_k_accuracy(ranked, expected, 1) == D("0.5")
    assert acc.top_k_accuracy(ranked, expected, 2) == D(1)
    with pytest.raises(ValueError, match="no labelled"):
        acc.top_k_accuracy(ranked, {"B9": "C1"}, 1)


def test_preparation_notes_are_the_questions_else_the_description() -> None:
    assert item("B", "t", description="why", questions="  Which API?  ").preparation == (
        "Which API?")
    assert item("B", "t", description=" Context only ").preparation == "Context only"


# ---------------------------------------------------------------------------------------------
# Calendar arithmetic


def test_add_months_clamps_to_month_end() -> None:
    assert acc.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert acc.add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert acc.add_months(date(2026, 3, 15), -12) == date(2025, 3, 15)
    assert acc.add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)


def test_contract_year_start() -> None:
    anchor = date(2025, 2, 1)
    assert acc.contract_year_start(anchor, date(2026, 1, 31)) == date(2025, 2, 1)
    assert acc.contract_year_start(anchor, date(2026, 2, 1)) == date(2026, 2, 1)
    assert acc.contract_year_start(anchor, date(2024, 6, 1)) == date(2024, 2, 1)
    month_end = date(2024, 1, 31)
    assert acc.contract_year_start(month_end, date(2025, 1, 30)) == date(2024, 1, 31)


def test_quarters_and_slot_days_fall_on_weekdays_inside_the_quarter() -> None:
    quarters = acc.quarters_from(date(2026, 7, 1), 2)
    assert [(q.start, q.end) for q in quarters] == [
        (date(2026, 7, 1), date(2026, 9, 30)), (date(2026, 10, 1), date(2026, 12, 31))]
    with pytest.raises(ValueError, match="at least 1"):
        acc.quarters_from(date(2026, 7, 1), 0)
    # a slot on a Saturday at the very end of its span moves back to Friday
    assert acc._business_day(date(2026, 10, 3), date(2026, 9, 1), date(2026, 10, 3)) == date(
        2026, 10, 2)
    assert acc._business_day(date(2026, 10, 3), date(2026, 9, 1), date(2026, 10, 31)) == date(
        2026, 10, 5)


# ---------------------------------------------------------------------------------------------
# Schedule


def ranked_sample() -> list[ItemMatches]:
    migration, integration, flows, reports = (entry("C-MIG", "Data migration"),
                                              entry("C-INT", "Integration"),
                                              entry("C-FLOW", "Flow"), entry("C-REP", "Reports"))
    return [
        ItemMatches(item("B-LOW", "Reports", priority=4),
                    (Match(reports, D("0.9"), ("reports",)),)),
        ItemMatches(item("B-TOP", "Migrate", priority=1, questions="Which tool?"),
                    (Match(migration, D("0.8"), ("migrate",)), Match(integration, D("0.2"), ()))),
        ItemMatches(item("B-MID", "Integrate", priority=2),
                    (Match(integration, D("0.7"), ()), Match(flows, D("0.3"), ()))),
        ItemMatches(item("B-NONE", "Nothing", priority=1), ()),
    ]


def test_schedule_front_loads_the_most_urgent_items() -> None:
    schedule = acc.plan_sessions(ranked_sample(), date(2026, 7, 1), quarters=4, per_quarter=1)
    got = [(s.day, s.item.id, s.entry.id, s.quarter) for s in schedule.sessions]
    assert got == [
        (date(2026, 8, 17), "B-TOP", "C-MIG", 0),  # mid-quarter Sat 15 Aug → Monday
        (date(2026, 11, 16), "B-MID", "C-INT", 1),
        (date(2027, 2, 15), "B-LOW", "C-REP", 2),
        # every item had a session: back to the most urgent with an entry left
        (date(2027, 5, 17), "B-MID", "C-FLOW", 3),
    ]
    first = schedule.sessions[0]
    assert (first.quantity, first.owner, first.project, first.preparation) == (
        D(1), "Ana", "B-TOP", "Which tool?")
    assert first.description == "Accelerator: Data migration (for B-TOP: Migrate)"
    assert first.uid_parts == ("B-TOP", "C-MIG")
    assert schedule.warnings == ()
    assert [(y.start, y.planned, y.used, y.entitled, y.remaining) for y in schedule.years] == [
        (date(2026, 7, 1), 4, 0, None, None)]


def test_schedule_skips_delivered_entries_and_served_items() -> None:
    used = [UsedSession(date(2026, 5, 2), "C-MIG", "B-TOP"),
            UsedSession(date(2026, 6, 2), "C-OLD")]
    schedule = acc.plan_sessions(ranked_sample(), date(2026, 7, 1), quarters=2, per_quarter=2,
                                 used=used, entitled_per_year=4, year_anchor=date(2026, 2, 1))
    assert [(s.item.id, s.entry.id) for s in schedule.sessions] == [
        ("B-MID", "C-INT"), ("B-LOW", "C-REP")]
    # the 2 delivered and 2 planned sessions fill the year's 4: later slots stay empty
    assert [(y.start, y.used, y.planned, y.remaining) for y in schedule.years] == [
        (date(2026, 2, 1), 2, 2, 0)]
    assert schedule.warnings == (
        "no session from 2026-10-01 to 2026-12-31: the contract year's 4 entitled sessions are "
        "already used or planned",)


def test_schedule_requeues_an_item_whose_best_entry_went_to_a_more_urgent_one() -> None:
    shared = entry("C-SHARED", "Shared")
    spare = entry("C-SPARE", "Spare")
    ranked = [
        ItemMatches(item("B2", "second", priority=2),
                    (Match(shared, D("0.9"), ()), Match(spare, D("0.1"), ()))),
        ItemMatches(item("B3", "third", priority=2),
                    (Match(entry("C-OWN", "Own"), D("0.5"), ()),)),
        ItemMatches(item("B1", "first", priority=1), (Match(shared, D("0.2"), ()),)),
    ]
    schedule = acc.plan_sessions(ranked, date(2026, 1, 1), quarters=3, per_quarter=1)
    # B2 lost C-SHARED to B1; its spare scores 0.1, so B3 (0.5) goes before it
    assert [(s.item.id, s.entry.id) for s in schedule.sessions] == [
        ("B1", "C-SHARED"), ("B3", "C-OWN"), ("B2", "C-SPARE")]


def test_schedule_warns_about_empty_quarters_and_missing_owners() -> None:
    ranked = [ItemMatches(item("B1", "x", owner=" "), (Match(entry("C1", "x"), D(1), ()),))]
    schedule = acc.plan_sessions(ranked, date(2026, 1, 1), quarters=2, per_quarter=1)
    assert len(schedule.sessions) == 1
    assert schedule.warnings[0].startswith(
        "no session from 2026-04-01 to 2026-06-30: no backlog item has a matching catalogue "
        "entry left")
    assert "B1 has no owner" in schedule.warnings[1]


def test_entitlement_of_zero_books_nothing() -> None:
    schedule = acc.plan_sessions(ranked_sample(), date(2026, 1, 1), quarters=1, per_quarter=1,
                                 entitled_per_year=0)
    assert schedule.sessions == ()
    assert "0 entitled sessions" in schedule.warnings[0]
    assert schedule.years == ()


def test_schedule_refuses_bad_counts() -> None:
    with pytest.raises(ValueError, match="per quarter"):
        acc.plan_sessions([], date(2026, 1, 1), 1, 0)
    with pytest.raises(ValueError, match="negative"):
        acc.plan_sessions([], date(2026, 1, 1), 1, 1, entitled_per_year=-1)


def test_sessions_by_contract_year_lists_every_year_between() -> None:
    years = acc.sessions_by_contract_year(
        [date(2024, 3, 1)], [date(2026, 2, 1), date(2026, 3, 1)], date(2024, 3, 1), 5)
    assert [(y.start, y.end, y.used, y.planned, y.remaining) for y in years] == [
        (date(2024, 3, 1), date(2025, 2, 28), 1, 0, 4),
        (date(2025, 3, 1), date(2026, 2, 28), 0, 1, 4),
        (date(2026, 3, 1), date(2027, 2, 28), 0, 1, 4),
    ]
    assert acc.sessions_by_contract_year([], [], date(2024, 3, 1), None) == []
