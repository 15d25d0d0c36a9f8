"""The matcher on a labelled sample: each backlog item's obviously right entry, by hand."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from creditops.adapters import success_files as files
from creditops.core import accelerators as acc

DATA = Path(__file__).parent / "data"


def labels() -> dict[str, str]:
    with (DATA / "labelled-backlog.csv").open(encoding="utf-8") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        return {row["id"]: row["expected"] for row in rows}


def test_tfidf_ranks_the_right_entry_first_on_the_labelled_sample() -> None:
    catalogue = files.read_accelerator_catalogue(DATA / "labelled-catalogue.csv")
    backlog = files.read_backlog(DATA / "labelled-backlog.csv")
    expected = labels()
    assert len(expected) == len(backlog) == 24 and len(catalogue) == 26
    ranked = acc.rank_matches(backlog, catalogue, acc.tfidf_scores(backlog, catalogue), top=3,
                              min_score=Decimal("0.05"))
    top1 = acc.top_k_accuracy(ranked, expected, 1)
    top3 = acc.top_k_accuracy(ranked, expected, 3)
    # Measured: 23 of 24 first (B13 "old CRM" pulls towards "CRM Analytics"), 24 of 24 in 3.
    assert top1 >= Decimal(23) / Decimal(24)
    assert top3 == 1
