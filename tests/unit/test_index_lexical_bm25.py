"""kb.lexical_bm25 against SQLite's FTS5 itself: the same rows, ranks and tie order."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from kb.lexical import _TOP_MATCHES, LexicalIndex, _match_expression
from kb.lexical_bm25 import Bm25Postings, best_first

WORDS = ["card", "lost", "fee", "chaps", "挂失", "银行卡", "2026", "transfer", "pin", "limit"]


@pytest.fixture(scope="module")
def db() -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:", check_same_thread=False)
    connection.execute("CREATE VIRTUAL TABLE chunk_terms USING fts5(chunk_id UNINDEXED, terms)")
    rng = np.random.default_rng(11)
    rows = []
    for i in range(600):
        count = int(rng.integers(1, 40))
        rows.append((f"c{i}", " ".join(rng.choice(WORDS, size=count))))
    rows += [("dup-a", "card lost"), ("dup-b", "card lost"), ("dup-c", "card lost")]
    connection.executemany("INSERT INTO chunk_terms(chunk_id, terms) VALUES (?, ?)", rows)
    connection.execute("DELETE FROM chunk_terms WHERE chunk_id = 'c5'")  # a gap in row ids
    return connection


@pytest.mark.parametrize(
    "words", [["card"], ["lost", "card"], ["挂失", "fee", "chaps"], ["pin", "nothing-like-it"]]
)
@pytest.mark.parametrize("limit", [5, 50, 1000])
def test_same_list_as_fts5(db: sqlite3.Connection, words: list[str], limit: int) -> None:
    expression = _match_expression(words)
    fts = [(r[0], float(r[1])) for r in db.execute(_TOP_MATCHES, (expression, limit))]
    postings = Bm25Postings(db)
    names = dict(db.execute("SELECT rowid, chunk_id FROM chunk_terms"))
    ours = [(names[rowid], rank) for rowid, rank in postings.top(words, limit)]
    assert ours == fts  # ids, order and the ranks bit for bit


def test_lexical_index_uses_it_and_sees_changes(db: sqlite3.Connection) -> None:
    index = LexicalIndex(db)
    expression = _match_expression(["chaps", "limit"])
    version = db.execute("PRAGMA data_version").fetchone()[0]
    first = index._ranked(expression, version)
    assert first == [(r[0], float(r[1])) for r in db.execute(_TOP_MATCHES, (expression, 400))]
    assert index._postings is not None
    # A phrase FTS5 splits into two tokens is left to FTS5 itself.
    odd = _match_expression(["card_lost"])
    assert index._ranked(odd, version) == [
        (r[0], float(r[1])) for r in db.execute(_TOP_MATCHES, (odd, 400))
    ]


def test_best_first_keeps_lowest_indexes_among_ties_at_the_cut() -> None:
    values = np.array([0.2, 0.9, 0.5, 0.5, 0.5, 0.1])
    assert sorted(best_first(values, 3).tolist()) == [1, 2, 3]
    assert sorted(best_first(values, 10).tolist()) == list(range(6))
    assert best_first(values, 0).tolist() == []


def test_occurrences_counted_per_row_in_any_order() -> None:
    from kb.lexical_bm25 import _counted

    rows, counts = _counted(np.array([9, 3, 5, 3, 9, 9]))
    assert rows.tolist() == [3, 5, 9] and counts.tolist() == [2.0, 1.0, 3.0]
    rows, counts = _counted(np.zeros(0, dtype=np.int64))
    assert rows.tolist() == [] and counts.tolist() == []
