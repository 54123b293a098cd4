"""The reuse key and the assembly of reused and embedded passage vectors (kb.passage_vectors).

The embedder here is a deterministic stand-in (the real model runs in
tests/integration/test_vector_reuse.py): it records what it was asked to embed, which is
what these tests check."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from kb.passage_vectors import PassageVectors, embed_with_reuse, passage_key


class RecordingEmbedder:
    """Unit vectors from a text's hash; remembers every text it embedded."""

    name = "recording-test"
    dimension = 8

    def __init__(self) -> None:
        self.asked: list[str] = []

    def vector(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
        vector = np.random.default_rng(seed).normal(size=self.dimension).astype(np.float32)
        return vector / np.linalg.norm(vector)

    def embed_passages(self, texts):  # type: ignore[no-untyped-def]
        self.asked.extend(texts)
        return np.vstack([self.vector(t) for t in texts])


def test_key_is_the_chunkers_content_hash_and_changes_with_one_character():
    text = "Fees\nA replacement card costs 5 GBP."
    assert passage_key(text) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert passage_key(text) != passage_key(text.replace("5", "7"))
    assert passage_key(text) != passage_key(text + " ")
    assert passage_key("挂失银行卡") == passage_key("挂失银行卡")


def test_known_vectors_are_used_and_only_new_distinct_texts_embedded_in_order():
    embedder = RecordingEmbedder()
    known = {"b": np.full(8, 0.5, dtype=np.float32)}
    texts = ["a", "b", "c", "a", "b", "d"]
    result = embed_with_reuse(embedder, texts, known)
    assert embedder.asked == ["a", "c", "d"]  # each missing text once, first-seen order
    assert (result.embedded, result.reused) == (3, 3)
    expected = [embedder.vector("a"), known["b"], embedder.vector("c")]
    expected += [embedder.vector("a"), known["b"], embedder.vector("d")]
    assert np.array_equal(result.vectors, np.vstack(expected))


def test_nothing_known_embeds_everything_and_empty_input_embeds_nothing():
    embedder = RecordingEmbedder()
    result = embed_with_reuse(embedder, ["x", "y"])
    assert (result.embedded, result.reused) == (2, 0) and embedder.asked == ["x", "y"]
    empty = embed_with_reuse(embedder, [])
    assert empty.vectors.shape == (0, 8) and embedder.asked == ["x", "y"]


def test_counts_must_add_up():
    with pytest.raises(ValueError, match="must equal"):
        PassageVectors(np.zeros((3, 8), dtype=np.float32), embedded=1, reused=1)
