"""The dense ranking that replaced filtered FAISS searches: exact, filtered, stable on ties.

FaissIndex.scores reads FAISS's own flat storage; top_positions ranks only the positions a
scope allows. Both are checked against FAISS's exhaustive search and a plain sort."""

from __future__ import annotations

import hashlib
import threading

import numpy as np
import pytest

from kb.index import FaissIndex
from kb.retrieve import top_positions
from kb.side_threads import IdleHelpers


class SeededEmbedder:
    """Unit vectors derived from a text's hash: the same text always gives the same vector
    (FaissIndex needs an embedder only for its dimension and name)."""

    name = "seeded-test"
    dimension = 16

    def _vector(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
        vector = np.random.default_rng(seed).normal(size=self.dimension).astype(np.float32)
        return vector / np.linalg.norm(vector)

    def embed_passages(self, texts):  # type: ignore[no-untyped-def]
        return np.vstack([self._vector(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)

    def embed_queries(self, texts):  # type: ignore[no-untyped-def]
        return self.embed_passages(texts)


@pytest.fixture(scope="module")
def index() -> FaissIndex:
    embedder = SeededEmbedder()
    built = FaissIndex(embedder)
    texts = [f"passage {i}" for i in range(300)]
    built.add(
        [f"c{i}" for i in range(300)],
        embedder.embed_passages(texts),
        texts,
        [{"chunk_id": f"c{i}"} for i in range(300)],
    )
    return built


def test_scores_are_faiss_inner_products(index: FaissIndex) -> None:
    query = SeededEmbedder().embed_query("a question")
    scores = index.scores(query)
    found, positions = index.store.index.search(query[None], len(index))
    assert scores.shape == (len(index),)
    np.testing.assert_allclose(scores[positions[0]], found[0], rtol=0, atol=1e-5)
    assert list(np.argsort(-scores)[:10]) == list(positions[0][:10])


def test_positions_follow_add_and_delete() -> None:
    embedder = SeededEmbedder()
    small = FaissIndex(embedder)
    texts = ["one", "two", "three", "four"]
    small.add(["a", "b", "c", "d"], embedder.embed_passages(texts), texts, [{}] * 4)
    assert small.positions == {"a": 0, "b": 1, "c": 2, "d": 3}
    small.delete(["b"])
    assert small.positions == {"a": 0, "c": 1, "d": 2}
    scores = small.scores(embedder.embed_query("three"))
    assert scores.shape == (3,)
    assert int(np.argmax(scores)) == small.positions["c"]  # "three" is its own best match


def test_top_positions_ranks_only_allowed_positions_exactly() -> None:
    rng = np.random.default_rng(3)
    scores = rng.normal(size=1000).astype(np.float32)
    allowed = np.flatnonzero(rng.random(1000) < 0.1)
    ranked = top_positions(scores, allowed, 20)
    expected = sorted(allowed, key=lambda p: -scores[p])[:20]
    assert [p for p, _ in ranked] == [int(p) for p in expected]
    assert all(p in set(allowed.tolist()) for p, _ in ranked)
    assert [s for _, s in ranked] == [float(scores[p]) for p in expected]


def test_top_positions_gives_every_allowed_position_when_fewer_than_k() -> None:
    scores = np.array([0.1, 0.9, 0.5, 0.7], dtype=np.float32)
    assert [p for p, _ in top_positions(scores, np.array([0, 2]), 10)] == [2, 0]
    assert top_positions(scores, np.array([], dtype=np.int64), 10) == []
    assert top_positions(scores, np.array([1]), 0) == []


def test_equal_scores_keep_position_order() -> None:
    scores = np.array([0.5, 0.9, 0.5, 0.5, 0.1], dtype=np.float32)
    ranked = top_positions(scores, np.arange(5), 3)
    assert [p for p, _ in ranked] == [1, 0, 2]


def test_scores_of_a_copy_are_the_full_scans_bit_for_bit(index: FaissIndex) -> None:
    """A language's rows copied apart (kb.retrieve._Catalog.language_rows) score exactly as
    in the whole index: the same kernel on the same floats."""
    query = SeededEmbedder().embed_query("another question")
    full = index.scores(query)
    positions = np.array([0, 3, 4, 10, 77, 150, 151, 299])
    copy = index.vectors_at(positions)
    assert copy.flags.c_contiguous and copy.shape == (len(positions), SeededEmbedder.dimension)
    assert index.scores_of(copy, query).tobytes() == full[positions].tobytes()
    with pytest.raises(ValueError, match="vectors of 16"):
        index.scores_of(copy[:, :8].copy(), query)


def test_scores_many_are_each_querys_scores_bit_for_bit(
    index: FaissIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several queries in one pass, in blocks, split between threads: every score is the
    one a scan of that query alone gives (kb.retrieve scans a question and its call's
    context together)."""
    import kb.index

    queries = [SeededEmbedder().embed_query(t) for t in ("first", "second", "third")]
    alone = [index.scores(q) for q in queries]
    for block, split in ((2048, 32_768), (7, 1), (64, 100), (300, 1)):
        monkeypatch.setattr(kb.index, "SCAN_BLOCK_ROWS", block)
        monkeypatch.setattr(kb.index, "SCAN_SPLIT_ROWS", split)
        together = index.scores_many(queries)
        assert [t.tobytes() for t in together] == [a.tobytes() for a in alone], (block, split)
    assert index.scores_many([]) == []


def test_a_scan_split_in_pieces_covers_every_row_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Split scans on more helper threads than rows per block: no row is missed or doubled
    (the output starts as garbage, np.empty, so a missed row shows)."""
    import kb.index

    monkeypatch.setattr(kb.index, "SCAN_BLOCK_ROWS", 3)
    monkeypatch.setattr(kb.index, "SCAN_SPLIT_ROWS", 1)
    monkeypatch.setattr(kb.index, "HELPERS", IdleHelpers(3))
    embedder = SeededEmbedder()
    small = FaissIndex(embedder)
    texts = [f"row {i}" for i in range(20)]
    small.add(texts, embedder.embed_passages(texts), texts, [{}] * 20)
    query = embedder.embed_query("row 7")
    expected = embedder.embed_passages(texts) @ query
    for _ in range(5):
        (scores,) = small.scores_many([query])
        np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-5)
    assert int(np.argmax(scores)) == 7


def test_retriever_scans_a_question_and_its_context_once(
    index: FaissIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HybridRetriever._scan_together keeps both texts' scores from one pass; its searches
    then read them (no second scan), and they are each text's own scan, bit for bit."""
    import types
    from collections import OrderedDict

    from kb.retrieve import HybridRetriever, VectorCache

    retriever = object.__new__(HybridRetriever)
    retriever.kb = types.SimpleNamespace(index=index, embedder=SeededEmbedder())
    retriever._vectors = VectorCache()
    retriever._lock = threading.Lock()
    retriever._recent_scores = OrderedDict()
    question, context = "and for Australian dollars?", "USD SWIFT payments cut off at 2pm"
    expected = {t: index.scores(SeededEmbedder().embed_query(t)) for t in (question, context)}
    passes = []
    original = FaissIndex.scores_many
    monkeypatch.setattr(
        FaissIndex, "scores_many", lambda self, v: passes.append(len(v)) or original(self, v)
    )
    monkeypatch.setattr(FaissIndex, "scores", lambda self, v: pytest.fail("scanned again"))
    retriever._scan_together([question, context])
    assert passes == [2]
    for text in (question, context):
        assert retriever._scores(text, index).tobytes() == expected[text].tobytes()
    retriever._scan_together([question, context])  # both kept: nothing to scan
    assert passes == [2]
