"""Choosing the matching method: a packaged embedding model when on disk, TF-IDF otherwise."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from creditops.adapters import text_embedding
from creditops.adapters.text_embedding import Encoder, cosine_scores
from creditops.core.errors import InputError
from creditops.services import success

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def keyword_encoder(texts: Sequence[str]) -> np.ndarray:
    """A stand-in model: one dimension per topic word."""
    topics = ("migration", "integration", "flow", "search")
    return np.array([[float(topic in text.lower()) for topic in topics] for text in texts])


FAKE = Encoder("keyword stand-in", keyword_encoder)


def test_no_package_means_no_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text_embedding, "_package_dir", lambda name: None)
    assert text_embedding.packaged_encoder() is None


def test_package_without_weights_on_disk_means_no_encoder(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "tokenizers").mkdir()
    (tmp_path / "tokenizers" / "l2_supercat_tokenizer_config.json").write_text("{}")
    monkeypatch.setattr(text_embedding, "_package_dir", lambda name: tmp_path)
    # the weights are missing: nothing is loaded, nothing downloaded
    assert text_embedding.packaged_encoder() is None


def test_package_directory_lookup() -> None:
    assert text_embedding._package_dir("creditops") == ROOT / "src" / "creditops"
    assert text_embedding._package_dir("a_package_that_is_not_installed") is None
    assert text_embedding._package_dir("json.decoder") is None  # a module, not a package


def test_cosine_scores_from_an_injected_encoder() -> None:
    scores = cosine_scores(FAKE, [("B1", "Data migration and flow"), ("B2", "nothing")],
                           [("C1", "Migration"), ("C2", "Flow"), ("C3", "Search")])
    assert scores == {("B1", "C1"): Decimal("0.707107"), ("B1", "C2"): Decimal("0.707107")}
    assert cosine_scores(FAKE, [], [("C1", "x")]) == {}
    broken = Encoder("broken", lambda texts: np.zeros((1, 3)))
    with pytest.raises(ValueError, match="returned shape"):
        cosine_scores(broken, [("B1", "a"), ("B2", "b")], [("C1", "c")])


def test_method_selection() -> None:
    assert success.choose_matcher("tfidf", lambda: FAKE).method == "tfidf"
    chosen = success.choose_matcher("auto", lambda: FAKE)
    assert (chosen.method, chosen.encoder) == ("embedding", FAKE)
    assert chosen.label == "sentence embeddings: keyword stand-in"
    fallback = success.choose_matcher("auto", lambda: None)
    assert (fallback.method, fallback.label) == ("tfidf", "TF-IDF (no embedding model "
                                                           "installed)")
    assert success.choose_matcher("embedding", lambda: FAKE).method == "embedding"
    with pytest.raises(InputError, match="no sentence-embedding model is installed"):
        success.choose_matcher("embedding", lambda: None)


def test_tfidf_never_looks_for_a_model() -> None:
    def forbidden() -> Encoder | None:
        raise AssertionError("looked for a model")
    assert success.choose_matcher("tfidf", forbidden).encoder is None


def test_matching_with_embeddings_uses_the_encoder_scores() -> None:
    report = success.match_accelerators(str(EXAMPLES / "accelerator-catalogue.csv"),
                                        EXAMPLES / "backlog.csv", top=1, method="auto",
                                        find_encoder=lambda: FAKE)
    assert report.method == "embedding"
    assert report.min_score == Decimal("0.30")
    best = {result.item.id: [m.entry.id for m in result.matches] for result in report.results}
    assert best["BL-105"] == ["EX-01"]  # "search"
    assert best["BL-101"] == ["EX-08"]  # "integration"
    assert best["BL-107"] == []  # no topic word: nothing fits
