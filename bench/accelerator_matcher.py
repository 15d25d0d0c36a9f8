"""Accelerator matcher: exact TF-IDF ranking of a 500-entry catalogue for a 300-item backlog,
target under 2 s (an interactive command).

Reference, measured in the same run: scikit-learn's TfidfVectorizer with the same tokens, the
same smoothing and raw term counts, then cosine similarity and a top-3 sort in NumPy. The two
must agree on each item's best entry (ties aside), which also checks the exact implementation.

    .venv/bin/python bench/accelerator_matcher.py [--entries 500] [--items 300]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import time
from decimal import Decimal

import numpy as np
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer

from creditops.core.accelerators import (
    BacklogItem,
    CatalogueEntry,
    rank_matches,
    tfidf_scores,
    words,
)

TARGET_SECONDS = 2.0
# Words of the kind catalogue topics and backlog items use, so documents overlap as real ones do.
_TOPIC_TEXT = """
opportunity pipeline forecast quota lead scoring assignment territory quote pricing discount
bundle case routing queue escalation knowledge article entitlement milestone field service
appointment dispatch portal community login flow trigger apex governor limit test coverage
component javascript integration event middleware api retry migration mapping cleansing load
duplicate merge matching security sharing role permission profile identity sso authentication
report dashboard analytics dataset release sandbox deployment pipeline scratch health debt
journey email template audience adoption training guidance agent bot topic action mobile
offline layout approval process automation record screen error handling batch schedule data
"""
TOPIC_WORDS = _TOPIC_TEXT.split()


def make_inputs(entries: int, items: int, seed: int) -> tuple[list[CatalogueEntry],
                                                                list[BacklogItem]]:
    rng = random.Random(seed)

    def text(count: int) -> str:
        return " ".join(rng.choice(TOPIC_WORDS) for _ in range(count))

    catalogue = [CatalogueEntry(f"C{i:04d}", text(4), text(25), rng.choice(TOPIC_WORDS),
                                Decimal(3)) for i in range(entries)]
    backlog = [BacklogItem(f"B{i:04d}", text(6), text(30), "owner", rng.randint(1, 5))
               for i in range(items)]
    return catalogue, backlog


def exact(catalogue: list[CatalogueEntry], backlog: list[BacklogItem]) -> dict[str, list[str]]:
    ranked = rank_matches(backlog, catalogue, tfidf_scores(backlog, catalogue), top=3,
                          min_score=Decimal(0))
    return {result.item.id: [m.entry.id for m in result.matches] for result in ranked}


def reference(catalogue: list[CatalogueEntry], backlog: list[BacklogItem]
              ) -> tuple[dict[str, list[str]], np.ndarray]:
    vectorizer = TfidfVectorizer(analyzer=lambda text: [term for term, _ in words(text)],
                                 smooth_idf=True, sublinear_tf=False, norm="l2")
    matrix = vectorizer.fit_transform([item.text for item in backlog]
                                      + [entry.text for entry in catalogue])
    left, right = matrix[: len(backlog)], matrix[len(backlog):]
    similarity = (left @ right.T).toarray()
    best = np.argsort(-similarity, axis=1, kind="stable")[:, :3]
    return ({item.id: [catalogue[j].id for j in row] for item, row in zip(backlog, best,
                                                                            strict=True)},
            similarity)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=500)
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    arguments = parser.parse_args()
    catalogue, backlog = make_inputs(arguments.entries, arguments.items, arguments.seed)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, scikit-learn {sklearn.__version__}")
    shape = f"{len(catalogue)} entries × {len(backlog)} backlog items"

    timings = []
    for _ in range(arguments.repeat):
        started = time.perf_counter()
        ours = exact(catalogue, backlog)
        timings.append(time.perf_counter() - started)
    exact_seconds = min(timings)
    timings = []
    for _ in range(arguments.repeat):
        started = time.perf_counter()
        theirs, similarity = reference(catalogue, backlog)
        timings.append(time.perf_counter() - started)
    reference_seconds = min(timings)

    # Agreement on the best entry, where the reference's best is not tied with its second.
    compared = agreed = 0
    for i, item in enumerate(backlog):
        top = sorted(similarity[i], reverse=True)
        if top[0] - top[1] < 1e-9:
            continue
        compared += 1
        agreed += ours[item.id][0] == theirs[item.id][0]
    print(f"exact Decimal TF-IDF + ranking ({shape}): best {exact_seconds:.3f} s of "
          f"{arguments.repeat}")
    print(f"reference scikit-learn TF-IDF + cosine + sort: best {reference_seconds:.3f} s")
    print(f"ratio exact / reference: {exact_seconds / reference_seconds:.1f}×")
    print(f"best entry agrees on {agreed} of {compared} items without a tie")
    met = exact_seconds < TARGET_SECONDS
    print(f"target under {TARGET_SECONDS:.0f} s: {'met' if met else 'NOT met'}")
    if agreed != compared:
        print("error: the exact ranking disagrees with the reference")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
