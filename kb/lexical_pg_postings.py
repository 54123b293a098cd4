"""Each replica's in-memory copy of the PostgreSQL lexical index's postings (kb.lexical_pg).

Why: scoring BM25 in SQL costs ~10-20 us a matching chunk, and at 100,000 chunks a
question's common words match tens of thousands (48-64 ms an ask, 100-160 ms for the slowest
tenth, eval/reports/postgres-scale.md). The local store reads each word's postings once and
scores them with numpy (kb.lexical_bm25); this is the same for PostgreSQL. PostgreSQL stays
the truth: the copy is a cache of one state of `chunk_terms`, named by
`lexical_stats.changes` (which the statistics triggers tick on every change), read in ONE
statement (one snapshot), and used only while the counter a search reads is the copy's.
After a change the search runs in SQL as before until the copy of the new state is ready.

Why the whole table and not word by word: a common word's postings through the GIN index
took 30-70 ms at 100,000 chunks, so a question's new words would still cost that. The
whole table is one 0.15 s read of 30 MB, built into postings in ~1.7 s (5.6 million tokens,
4.2 million postings, ~50 MB). On a large base that is done on a thread of its own with a
connection of its own (`PostingsMirror`), so no ask waits for it; on a small one
(`SYNC_CHUNKS`) by the search that finds it missing.

Scores are the SQL's bit for bit (kb.lexical_pg._TOP_MATCHES): the same IEEE operations in
the same order (`idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / avgdl))`), the
inverse document frequencies the caller read from `lexical_terms` (computed with the same
libm `log`), and each chunk's sum over the question's words in the order PostgreSQL's
`sum()` adds them: the tsvector's lexeme order (byte order; the plan's hash join probes
with the tsvector's `unnest`). The tokens come from splitting `terms` on spaces, which
gave each chunk exactly its tsvector's lexemes and position counts on the 100,000-chunk
base (checked row by row). Rows are numbered in the database's `ORDER BY chunk_id`, so
equal scores are cut at the 400th place as `ORDER BY score DESC, chunk_id` cuts them.
Unlike the SQL's max-score cut, every matching chunk is scored: the list is exact
for every question, as FTS5's is on the local store.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kb.pg_version_kinds import KINDS

logger = logging.getLogger(__name__)

K1 = 1.2
B = 0.75
_NUMERATOR = float(f"{K1 + 1}")  # the SQL's literal, `{K1 + 1}` written out
_FREE = 1 - B  # PostgreSQL's `1 - 0.75::float8`, exact

SYNC_CHUNKS = 5_000
"""Up to this many chunks the copy is built by the search that needs it (~0.1 s); above,
on a thread of its own while searches run in SQL."""

RETRY_SECONDS = 30.0
"""After a failed build, how long searches run in SQL before another build is tried."""

_READ = (
    "SELECT s.changes, s.chunks, s.tokens, t.chunk_id, t.terms, c.document_id, c.version, "
    "c.language FROM lexical_stats s LEFT JOIN (chunk_terms t LEFT JOIN chunks c "
    "ON c.chunk_id = t.chunk_id) ON true WHERE s.id = 1 ORDER BY t.chunk_id"
)
"""One statement, so one snapshot: the counter and the rows are the same state. Each row's
chunk (document, version, language) too: chunks are written and removed with their terms
(kb.registry), so which version a row belongs to holds for the whole state, and a scope's
verdict on versions (`ScopeMasks`) picks its rows."""

_NAMES_CHUNK = re.compile(r"\bc\.")
"""A condition that reads the chunk row itself (`c.`) is judged in SQL, chunk by chunk."""


@dataclass(frozen=True)
class PgPostings:
    """The postings of one state of `chunk_terms` (`changes`), by term, row numbers in the
    database's chunk id order."""

    changes: int
    chunks: float
    tokens: float
    chunk_ids: list[str]
    lengths: np.ndarray  # float64, tokens a row
    terms: dict[str, int]
    starts: np.ndarray  # int64, (terms + 1) offsets into rows / counts
    rows: np.ndarray  # int32, ascending within a term
    counts: np.ndarray  # float64, occurrences of the term in the row
    owners: np.ndarray  # int64, each row's place in `versions` (-1: no chunk row)
    versions: dict[tuple[str, int], int]  # (document id, version) -> place
    languages: np.ndarray  # object, each row's chunk language (None: no chunk row)
    places: dict[str, int]  # chunk id -> row
    row_versions: np.ndarray  # int64, each row's chunk version (-1: no chunk row)

    @classmethod
    def read(cls, db: Any) -> PgPostings:
        """The current state, from `db` (a kb.postgres.PgConnection to the registry)."""
        result = db.execute(_READ).fetchall()
        changes, chunks, tokens = int(result[0][0]), float(result[0][1]), float(result[0][2])
        rows = [r for r in result if r[3] is not None]
        return cls.of(
            changes,
            chunks,
            tokens,
            [(r[3], r[4]) for r in rows],
            [(r[5], r[6], r[7]) for r in rows],
        )

    @classmethod
    def of(
        cls,
        changes: int,
        chunks: float,
        tokens: float,
        rows: Sequence[tuple[str, str]],
        owners: Sequence[tuple[str | None, int | None, str | None]] = (),
    ) -> PgPostings:
        """Postings of (chunk id, space-separated terms) rows, in the given order, and each
        row's (document id, version, language) (None where it has no chunk row)."""
        versions: dict[tuple[str, int], int] = {}
        owned = np.full(len(rows), -1, dtype=np.int64)
        row_versions = np.full(len(rows), -1, dtype=np.int64)
        languages = np.full(len(rows), None, dtype=object)
        for row, (document_id, version, language) in enumerate(owners):
            if document_id is not None:
                owned[row] = versions.setdefault((document_id, int(version)), len(versions))
                row_versions[row] = int(version)
                languages[row] = language
        vocabulary: dict[str, int] = {}
        numbered: list[list[int]] = []
        lengths = np.zeros(len(rows), dtype=np.float64)
        for row, (_, text) in enumerate(rows):
            words = text.split(" ") if text else []
            lengths[row] = len(words)
            numbered.append([vocabulary.setdefault(w, len(vocabulary)) for w in words if w])
        sizes = np.fromiter((len(n) for n in numbered), dtype=np.int64, count=len(numbered))
        term_of = np.fromiter(
            (t for n in numbered for t in n), dtype=np.int64, count=int(sizes.sum())
        )
        row_of = np.repeat(np.arange(len(rows), dtype=np.int64), sizes)
        # One key per (term, row): sorted, its runs are each term's rows in ascending order
        # and their lengths the occurrences.
        keys, counts = np.unique(term_of * max(len(rows), 1) + row_of, return_counts=True)
        term_ids = keys // max(len(rows), 1)
        starts = np.searchsorted(term_ids, np.arange(len(vocabulary) + 1))
        return cls(
            changes=changes,
            chunks=chunks,
            tokens=tokens,
            chunk_ids=[r[0] for r in rows],
            lengths=lengths,
            terms=vocabulary,
            starts=starts.astype(np.int64),
            rows=(keys % max(len(rows), 1)).astype(np.int32),
            counts=counts.astype(np.float64),
            owners=owned,
            versions=versions,
            languages=languages,
            places={r[0]: row for row, r in enumerate(rows)},
            row_versions=row_versions,
        )

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """Rows holding `term` (ascending) and its occurrences in each."""
        index = self.terms.get(term)
        if index is None:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float64)
        begin, end = self.starts[index], self.starts[index + 1]
        return self.rows[begin:end], self.counts[begin:end]

    def top(self, frequencies: Mapping[str, int], limit: int) -> list[tuple[str, float]]:
        """(chunk id, BM25) of the `limit` best rows holding any of the terms of
        `frequencies` (term -> chunks holding it, `lexical_terms`), best first, equal scores
        in chunk id order: kb.lexical_pg._TOP_MATCHES's rows, exhaustively scored."""
        if not frequencies or not self.chunk_ids:
            return []
        average = max(self.tokens / max(self.chunks, 1.0), 1e-9)
        scores = np.zeros(len(self.chunk_ids), dtype=np.float64)
        for term in sorted(frequencies, key=lambda t: t.encode()):
            rows, counts = self.postings(term)
            if len(rows) == 0:
                continue
            df = frequencies[term]
            idf = max(math.log((self.chunks - df + 0.5) / (df + 0.5)), 1e-6)
            scores[rows] += (idf * counts * _NUMERATOR) / (
                counts + K1 * (_FREE + (B * self.lengths[rows]) / average)
            )
        candidates = np.flatnonzero(scores)  # every matching row scores above zero
        values = scores[candidates]
        if len(candidates) > limit:
            cut = np.partition(values, len(values) - limit)[len(values) - limit]
            keep = values >= cut
            candidates, values = candidates[keep], values[keep]
        order = np.lexsort((candidates, -values))[:limit]
        return [(self.chunk_ids[candidates[i]], float(values[i])) for i in order]


class ScopeMasks:
    """Which rows of a PgPostings a scope condition lets through, per registry generation.

    The condition (kb.retrieve.Scope.sql and the lexical search's own, on documents `d` and
    versions `v`) is evaluated by PostgreSQL, once per (generation, condition, parameters),
    over the versions (7,885 at 100,000 chunks, against a join of every candidate chunk
    per search); a row passes when its version does. The registry's generation ticks on
    every change (a publication changes a version's status without touching any term),
    so a verdict is used only under the generation it was read at."""

    def __init__(self, db: Any, kept: int = 32) -> None:
        self.db = db
        self.kept = kept
        self._masks: dict[tuple, np.ndarray] = {}
        self._lock = threading.Lock()

    @staticmethod
    def judged(condition: str) -> bool:
        """Whether `condition` can be judged by version (it does not read the chunk row)."""
        return _NAMES_CHUNK.search(condition) is None

    def rows(
        self, postings: PgPostings, generation: int, condition: str, params: Sequence[object]
    ) -> np.ndarray:
        """A boolean per row of `postings`: its version passes `condition` (on `d`, `v`)."""
        key = (postings.changes, id(postings), generation, condition, tuple(params))
        with self._lock:
            mask = self._masks.get(key)
        if mask is not None:
            return mask
        by_kind = KINDS.passing(self.db, generation, condition, params, postings.changes)
        if by_kind is not None:  # judged on the ~40 kinds of version (kb.pg_version_kinds)
            passing: Sequence[tuple[str, int]] = list(zip(*by_kind, strict=True))
        else:
            passing = self.db.execute(
                "SELECT v.document_id, v.version FROM versions v "
                f"JOIN documents d ON d.document_id = v.document_id WHERE {condition}",
                list(params),
            ).fetchall()
        verdicts = np.zeros(len(postings.versions) + 1, dtype=bool)  # the last: no chunk row
        for document_id, version in passing:
            place = postings.versions.get((document_id, int(version)))
            if place is not None:
                verdicts[place] = True
        mask = verdicts[postings.owners]
        with self._lock:
            if len(self._masks) >= self.kept:
                self._masks.clear()
            self._masks[key] = mask
        return mask


class PostingsMirror:
    """The latest PgPostings of one base, rebuilt when the counter moves on.

    `connect` opens a connection of the builder's own (the search's connection is shared
    with other threads, and a build must not hold it for seconds)."""

    def __init__(self, db: Any, connect: Callable[[], Any] | None) -> None:
        self.db = db
        self.connect = connect
        self._postings: PgPostings | None = None
        self._building = False
        self._failed_at = -math.inf
        self._lock = threading.Lock()

    def current(self, changes: int, chunks: float) -> PgPostings | None:
        """The copy of state `changes`, or None (the caller searches in SQL) while the
        copy of that state is being built."""
        with self._lock:
            postings = self._postings
            if postings is not None and postings.changes == changes:
                return postings
            if self._building or time.monotonic() - self._failed_at < RETRY_SECONDS:
                return None
            self._building = True
        if chunks <= SYNC_CHUNKS or self.connect is None:
            self._build(None)
            with self._lock:
                postings = self._postings
            return postings if postings is not None and postings.changes == changes else None
        threading.Thread(target=self._build, args=(self.connect,), daemon=True).start()
        return None

    def wait(self, timeout: float = 60.0) -> None:
        """Until no build runs (tests, benchmarks that want the copy in place)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._building:
                    return
            time.sleep(0.01)

    def _build(self, connect: Callable[[], Any] | None) -> None:
        started = time.perf_counter()
        try:
            db = connect() if connect is not None else self.db
            try:
                postings = PgPostings.read(db)
            finally:
                if connect is not None:
                    db.close()
        except Exception:
            logger.warning("lexical postings not copied; searching in SQL", exc_info=True)
            with self._lock:
                self._building = False
                self._failed_at = time.monotonic()
            return
        with self._lock:
            self._postings = postings
            self._building = False
        logger.info(
            "lexical postings copied: %d chunks, %d terms in %.2f s",
            len(postings.chunk_ids),
            len(postings.terms),
            time.perf_counter() - started,
        )
