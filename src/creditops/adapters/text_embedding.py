"""An optional sentence-embedding encoder for the Accelerator matcher.

Only a model whose weights already sit inside an installed package is used: nothing is ever
downloaded. The supported package is ``wordllama`` (the ``embeddings`` extra), whose wheel carries
its default 256-dimension weights and tokenizer; when they are not on disk, there is no encoder and
the matcher uses TF-IDF.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np

Vectors = Callable[[Sequence[str]], "np.ndarray"]

WORDLLAMA_WEIGHTS = Path("weights") / "l2_supercat_256.safetensors"
WORDLLAMA_TOKENIZER = Path("tokenizers") / "l2_supercat_tokenizer_config.json"


@dataclass(frozen=True)
class Encoder:
    """Turns texts into one vector each."""

    name: str
    encode: Vectors


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def packaged_encoder() -> Encoder | None:
    """The encoder of an installed package whose weights are on disk, or None."""
    root = _package_dir("wordllama")
    if root is None:
        return None
    if not ((root / WORDLLAMA_WEIGHTS).is_file() and (root / WORDLLAMA_TOKENIZER).is_file()):
        return None
    from wordllama import WordLlama  # only imported when its files are there

    try:
        # The package directory doubles as the cache: no other place is looked at, and
        # downloads are off.
        model = WordLlama.load(cache_dir=root, disable_download=True)
    except (OSError, ValueError):
        return None
    return Encoder("wordllama l2_supercat 256 (weights from the installed package)",
                   lambda texts: np.asarray(model.embed(list(texts)), dtype=np.float64))


def cosine_scores(encoder: Encoder, left: Sequence[tuple[str, str]],
                  right: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Decimal]:
    """Cosine similarity of every (left id, right id) pair of (id, text) lists, as decimals
    rounded to 6 places; pairs at or below zero are left out (they fit nothing)."""
    if not left or not right:
        return {}
    a = _unit_rows(encoder.encode([text for _, text in left]), len(left))
    b = _unit_rows(encoder.encode([text for _, text in right]), len(right))
    similarity = a @ b.T
    scores = {}
    for i, (left_id, _) in enumerate(left):
        for j, (right_id, _) in enumerate(right):
            value = float(similarity[i, j])
            if value > 0:
                scores[(left_id, right_id)] = Decimal(f"{min(value, 1.0):.6f}")
    return scores


def _unit_rows(vectors: np.ndarray, expected: int) -> np.ndarray:
    matrix = np.asarray(vectors, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != expected:
        raise ValueError(f"the encoder returned shape {matrix.shape} for {expected} texts")
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    unit: np.ndarray = matrix / norms
    return unit
