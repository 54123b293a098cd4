"""FTS5's own BM25, computed over postings kept in memory: the same scores, a fraction of
the time on a large base.

`ORDER BY rank LIMIT 400` makes FTS5 score every matching row through its auxiliary-function
interface; at 100,000 chunks a question's words match ~26,000 rows and the query took ~50 ms
of CPU (over 100 ms a question with the joins, on a quiet machine). Here each word's postings
(row id and occurrences, read from FTS5's `fts5vocab` instance table) are read once and
kept, with every row's token count (FTS5's own `docsize`), until the database changes; a
question then costs a few vector operations per word.

The arithmetic is FTS5's `bm25()` (ext/fts5/fts5_aux.c) step by step, in double precision
and in the order of the question's words, so the scores are bit for bit the ones FTS5
returns: idf = ln((N - n + 0.5) / (n + 0.5)), at least 1e-6; each word adds
idf * (f * (k1 + 1)) / (f + k1 * (1 - b + b * D / avgdl)), k1 = 1.2, b = 0.75.
"""

from __future__ import annotations

import math
import sqlite3
import threading
from collections import deque
from collections.abc import Sequence

import numpy as np

from kb.side_threads import HELPERS

_K1 = 1.2
_B = 0.75
_INSTANCES = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunk_term_instances "
    "USING fts5vocab(main, chunk_terms, 'instance')"
)
_OCCURRENCES = "SELECT group_concat(doc) FROM temp.chunk_term_instances WHERE term = ?"
SIDE_READ_WORDS = 4
"""From this many words not read yet, a search reads them on two connections side by side
(`Bm25Postings.read`)."""


def _last_varint(blob: bytes) -> int:
    """The last of the SQLite varints in an FTS5 docsize blob (one per column; the terms
    column is the last, chunk_id being UNINDEXED)."""
    values, value = [], 0
    for byte in blob:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            values.append(value)
            value = 0
    return values[-1] if values else 0


def best_first(values: np.ndarray, limit: int) -> np.ndarray:
    """Indexes of the `limit` largest `values` (unordered); among values equal to the last
    one taken, the lowest indexes, as FTS5's `ORDER BY rank LIMIT` keeps the lowest row ids."""
    if limit >= len(values):
        return np.arange(len(values))
    if limit <= 0:
        return np.zeros(0, dtype=np.int64)
    cut = np.partition(values, len(values) - limit)[len(values) - limit]
    above = np.flatnonzero(values > cut)
    equal = np.flatnonzero(values == cut)[: limit - len(above)]
    return np.concatenate([above, equal])


def _counted(occurrences: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct row ids (ascending) and how often each occurs, from one row id per
    occurrence (fts5vocab lists them in row order; sorted here if not)."""
    if len(occurrences) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    if np.any(occurrences[1:] < occurrences[:-1]):
        occurrences = np.sort(occurrences)
    starts = np.flatnonzero(np.r_[True, occurrences[1:] != occurrences[:-1]])
    counts = np.diff(np.r_[starts, len(occurrences)])
    return occurrences[starts], counts.astype(np.float64)


class Bm25Postings:
    """Row sizes and per-word postings of one state of the `chunk_terms` table."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        rows = db.execute("SELECT id, sz FROM chunk_terms_docsize").fetchall()
        size = max((r[0] for r in rows), default=0) + 1
        self.lengths = np.zeros(size, dtype=np.float64)
        for rowid, blob in rows:
            self.lengths[rowid] = _last_varint(blob)
        self.rows = len(rows)
        self.average_length = float(self.lengths.sum()) / self.rows if self.rows else 0.0
        self._postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._scores: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._names: dict[int, str] | None = None
        self._lock = threading.Lock()
        self._side: sqlite3.Connection | None = None
        self._side_lock = threading.Lock()
        self._side_tried = False

    def chunk_ids(self, rowids: Sequence[int]) -> dict[int, str]:
        """The chunk id of each row id (those present), from a map read once for this state
        of the table: looking 400 row ids up in FTS5 took ~10-30 ms a search at 100,000
        chunks, the whole map ~60 ms once."""
        with self._lock:
            names = self._names
        if names is None:
            names = dict(self.db.execute("SELECT rowid, chunk_id FROM chunk_terms").fetchall())
            with self._lock:
                self._names = names
        return {rowid: names[rowid] for rowid in rowids if rowid in names}

    def postings(self, word: str) -> tuple[np.ndarray, np.ndarray]:
        """Row ids holding `word` (ascending) and its occurrences in each."""
        with self._lock:
            found = self._postings.get(word)
        if found is None:
            self.db.execute(_INSTANCES)
            found = self._keep(word, _read_postings(self.db, word))
        return found

    def _keep(
        self, word: str, found: tuple[np.ndarray, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            if len(self._postings) > 20_000:
                self._postings.clear()
            self._postings[word] = found
        return found

    def read(self, words: Sequence[str]) -> None:
        """Read the postings of `words` not kept yet, on this connection and, when a helper
        thread is idle (kb.side_threads), on a second connection to the same file at the
        same time: SQLite releases the GIL while it walks a word's occurrences, and a
        question's first search may read 20-30 new words (12-15 ms at 100,000 chunks).

        Both threads take the next unread word until none is left. The second connection
        reads in one transaction; its words are kept only if no other connection committed
        meanwhile (this connection's PRAGMA data_version unchanged), so every posting is of
        the one state this object describes. Otherwise `postings` reads them here later."""
        with self._lock:
            missing = [w for w in dict.fromkeys(words) if w not in self._postings]
        if len(missing) < SIDE_READ_WORDS or HELPERS.count == 0:
            return
        side = self._side_connection()
        if side is None:
            return
        pending = deque(missing)
        beside: dict[str, tuple[np.ndarray, np.ndarray]] = {}

        def here() -> None:
            self.db.execute(_INSTANCES)
            while True:
                try:
                    word = pending.popleft()
                except IndexError:
                    return
                self._keep(word, _read_postings(self.db, word))

        def there() -> None:
            with self._side_lock:
                side.execute("BEGIN")
                try:
                    while True:
                        try:
                            word = pending.pop()
                        except IndexError:
                            return
                        beside[word] = _read_postings(side, word)
                finally:
                    side.execute("COMMIT")

        before = self._data_version()
        HELPERS.run([here, there])
        if self._data_version() == before:
            for word, found in beside.items():
                self._keep(word, found)

    def _data_version(self) -> int:
        return int(self.db.execute("PRAGMA data_version").fetchone()[0])

    def _side_connection(self) -> sqlite3.Connection | None:
        """A second connection to this database's file (None for one in memory), opened
        once, read only (`query_only`)."""
        with self._lock:
            if self._side_tried:
                return self._side
            self._side_tried = True
        path = next((r[2] for r in self.db.execute("PRAGMA database_list") if r[1] == "main"), "")
        if not path:
            return None
        side = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        side.execute(_INSTANCES)  # a temp table: made before the connection turns read only
        side.execute("PRAGMA query_only = 1")
        with self._lock:
            self._side = side
        return side

    def word_scores(self, word: str) -> tuple[np.ndarray, np.ndarray]:
        """Row ids holding `word` and the BM25 term each gets from it: in this state of the
        table a word adds the same amount to a row in every question, so it is computed once
        with its postings (a follow-up's context, ~30 words and ~130,000 postings, spent
        1.2-3.2 ms a search redoing it; adding kept terms is 0.4-1 ms)."""
        with self._lock:
            found = self._scores.get(word)
        if found is None:
            rows, frequencies = self.postings(word)
            terms = np.zeros(0, dtype=np.float64)
            if len(rows):
                hits = len(rows)
                idf = math.log((self.rows - hits + 0.5) / (hits + 0.5))
                if idf <= 0.0:
                    idf = 1e-6
                lengths = self.lengths[rows]
                terms = idf * (
                    (frequencies * (_K1 + 1.0))
                    / (frequencies + _K1 * (1 - _B + _B * lengths / self.average_length))
                )
            found = (rows, terms)
            with self._lock:
                if len(self._scores) > 20_000:
                    self._scores.clear()
                self._scores[word] = found
        return found

    def top(self, words: Sequence[str], limit: int) -> list[tuple[int, float]]:
        """(row id, FTS5 rank = -BM25) of the `limit` best rows matching any of `words`
        (distinct, in the question's order), best first; equal scores by row id."""
        if not self.rows:
            return []
        self.read(words)
        scores = np.zeros(len(self.lengths), dtype=np.float64)
        matched = False
        for word in words:
            rows, terms = self.word_scores(word)
            if len(rows) == 0:
                continue
            # Each term is computed as FTS5's bm25() does, then added in the question's
            # word order: the sums are bit for bit those of computing it here.
            scores[rows] += terms
            matched = True
        if not matched:
            return []
        # Every word adds a positive amount (idf >= 1e-6), so the matching rows are exactly
        # the rows with a score: one scan, where np.unique over the postings took 40 ms.
        candidates = np.flatnonzero(scores)
        values = scores[candidates]
        chosen = best_first(values, limit)
        order = chosen[np.lexsort((candidates[chosen], -values[chosen]))]
        return [(int(candidates[i]), -1.0 * float(values[i])) for i in order]


def _read_postings(db: sqlite3.Connection, word: str) -> tuple[np.ndarray, np.ndarray]:
    """`word`'s row ids and counts through `db` (its temp.chunk_term_instances made).

    One string of the row id of every occurrence, counted here: a (row, count) tuple per row
    through GROUP BY took 25-45 ms for a common word at 100,000 chunks (26,000 rows), this
    5-15 ms, and a question's first search reads several (a new word, or any word after the
    base changed)."""
    (joined,) = db.execute(_OCCURRENCES, (word,)).fetchone()
    return _counted(np.fromstring(joined or "", dtype=np.int64, sep=","))
