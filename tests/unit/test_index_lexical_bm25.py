"""kb.lexical_bm25 against SQLite's FTS5 itself: the same rows, ranks and tie order."""

from __future__ import annotations

import sqlite3
import time

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


def _file_base(path) -> sqlite3.Connection:  # type: ignore[no-untyped-def]
    """The fixture's table in a file (a second connection can open it), in WAL mode."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE VIRTUAL TABLE chunk_terms USING fts5(chunk_id UNINDEXED, terms)")
    rng = np.random.default_rng(12)
    rows = [
        (f"c{i}", " ".join(rng.choice(WORDS, size=int(rng.integers(1, 40))))) for i in range(800)
    ]
    connection.executemany("INSERT INTO chunk_terms(chunk_id, terms) VALUES (?, ?)", rows)
    return connection


def test_words_read_on_two_connections_rank_as_fts5(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A search's many new words are read on this connection and a second one side by
    side (kb.side_threads); the postings and the list are FTS5's own."""
    import kb.lexical_bm25
    from kb.side_threads import IdleHelpers

    monkeypatch.setattr(kb.lexical_bm25, "HELPERS", IdleHelpers(1))
    db = _file_base(tmp_path / "terms.sqlite")
    expression = _match_expression(WORDS)
    fts = [(r[0], float(r[1])) for r in db.execute(_TOP_MATCHES, (expression, 1000))]
    postings = Bm25Postings(db)
    names = dict(db.execute("SELECT rowid, chunk_id FROM chunk_terms"))
    assert [(names[r], rank) for r, rank in postings.top(WORDS, 1000)] == fts
    assert postings._side is not None  # the second connection read some of them
    alone = Bm25Postings(db)
    monkeypatch.setattr(kb.lexical_bm25, "HELPERS", IdleHelpers(0))
    for word in WORDS:
        want, got = alone.postings(word), postings.postings(word)
        assert want[0].tolist() == got[0].tolist() and want[1].tolist() == got[1].tolist()


def test_words_read_beside_a_commit_are_read_again(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """If another connection commits while the second connection reads, what it read is
    not kept (it may be of the new state): those words are read again on this one."""
    import kb.lexical_bm25
    from kb.side_threads import IdleHelpers

    monkeypatch.setattr(kb.lexical_bm25, "HELPERS", IdleHelpers(1))
    path = tmp_path / "terms.sqlite"
    db = _file_base(path)
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    postings = Bm25Postings(db)
    read = kb.lexical_bm25._read_postings

    def read_then_commit(connection, word):  # type: ignore[no-untyped-def]
        found = read(connection, word)
        if connection is db:
            time.sleep(0.02)  # leave words to the second connection
        else:
            writer.execute("INSERT INTO chunk_terms(chunk_id, terms) VALUES ('new', 'card')")
        return found

    monkeypatch.setattr(kb.lexical_bm25, "_read_postings", read_then_commit)
    postings.read(WORDS)
    kept = set(postings._postings)
    assert postings._side is not None and kept < set(WORDS)  # the side's words were dropped
    assert writer.execute("SELECT count(*) FROM chunk_terms").fetchone()[0] > 800
