"""How close a question is to the whole part of the knowledge base its asker may read.

e5 scores some questions high against everything ("What's the interest rate on your car
loans?" is near every rates passage), so the top passage's similarity means more next to
the question's mean similarity to every readable passage: the `domain` evidence of
kb.confidence. The mean of the cosine similarities to unit vectors is the similarity to
their mean vector, so the mean vector of each (index generation, scope) is computed once
and every question then costs one dot product (eval/answerability.py measured the signal
held out before it was shipped: refusal P/R 0.47/0.61 -> 0.53/0.68).

The same scopes give the `restricted_gap` evidence (`DomainSimilarity.restricted_gap`): how
much nearer the question is to a passage the asker may NOT read than to the best one they
may read, each unreadable passage compared with readable ones in its own language (e5's
bias toward the question's language hid the English fraud playbook from Chinese
questions). A large gap says the answer lives in a document they cannot see, so the answer
refuses with the ordinary "not covered, escalate" wording: which document, and what it
says, is never shown (measured held out: refusal P/R 0.53/0.68 -> 0.55/0.75; language by
language, with kb.confidence's heading_coverage, 0.55/0.75 -> 0.58/0.79).

The scope is what the asker may read on the answer's day: their groups, live versions (in
a reviewer's preview, drafts lined up as if approved), in force on that date. A category
filter is left out: the signal is calibrated on the whole readable base, and a question far
from one category is still inside the bank's subjects.
"""

from __future__ import annotations

import struct
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from kb.access import RESTRICTED_READER
from kb.lexical_pg_postings import ScopeMasks
from kb.pg_version_kinds import KINDS
from kb.pgvector_index import PgVectorIndex, SearchRequest
from kb.types import EVERYONE

if TYPE_CHECKING:
    from kb.index import FaissIndex
    from kb.retrieve import HybridRetriever, Scope, _Catalog

_MEANS_KEPT = 256
"""Mean vectors kept (one per generation and scope; a scope differs by groups, date and
preview). 256 of 384 floats are 400 KB."""


_VERDICTS_KEPT = 16
"""Version verdicts kept (`DomainSimilarity._verdicts`): a mask of ~7,900 booleans each at
100,000 chunks."""


def _stored_rows(index: FaissIndex) -> np.ndarray:
    """FAISS's own flat storage as a (count, dimension) float32 array: a view, not a copy."""
    import faiss

    count, dimension = len(index), index.embedder.dimension
    flat = faiss.downcast_index(index.store.index)
    return faiss.rev_swig_ptr(flat.get_xb(), count * dimension).reshape(count, dimension)


def faiss_mean(index: FaissIndex, positions: np.ndarray) -> np.ndarray | None:
    """The mean of the stored vectors at `positions` (read on FAISS's own storage, only
    those rows copied), None when there are none."""
    if len(positions) == 0 or len(index) == 0:
        return None
    return _stored_rows(index)[positions].mean(axis=0, dtype=np.float64).astype(np.float32)


_BLOCK_ROWS = 4096
"""Rows converted to float64 at a time by `RunSums.of` (6 MB of float32: the conversion
stays in cache; 1,024 and 16,384 were slower at 100,000 chunks)."""


@dataclass(frozen=True)
class RunSums:
    """The float64 sum of the stored vectors of each run of consecutive FAISS positions
    owned by one document version, for one index generation.

    A scope reads whole versions (kb.retrieve._Catalog.allowed: one verdict per version),
    and a version's chunks are added to the index together, so the positions a scope may
    read are whole runs: its mean vector is the sum of those runs' sums over their count,
    a product of 7,885 run sums at 100,000 chunks (~2-5 ms) where `faiss_mean` copied the
    ~95,000 readable rows (~150 MB) of every new scope (56-100 ms, 580 ms once, on a
    group's first question). Summed as `faiss_mean` sums, in float64 in position order
    within a run; only the order in which the runs' sums are added differs, far below
    float32's precision (identical float32 means for five scopes on the 100k base)."""

    starts: np.ndarray
    """The first position of each run (ascending)."""
    lengths: np.ndarray
    sums: np.ndarray
    """(runs, dimension) float64."""

    @classmethod
    def of(cls, stored: np.ndarray, owners: np.ndarray) -> RunSums:
        """Sums of `stored`'s rows by runs of equal `owners` (one owner per row): blocks
        of `_BLOCK_ROWS` rows cast to float64 and reduced segment by segment (numpy's
        `reduceat` casting row by row itself took 260-1,000 ms at 100,000 chunks, this
        ~110 ms, once per generation)."""
        count = len(owners)
        starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]]) if count else owners
        segments = np.union1d(starts, np.arange(0, count, _BLOCK_ROWS))
        pieces = np.empty((len(segments), stored.shape[1]), dtype=np.float64)
        for begin in range(0, count, _BLOCK_ROWS):
            end = min(begin + _BLOCK_ROWS, count)
            low, high = np.searchsorted(segments, [begin, end])
            block = stored[begin:end].astype(np.float64)
            pieces[low:high] = np.add.reduceat(block, segments[low:high] - begin, axis=0)
        if count:
            sums = np.add.reduceat(pieces, np.searchsorted(segments, starts), axis=0)
        else:
            sums = pieces
        lengths = np.diff(np.r_[starts, count]).astype(np.int64)
        return cls(starts=starts.astype(np.int64), lengths=lengths, sums=sums)

    def mean(self, positions: np.ndarray) -> np.ndarray | None:
        """The mean of the rows at `positions` (distinct), the float32 `faiss_mean` gives,
        when they are whole runs; None when they are not (the caller then reads the rows)."""
        count = int(self.lengths.sum())
        if len(positions) == 0 or count == 0:
            return None
        chosen = np.zeros(count, dtype=np.int64)
        chosen[positions] = 1
        inside = np.add.reduceat(chosen, self.starts)
        whole = inside == self.lengths
        if not np.all(whole | (inside == 0)):
            return None
        total = whole.astype(np.float64) @ self.sums
        return (total / len(positions)).astype(np.float32)


def pgvector_mean(index: PgVectorIndex, condition: str, params: list[object]) -> np.ndarray | None:
    """`avg(embedding)` over the chunks `condition` (kb.retrieve.Scope.sql, on documents `d`,
    versions `v` and chunks `c`) allows, in one statement; None when none do."""
    row = index.db.execute(
        "SELECT avg(cv.embedding) FROM chunk_vectors cv "
        "JOIN chunks c ON c.chunk_id = cv.chunk_id "
        "JOIN documents d ON d.document_id = c.document_id "
        "JOIN versions v ON v.document_id = c.document_id AND v.version = c.version "
        f"WHERE {condition}",
        params,
    ).fetchone()
    if row is None or row[0] is None:
        return None
    return np.asarray(row[0].to_numpy(), dtype=np.float32)


_SUMS_AGGREGATE = (
    "CREATE OR REPLACE AGGREGATE pg_temp.kb_vector_sums(vector) "
    "(SFUNC = vector_accum, STYPE = float8[], INITCOND = '{0}')"
)
"""pgvector's own `avg(vector)` without its final division: the float64 state [count, sum of
each dimension] its `vector_accum` keeps. In the session's temporary schema: nothing is
added to the base, and each connection makes it once (`VersionSums.read`)."""

_SUMS_WORK_MEM = "64MB"
"""Memory for VersionSums.read's GROUP BY: 7,885 states of 385 doubles at 100,000 chunks
held 33 MB; at the default 4 MB the hash spilled 80 MB to disk."""

_GENERATION_SQL = "(SELECT value FROM meta WHERE key = 'index_generation')"


def _float8_array(data: bytes) -> np.ndarray:
    """A one-dimensional float8[] from PostgreSQL's binary array format (`array_send`):
    20 header bytes (dimensions, null flag, element type, length, lower bound), then each
    element as its byte length and a big-endian double."""
    (dimensions,) = struct.unpack_from(">i", data, 0)
    (count,) = struct.unpack_from(">i", data, 12)
    if dimensions != 1:
        raise ValueError("expected a one-dimensional float8 array")
    items = np.frombuffer(data, np.dtype([("n", ">i4"), ("x", ">f8")]), count=count, offset=20)
    return items["x"].astype(np.float64)


@dataclass(frozen=True)
class VersionSums:
    """PostgreSQL's counterpart of RunSums: the float64 count and sum of the stored vectors
    of each document version and chunk language, read at one registry generation.

    A scope reads whole versions (its condition is on `d` and `v`), so its mean vector is
    the sum of the passing versions' sums over their count: one statement judging the
    7,885 versions and a (rows x 384) sum at 100,000 chunks, where `pgvector_mean`
    averaged the ~95,000 readable vectors of every new scope (250-460 ms, a group's first
    question). The sums are pgvector's own (`vector_accum`, float64, as `avg` sums); only
    the order in which the rows' sums are added differs, far below float32's precision,
    and the mean is divided and rounded to float32 as `avg` does. By language too, so the
    restricted gap's languages of a scope's unreadable passages come from the same rows
    (`languages`) instead of another join over every chunk (~100 ms a new scope)."""

    generation: int
    places: dict[tuple[str, int], int]
    """Each version's place (0 .. versions - 1): where its verdict stands in a mask."""
    owners: np.ndarray
    """(rows,) int: each row's version place (a version has a row per chunk language)."""
    languages: tuple[str, ...]
    """Each row's chunk language."""
    counts: np.ndarray
    """(rows,) float64: each row's number of vectors."""
    sums: np.ndarray
    """(rows, dimension) float64."""

    @classmethod
    def read(cls, index: PgVectorIndex) -> VersionSums:
        """One statement (one snapshot): the generation and every version's sums by
        language (~0.4-0.5 s at 100,000 chunks, once per generation). Each state travels
        as `array_send`'s bytes: ~3 million doubles parsed by numpy rather than as text."""
        db = index.db
        db.execute(_SUMS_AGGREGATE)
        sql = (
            f"SELECT {_GENERATION_SQL}, c.document_id, c.version, c.language, "
            "array_send(pg_temp.kb_vector_sums(cv.embedding)) FROM chunk_vectors cv "
            "JOIN chunks c ON c.chunk_id = cv.chunk_id "
            "GROUP BY c.document_id, c.version, c.language"
        )
        if hasattr(db, "fetch_binary"):  # the states as bytes, the hash kept in memory
            rows = db.fetch_binary(sql, work_mem=_SUMS_WORK_MEM)
        else:
            rows = db.execute(sql).fetchall()
        if not rows:
            generation = db.execute(f"SELECT {_GENERATION_SQL}").fetchone()[0]
            empty = np.zeros((0, index.dimension))
            return cls(int(generation or 0), {}, np.zeros(0, np.int64), (), np.zeros(0), empty)
        states = np.stack([_float8_array(bytes(row[4])) for row in rows])
        places: dict[tuple[str, int], int] = {}
        owners = [places.setdefault((row[1], int(row[2])), len(places)) for row in rows]
        return cls(
            generation=int(rows[0][0] or 0),
            places=places,
            owners=np.asarray(owners, dtype=np.int64),
            languages=tuple(row[3] for row in rows),
            counts=states[:, 0],
            sums=states[:, 1:],
        )

    def verdicts(self, documents: Sequence[str], versions: Sequence[int]) -> np.ndarray:
        """A boolean per version place: the version is one of the given (documents[i],
        versions[i]). A mask rather than a set of ~7,000 tuples kept alive per scope: those
        made the garbage collector's full passes (~170 ms at 100,000 chunks) come sooner."""
        mask = np.zeros(len(self.places), dtype=bool)
        places = self.places
        for document, version in zip(documents, versions, strict=True):
            place = places.get((document, int(version)))
            if place is not None:
                mask[place] = True
        return mask

    def mean(self, verdicts: np.ndarray) -> np.ndarray | None:
        """The mean vector of the vectors of the versions `verdicts` passes (None: none)."""
        chosen = verdicts[self.owners].astype(np.float64)
        count = float(chosen @ self.counts)
        if count == 0:
            return None
        return ((chosen @ self.sums) / count).astype(np.float32)

    def languages_of(self, verdicts: np.ndarray) -> tuple[str, ...]:
        """The languages of the indexed chunks of the versions `verdicts` passes, sorted
        (`pgvector_languages`)."""
        rows = np.flatnonzero(verdicts[self.owners])
        return tuple(sorted({self.languages[n] for n in rows}))

    def passes(self, verdicts: np.ndarray, document_id: str, version: int) -> bool:
        """Whether `verdicts` passes this version (False for a version without vectors)."""
        place = self.places.get((document_id, version))
        return place is not None and bool(verdicts[place])


def passing_versions(
    index: PgVectorIndex,
    condition: str,
    params: list[object],
    generation: int | None = None,
) -> tuple[int, list[str], list[int]]:
    """The registry generation and the versions `condition` (on `d` and `v` only) passes
    (their documents and numbers), in one statement (as two arrays in binary where the
    connection can: 7,000 rows read as rows took ~10 ms more on the client). Given the
    `generation` it is wanted at, judged on the kinds of version of that generation when
    the base is there (kb.pg_version_kinds)."""
    db = index.db
    if generation is not None:
        by_kind = KINDS.passing(db, generation, condition, params)
        if by_kind is not None:  # judged on the ~40 kinds of version (kb.pg_version_kinds)
            return generation, by_kind[0], by_kind[1]
    sql = (
        f"SELECT {_GENERATION_SQL}, array_agg(v.document_id), array_agg(v.version) "
        f"FROM versions v JOIN documents d ON d.document_id = v.document_id WHERE {condition}"
    )
    if hasattr(db, "fetch_binary"):
        row = db.fetch_binary(sql, params)[0]
    else:
        row = db.execute(sql, params).fetchone()
    return int(row[0] or 0), list(row[1] or []), [int(v) for v in row[2] or []]


def pgvector_languages(
    index: PgVectorIndex, condition: str, params: list[object]
) -> tuple[str, ...]:
    """The languages of the indexed chunks `condition` (as in `pgvector_mean`) allows, in one
    statement; () when it allows none."""
    rows = index.db.execute(
        "SELECT DISTINCT c.language FROM chunk_vectors cv "
        "JOIN chunks c ON c.chunk_id = cv.chunk_id "
        "JOIN documents d ON d.document_id = c.document_id "
        "JOIN versions v ON v.document_id = c.document_id AND v.version = c.version "
        f"WHERE {condition}",
        params,
    ).fetchall()
    return tuple(sorted(row[0] for row in rows))


def language_gap(
    outside: Mapping[str, float], inside: Mapping[str, float], best_inside: float
) -> float:
    """The restricted gap from the best similarities by language: each language's best
    unreadable passage against the best readable passage in the SAME language, or, when the
    asker reads nothing in that language, against the best readable one in any; 0.0 when no
    unreadable passage is nearer.

    e5 puts a question nearer to passages in its own language whatever they say (the
    retriever's `crosslingual_offset`), by about 0.08 for the golden set's Chinese
    questions, so a Chinese question about the English fraud playbook was always nearer to
    some readable Chinese passage: comparing like with like puts both maxima on one scale.
    A passage in the other language is never compared with one in the question's own."""
    gaps = [best - inside.get(language, best_inside) for language, best in outside.items()]
    return max([0.0, *gaps])


class DomainSimilarity:
    """The question's mean similarity to the passages a scope may read (`similarity`), with
    the scope's mean vector kept per index generation: a new generation (an ingest, a
    delete, a publication) computes it again, and so does every other scope."""

    def __init__(self, retriever: HybridRetriever, kept: int = _MEANS_KEPT) -> None:
        self.retriever = retriever
        self.kept = kept
        self._means: OrderedDict[tuple[int, int, Scope], np.ndarray | None] = OrderedDict()
        self._outside: OrderedDict[tuple[int, int, Scope], Any] = OrderedDict()
        self._run_sums: tuple[FaissIndex, np.ndarray, RunSums] | None = None
        self._version_sums: tuple[PgVectorIndex, VersionSums] | None = None
        self._passing: OrderedDict[tuple, tuple[VersionSums, np.ndarray | None]] = OrderedDict()
        self._lock = threading.Lock()

    def _kept(
        self, cache: OrderedDict, key: tuple, compute: Callable[[], Any], kept: int = 0
    ) -> Any:
        """`cache[key]`, computed outside the lock the first time (the oldest entries go
        when more than `kept`, by default the instance's, are held)."""
        with self._lock:
            if key in cache:
                cache.move_to_end(key)
                return cache[key]
        value = compute()
        with self._lock:
            cache[key] = value
            while len(cache) > (kept or self.kept):
                cache.popitem(last=False)
        return value

    def mean_vector(self, scope: Scope) -> np.ndarray | None:
        """The mean vector of the passages `scope` may read (None: it may read none)."""
        kb = self.retriever.kb
        index = kb.index  # loads a newer generation first, if one was published
        narrowed = self.scope_of(scope)
        generation = kb.loaded_generation
        key = (id(index), generation, narrowed)
        return self._kept(self._means, key, lambda: self._compute(index, narrowed, generation))

    def similarity(self, text: str, scope: Scope) -> float:
        """Mean cosine similarity of `text` to every passage `scope` may read (0.0 if none):
        one dot product with the cached mean vector."""
        mean = self.mean_vector(scope)
        if mean is None:
            return 0.0
        return float(np.asarray(self.retriever._query_vector(text), dtype=np.float32) @ mean)

    def restricted_gap(self, text: str, scope: Scope) -> float:
        """How much nearer `text` is to the passages `scope` may not read (live, in force,
        every category) than to those it may, language by language (`language_gap`); 0.0
        when not nearer, or the scope excludes nothing (a restricted reader reads
        everything).

        What the scope excludes is kept per generation and scope: FAISS keeps the unreadable
        positions by language and reads the question's similarities to every chunk (the
        retriever keeps them for the ask); PostgreSQL keeps their languages and runs two
        one-row pgvector searches per language (HNSW, approximate like every dense search
        there), side by side on two connections (PgVectorIndex.search_many), plus one in
        any language only for a language the asker reads nothing in, none for a base
        without restricted documents."""
        narrowed = self.scope_of(scope)
        if RESTRICTED_READER in narrowed.groups:
            return 0.0
        everything = replace(narrowed, groups=frozenset({EVERYONE, RESTRICTED_READER}))
        kb = self.retriever.kb
        index = kb.index
        key = (id(index), kb.loaded_generation, narrowed)
        if isinstance(index, PgVectorIndex):
            inside, inside_params = narrowed.sql()
            every, every_params = everything.sql()
            condition = f"({every}) AND NOT ({inside})"
            params = [*every_params, *inside_params]
            generation = key[1]
            languages = self._kept(
                self._outside, key, lambda: self._languages(index, generation, condition, params)
            )
            if not languages:
                return 0.0
            vector = self.retriever._query_vector(text)
            # The best readable passage in force, by language: the first such row of the
            # retriever's own search of this question, when one of its rows is
            # (PgVectorIndex.kept_rows); otherwise a one-row search beside the unreadable
            # ones (search_many). A readable score counts only for a language with an
            # unreadable one.
            kept = self._kept_best(index, generation, narrowed, vector, languages)
            searched = [language for language in languages if language not in kept]
            found = index.search_many(
                [SearchRequest(vector, 1, condition, params, lang) for lang in languages]
                + [SearchRequest(vector, 1, inside, inside_params, lang) for lang in searched]
            )
            outside = {
                language: rows[0][1]
                for language, rows in zip(languages, found[: len(languages)], strict=True)
                if rows
            }
            if not outside:
                return 0.0
            best_inside = dict(kept)
            for language, rows in zip(searched, found[len(languages) :], strict=True):
                if rows:
                    best_inside[language] = rows[0][1]
            inside_by_language = {
                language: best_inside[language]
                for language in languages
                if language in best_inside and language in outside
            }
            # The best readable passage in any language counts only for a language the
            # asker reads nothing in (language_gap): searched only then.
            overall = None
            if any(language not in inside_by_language for language in outside):
                everywhere = index.search(vector, 1, inside, inside_params, None)
                overall = everywhere[0][1] if everywhere else None
            return language_gap(outside, inside_by_language, overall or 0.0)
        if len(index) == 0:
            return 0.0
        catalog = self.retriever._current_catalog()
        positions = self._kept(
            self._outside, key, lambda: self._outside_by_language(catalog, narrowed, everything)
        )
        if not positions:
            return 0.0
        scores = self.retriever._scores(text, index)
        readable = catalog.allowed(narrowed)
        best_inside = float(scores[readable].max()) if len(readable) else 0.0
        inside_by_language = {}
        for language in positions:
            same = catalog.allowed(narrowed, language)
            if len(same):
                inside_by_language[language] = float(scores[same].max())
        outside = {language: float(scores[p].max()) for language, p in positions.items()}
        return language_gap(outside, inside_by_language, best_inside)

    @staticmethod
    def _outside_by_language(
        catalog: _Catalog, narrowed: Scope, everything: Scope
    ) -> dict[str, np.ndarray]:
        """The FAISS positions `everything` may read and `narrowed` may not, by language."""
        outside = np.setdiff1d(
            catalog.allowed(everything), catalog.allowed(narrowed), assume_unique=True
        )
        languages = catalog.position_language[outside]
        return {str(language): outside[languages == language] for language in np.unique(languages)}

    @staticmethod
    def scope_of(scope: Scope) -> Scope:
        """The scope the mean is taken over: current versions the asker may read on the
        day, every category (see the module docstring)."""
        return replace(scope, category=None, include_inactive=False)

    def _compute(
        self, index: FaissIndex | PgVectorIndex, scope: Scope, generation: int = -1
    ) -> np.ndarray | None:
        if isinstance(index, PgVectorIndex):
            condition, params = scope.sql()
            versions = self._verdicts(index, generation, condition, params)
            if versions is not None:
                sums = self._version_sums_of(index, generation)
                if sums is not None:
                    return sums.mean(versions)
            # A write between the reads, or a condition on the chunk row: averaged in SQL.
            return pgvector_mean(index, condition, params)
        catalog = self.retriever._current_catalog()
        positions = catalog.allowed(scope)
        owners = catalog.position_document
        if len(positions) == 0 or len(owners) != len(index):
            return faiss_mean(index, positions)
        mean = self._sums_of(index, owners).mean(positions)
        return mean if mean is not None else faiss_mean(index, positions)

    def _languages(
        self, index: PgVectorIndex, generation: int, condition: str, params: list[object]
    ) -> tuple[str, ...]:
        """The languages of the indexed chunks `condition` allows: from the generation's
        version sums when the condition is judged by version, else in SQL."""
        versions = self._verdicts(index, generation, condition, params)
        if versions is not None:
            sums = self._version_sums_of(index, generation)
            if sums is not None:
                return sums.languages_of(versions)
        return pgvector_languages(index, condition, params)

    def _verdicts(
        self, index: PgVectorIndex, generation: int, condition: str, params: list[object]
    ) -> np.ndarray | None:
        """Which versions of the generation's VersionSums `condition` passes, kept per
        (generation, condition, parameters); None when it reads the chunk row, or the base
        had moved on to another generation when the sums or the verdicts were read."""
        if not ScopeMasks.judged(condition):
            return None
        sums = self._version_sums_of(index, generation)
        if sums is None:
            return None

        def judge() -> tuple[VersionSums, np.ndarray | None]:
            judged_at, documents, versions = passing_versions(index, condition, params, generation)
            if judged_at != generation:
                return sums, None
            return sums, sums.verdicts(documents, versions)

        key = (id(index), generation, condition, tuple(params))
        kept = self._kept(self._passing, key, judge, _VERDICTS_KEPT)
        if kept[0] is not sums:  # places of other sums (read again): judged anew, not kept
            kept = judge()
        return kept[1]

    def _kept_best(
        self,
        index: PgVectorIndex,
        generation: int,
        narrowed: Scope,
        vector: np.ndarray,
        languages: tuple[str, ...],
    ) -> dict[str, float]:
        """By language, the similarity of the nearest passage in force `narrowed` may read,
        read off the retriever's kept rows for this vector (its scope: the same with
        inactive versions, every category); a language without such a row is left out."""
        wide, wide_params = replace(narrowed, include_inactive=True).sql()
        found: dict[str, float] = {}
        readable = None
        for language in languages:
            rows = index.kept_rows(vector, wide, wide_params, language)
            if not rows:
                continue
            if readable is None:
                inside, inside_params = narrowed.sql()
                readable = self._verdicts(index, generation, inside, inside_params)
                sums = self._version_sums_of(index, generation)
                if readable is None or sums is None:
                    return {}
            for row in rows:
                if sums.passes(readable, row.document_id, row.version):
                    found[language] = row.similarity
                    break
        return found

    def _version_sums_of(self, index: PgVectorIndex, generation: int) -> VersionSums | None:
        """The version sums of `generation` (only the latest kept: 24 MB at 100,000 chunks),
        read the first time a scope of the generation asks; None when the base had moved
        on to another generation by the time they were read (the caller then averages in
        SQL)."""
        with self._lock:
            kept = self._version_sums
        if kept is not None and kept[0] is index and kept[1].generation == generation:
            return kept[1]
        sums = VersionSums.read(index)
        with self._lock:
            self._version_sums = (index, sums)
        return sums if sums.generation == generation else None

    def _sums_of(self, index: FaissIndex, owners: np.ndarray) -> RunSums:
        """The run sums of this index and catalog, i.e. of this generation (only the latest
        kept: 24 MB at 100,000 chunks), computed the first time a scope of the generation
        asks (an ingest, a delete or a publication loads a new index and catalog)."""
        with self._lock:
            kept = self._run_sums
        if kept is not None and kept[0] is index and kept[1] is owners:
            return kept[2]
        sums = RunSums.of(_stored_rows(index), owners)
        with self._lock:
            self._run_sums = (index, owners, sums)
        return sums
