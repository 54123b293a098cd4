"""Lexical search on PostgreSQL: the same BM25 over the same tokens as kb.lexical's FTS5.

Why our tokens and not PostgreSQL's text search configurations: the tokens decide what a
question matches, and they must be the same on both backends (jieba for Chinese, our stop
words and stemmer for English, Traditional folded to Simplified; kb.lexical.tokenize). They
are stored space-separated as on SQLite, and the 'simple' configuration only splits on the
spaces and lower-cases (our tokens are lower-case already): `tsv` is a generated column over
them with a GIN index, so `tsv @@ to_tsquery('simple', 'a | b')` finds the candidates through
the index, and the filters (groups, dates, versions) are the same SQL join as on SQLite.

Why real BM25 rather than `ts_rank_cd`: FTS5 ranks by Okapi BM25, and retrieval is fused
from ranks, so the same scores keep the two backends' answers the same. BM25 needs, besides
the term frequencies a tsvector holds (its positions), each chunk's length and each term's
document frequency over the whole index. Statement-level triggers keep those statistics as
rows change (`lexical_terms`: chunks per term, also the spelling vocabulary; `lexical_stats`:
chunk and token totals and a change counter), so a search reads them by key instead of
scanning the index (`ts_stat` would), whichever code path wrote the terms. The constants
and the IDF floor are FTS5's (k1 1.2, b 0.75, an IDF of at most 0 counts as 1e-6).

At scale a common word matches a third of all chunks, and scoring each of them is what cost
time (1.3 s a search at 100,000 chunks). `PgLexicalIndex._best` scores the chunks of the
question's rarest words first and stops where a max-score bound proves the rest cannot
enter the best 400, or at `SCORED_LIMIT` chunks.

What differs from FTS5, measured on the golden set (see the registry task's report): ties
are broken by chunk id (FTS5 breaks them by rowid, insertion order), and a tsvector keeps at
most 256 positions of a term and none past position 16,383, which only a chunk far longer
than ours would reach.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections.abc import Sequence
from typing import Any

from kb.lexical import in_scope
from kb.lexical_pg_postings import PgPostings, PostingsMirror, ScopeMasks

K1 = 1.2
B = 0.75
_CANDIDATES = 400  # as kb.lexical: the best matches the filters then run on
CANDIDATE_BUDGET = 8000
"""How many chunks the first pass of the max-score cut scores at most (`_best`)."""
SCORED_LIMIT = 8000
"""How many chunks a search scores at most (`_best`): the chunks of the question's rarest
terms. Scoring costs ~10-20 us a chunk, so 8,000 keeps an uncached search near 70 ms at
100,000 chunks; both at 8,000 (one pass) was the best of the settings measured there
(eval/reports/postgres-scale.md): a second exact pass cost more than it saved."""

GIN_INDEX = (
    "CREATE INDEX IF NOT EXISTS chunk_terms_tsv ON chunk_terms USING GIN (tsv) "
    "WITH (fastupdate = off)"
)
"""The lexical index. `fastupdate = off`: with PostgreSQL's default a GIN index queues new
entries in a pending list that every search then reads through, until a VACUUM (at 100,000
chunks autovacuum waits for ~20,000 new rows) merges them. Measured on a grown 100,000-chunk
base: 4,069 pending entries (484 pages) made each token's lookup ~2.4 ms, `readable()` 20 ms
an ask against 10 ms with the list merged. An ingest writes its entries at once instead
(eval.scale drops the index while it bulk-loads and builds it again, as for HNSW)."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS chunk_terms (
    chunk_id TEXT NOT NULL,
    terms TEXT NOT NULL,
    length INTEGER GENERATED ALWAYS AS
        (coalesce(array_length(string_to_array(terms, ' '), 1), 0)) STORED,
    tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', terms)) STORED
);
CREATE INDEX IF NOT EXISTS chunk_terms_by_chunk ON chunk_terms (chunk_id);
{gin_index};
CREATE TABLE IF NOT EXISTS lexical_terms (term TEXT PRIMARY KEY, chunks INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS lexical_stats (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    chunks INTEGER NOT NULL,
    tokens INTEGER NOT NULL,
    changes INTEGER NOT NULL
);
INSERT INTO lexical_stats (id, chunks, tokens, changes) VALUES (1, 0, 0, 0)
    ON CONFLICT (id) DO NOTHING;

CREATE OR REPLACE FUNCTION chunk_terms_statistics() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE lexical_stats SET chunks = chunks - s.n, tokens = tokens - s.t
            FROM (SELECT count(*) AS n, coalesce(sum(length), 0) AS t FROM removed) s;
        UPDATE lexical_terms l SET chunks = l.chunks - g.n
            FROM (SELECT u.lexeme, count(*) AS n FROM removed r, unnest(r.tsv) u
                  GROUP BY u.lexeme) g
            WHERE l.term = g.lexeme;
        DELETE FROM lexical_terms WHERE chunks <= 0;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE lexical_stats SET chunks = chunks + s.n, tokens = tokens + s.t
            FROM (SELECT count(*) AS n, coalesce(sum(length), 0) AS t FROM added) s;
        INSERT INTO lexical_terms (term, chunks)
            SELECT u.lexeme, count(*) FROM added a, unnest(a.tsv) u GROUP BY u.lexeme
            ON CONFLICT (term) DO UPDATE SET chunks = lexical_terms.chunks + excluded.chunks;
    END IF;
    UPDATE lexical_stats SET changes = changes + 1;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER chunk_terms_added AFTER INSERT ON chunk_terms
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION chunk_terms_statistics();
CREATE OR REPLACE TRIGGER chunk_terms_removed AFTER DELETE ON chunk_terms
    REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION chunk_terms_statistics();
CREATE OR REPLACE TRIGGER chunk_terms_changed AFTER UPDATE ON chunk_terms
    REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION chunk_terms_statistics();
"""
SCHEMA = SCHEMA.replace("{gin_index}", GIN_INDEX)
"""The lexical index's tables in the registry's schema (created with it, kb.registry)."""

# Candidates through the GIN index; each one's BM25 from its tsvector (term frequency: the
# number of positions; only the question's terms are unnested, picked out in C by giving
# them weight A and keeping that weight), its length and the stored document frequencies.
# Scored row by row (a scalar subquery), so the best 400 come from a top-N sort rather than
# a sort and grouping of every (chunk, term) pair: at 100,000 chunks a common word matches
# a third of them.
_TOP_MATCHES = f"""
WITH stats AS MATERIALIZED (
    SELECT chunks::float8 AS n, greatest(tokens::float8 / greatest(chunks, 1), 1e-9) AS avgdl
    FROM lexical_stats WHERE id = 1
), query AS MATERIALIZED (
    SELECT l.term,
        greatest(ln((s.n - l.chunks + 0.5::float8) / (l.chunks + 0.5::float8)), 1e-6::float8)
        AS idf
    FROM lexical_terms l, stats s WHERE l.term = ANY(?::text[])
)
SELECT t.chunk_id, (
    SELECT sum(
        q.idf * cardinality(u.positions) * {K1 + 1}::float8
        / (cardinality(u.positions)
           + {K1}::float8 * (1 - {B}::float8 + {B}::float8 * t.length / s.avgdl))
    )
    FROM unnest(ts_filter(setweight(t.tsv, 'A', ?::text[]), '{{a}}')) u
    JOIN query q ON q.term = u.lexeme
) AS score
FROM chunk_terms t, stats s
WHERE t.tsv @@ to_tsquery('simple', ?)
ORDER BY score DESC NULLS LAST, t.chunk_id
LIMIT ?
"""


def _quoted(token: str) -> str:
    """One operand of a tsquery: quoted, so no token is read as an operator."""
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def tsquery(tokens: Sequence[str]) -> str | None:
    """`'a' | 'b' | ...` over the distinct tokens (any of them matches, as FTS5's OR)."""
    unique = list(dict.fromkeys(t for t in tokens if t))
    return " | ".join(_quoted(t) for t in unique) if unique else None


def purge_terms(db: Any, chunk_ids: Sequence[str]) -> int:
    """Delete chunks' searchable tokens inside the caller's transaction; how many rows went.

    Unlike FTS5 there is no segment to merge: the rows, with their tsvector and GIN entries,
    are gone for every reader once the transaction commits. Their bytes are not: PostgreSQL
    marks deleted tuples dead and leaves them in the table's and the index's pages until a
    VACUUM makes that space reusable, and VACUUM does not overwrite it either (kb.registry's
    `purge_document` says what erases them)."""
    removed = 0
    for start in range(0, len(chunk_ids), 500):
        batch = list(chunk_ids[start : start + 500])
        marks = ",".join("?" * len(batch))
        removed += db.execute(
            f"DELETE FROM chunk_terms WHERE chunk_id IN ({marks})", batch
        ).rowcount
    return removed


def _prefix(terms: Sequence[str], frequencies: dict[str, int], budget: int) -> int:
    """How many of `terms` (rarest first) are held by at most `budget` chunks together
    (at least one)."""
    used, total = 1, frequencies[terms[0]]
    while used < len(terms) and total + frequencies[terms[used]] <= budget:
        total += frequencies[terms[used]]
        used += 1
    return used


def _live(drafts: bool) -> str:
    return "v.status IN ('current', 'draft')" if drafts else "v.status = 'current'"


class PgLexicalIndex:
    """BM25 search over the registry's `chunk_terms` table on PostgreSQL: kb.lexical's
    LexicalIndex (which hands a PostgreSQL connection to this class) with the same methods,
    arguments and results."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self._cache: dict[tuple[str, int, bool], list[tuple[str, float]]] = {}
        self._lock = threading.Lock()
        url, schema = getattr(db, "url", None), getattr(db, "schema", None)
        self.mirror = PostingsMirror(db, self._connector(url, schema))
        self.masks = ScopeMasks(db)

    @staticmethod
    def _connector(url: str | None, schema: str | None) -> Any:
        """How the postings' builder opens a connection of its own (None: it cannot)."""
        if url is None or schema is None:
            return None

        def connect() -> Any:
            from kb.postgres import PgConnection

            return PgConnection(url, schema)

        return connect

    mirrored = True
    """False always scores in SQL (eval.postgres_scale's comparisons); the in-memory
    postings (kb.lexical_pg_postings) give the exhaustive list."""

    prune = True
    """False scores every chunk holding any question word (eval.postgres_scale's
    comparison); the results are the same."""

    def _statistics(self, unique: Sequence[str]) -> tuple[int, float, dict[str, int]]:
        """The change counter (the cache's key), the chunk count and the document frequency
        of each of the tokens the index holds: one round trip."""
        changes, chunks, _, frequencies = self._state(unique)
        return changes, chunks, frequencies

    def _state(self, unique: Sequence[str]) -> tuple[int, float, int, dict[str, int]]:
        """`_statistics` and the registry's index generation (ScopeMasks' key), in one
        round trip."""
        rows = self.db.execute(
            "SELECT s.changes, s.chunks, l.term, l.chunks, "
            "(SELECT m.value FROM meta m WHERE m.key = 'index_generation') "
            "FROM lexical_stats s "
            "LEFT JOIN lexical_terms l ON l.term = ANY(?::text[]) WHERE s.id = 1",
            (list(unique),),
        ).fetchall()
        frequencies = {r[2]: int(r[3]) for r in rows if r[2] is not None}
        generation = int(rows[0][4]) if rows[0][4] is not None else 0
        return int(rows[0][0]), float(rows[0][1]), generation, frequencies

    def _postings(self, changes: int, chunks: float) -> PgPostings | None:
        """The in-memory postings of state `changes`, if in use and ready."""
        if not (self.mirrored and self.prune):
            return None
        return self.mirror.current(changes, chunks)

    def _scored(self, unique: list[str], matching: Sequence[str]) -> list[tuple[str, float]]:
        """The best BM25 matches (scored on all of `unique`) among chunks holding any of
        `matching`."""
        query = tsquery(matching)
        return [
            (r[0], float(r[1]))
            for r in self.db.execute(_TOP_MATCHES, (unique, unique, query, _CANDIDATES))
            if r[1] is not None  # a match on none of the tokens as we made them
        ]

    def _top(
        self, tokens: Sequence[str], query: str
    ) -> tuple[list[tuple[str, float]], PgPostings | None, int]:
        """The best BM25 matches of the tokens, cached until the terms change; the
        in-memory postings they came from (None: from SQL) and the registry's generation."""
        unique = list(dict.fromkeys(t for t in tokens if t))
        changes, chunks, generation, frequencies = self._state(unique)
        postings = self._postings(changes, chunks) if frequencies else None
        key = (query, changes, postings is not None)
        with self._lock:
            cached = self._cache.get(key)
        if cached is None:
            if postings is not None:
                cached = postings.top(frequencies, _CANDIDATES)
            else:
                cached = self._best(unique, chunks, frequencies) if frequencies else []
            with self._lock:
                if len(self._cache) > 32:
                    self._cache.clear()
                self._cache[key] = cached
        return cached, postings, generation

    def _best(
        self, unique: list[str], chunks: float, frequencies: dict[str, int]
    ) -> list[tuple[str, float]]:
        """The exact top `_CANDIDATES` by BM25 without scoring every chunk that holds a
        common word (max-score, Turtle and Flood 1995).

        A term adds at most `idf * (k1 + 1)` to a chunk's score. First only the chunks
        holding the question's rarest terms (together at most `CANDIDATE_BUDGET` chunks)
        are scored, on all the terms; the last of the best 400 sets a threshold. The
        commonest terms whose bounds together stay below it cannot lift a chunk that holds
        none of the others into the 400, so only chunks holding one of the others are
        candidates: if those are the terms already used the list is exact, otherwise one
        more query over them is (its threshold can only be higher).

        Past `SCORED_LIMIT` chunks the list is no longer exact: the chunks holding only the
        question's commonest words are left out, a cost cap (the report measures how often
        the top 10 still equals exhaustive scoring). Whenever the question's words are held
        by at most that many chunks together (every question on the sample base), or the
        bound proves the rest cannot enter, the list is exact."""
        present = sorted(frequencies, key=lambda t: (frequencies[t], t))
        if not self.prune:
            return self._scored(unique, present)
        bound = {
            t: (K1 + 1)
            * max(math.log((chunks - frequencies[t] + 0.5) / (frequencies[t] + 0.5)), 1e-6)
            for t in present
        }
        used = _prefix(present, frequencies, CANDIDATE_BUDGET)
        limit = _prefix(present, frequencies, SCORED_LIMIT)
        while True:
            best = self._scored(unique, present[:used])
            if used == len(present):
                return best
            threshold = best[-1][1] if len(best) >= _CANDIDATES else 0.0
            needed, below = len(present), 0.0
            while needed > 0 and below + bound[present[needed - 1]] < threshold * (1 - 1e-9):
                below += bound[present[needed - 1]]
                needed -= 1
            if needed <= used:
                return best
            if used >= limit:
                return best  # the rest hold only words too common to score every match of
            used = min(needed, limit)

    def _filtered(
        self,
        tokens: Sequence[str],
        query: str,
        condition: str,
        params: Sequence[object],
        k: int,
        language: str | None = None,
    ) -> list[tuple]:
        """(chunk id, version, score) of the best matches that `condition` (on `d` and `v`)
        lets through, in `language` if given: by the in-memory postings' versions and the
        scope's verdicts when the postings are in use (ScopeMasks), else in SQL."""
        top, postings, generation = self._top(tokens, query)
        if not top:
            return []
        if postings is not None and ScopeMasks.judged(condition):
            mask = self.masks.rows(postings, generation, condition, params)
            places = [(cid, postings.places.get(cid), score) for cid, score in top]
            rows = [
                (cid, int(postings.row_versions[row]), score)
                for cid, row, score in places
                if row is not None
                and mask[row]
                and (language is None or postings.languages[row] == language)
            ]
            return sorted(rows, key=lambda row: (-row[2], row[0]))[:k]
        score = dict(top)
        condition = f"({condition}) AND (? IS NULL OR c.language = ?)"
        found = in_scope(self.db, list(score), condition, [*params, language, language])
        return sorted(
            ((r[0], r[1], score[r[0]]) for r in found), key=lambda row: (-row[2], row[0])
        )[:k]

    def search(
        self,
        tokens: Sequence[str],
        k: int,
        allowed_sql: str,
        allowed_params: Sequence[object],
        language: str | None = None,
        drafts: bool = False,
    ) -> list[tuple[str, float]]:
        """(chunk id, BM25 score, higher is better) of live chunks passing the filter, as
        kb.lexical.LexicalIndex.search."""
        query = tsquery(tokens)
        if query is None:
            return []
        condition = f"{_live(drafts)} AND ({allowed_sql})"
        rows = self._filtered(tokens, query, condition, allowed_params, k, language)
        return [(chunk_id, score) for chunk_id, _, score in rows]

    def vocabulary(self) -> dict[str, int]:
        """Every indexed token with the number of chunks that contain it (for spelling)."""
        return {r[0]: int(r[1]) for r in self.db.execute("SELECT term, chunks FROM lexical_terms")}

    def chunk_count(self) -> int:
        """How many chunks the index holds (all versions), as kb.lexical."""
        return int(self.db.execute("SELECT chunks FROM lexical_stats WHERE id = 1").fetchone()[0])

    def readable(
        self,
        tokens: Sequence[str],
        allowed_sql: str,
        allowed_params: Sequence[object],
        drafts: bool = False,
    ) -> set[str]:
        """The `tokens` that occur in at least one current chunk passing the filter, as
        kb.lexical: one statement (a round trip, not one per token), a GIN lookup per
        token stopping at the first readable chunk found."""
        unique = list(dict.fromkeys(t for t in tokens if t))
        if not unique:
            return set()
        condition = f"{_live(drafts)} AND ({allowed_sql})"
        changes, chunks, generation, _ = self._state([])
        postings = self._postings(changes, chunks)
        if postings is not None and ScopeMasks.judged(condition):
            # Each token's rows in memory against the scope's verdicts: no statement.
            mask = self.masks.rows(postings, generation, condition, allowed_params)
            return {t for t in unique if mask[postings.postings(t)[0]].any()}
        rows = self.db.execute(
            f"""
            SELECT x.token FROM unnest(?::text[], ?::text[]) AS x(token, quoted)
            WHERE EXISTS (
                SELECT 1 FROM chunk_terms t
                JOIN chunks c ON c.chunk_id = t.chunk_id
                JOIN documents d ON d.document_id = c.document_id
                JOIN versions v ON v.document_id = c.document_id AND v.version = c.version
                WHERE t.tsv @@ to_tsquery('simple', x.quoted) AND {_live(drafts)}
                    AND ({allowed_sql})
            )
            """,
            (unique, [_quoted(t) for t in unique], *allowed_params),
        ).fetchall()
        return {r[0] for r in rows}

    def search_superseded(
        self,
        tokens: Sequence[str],
        k: int,
        allowed_sql: str,
        allowed_params: Sequence[object],
        as_of: dt.date | None = None,
    ) -> list[tuple[str, int, float]]:
        """(chunk id, version, BM25) of chunks of earlier versions of still-current
        documents, as kb.lexical.LexicalIndex.search_superseded."""
        query = tsquery(tokens)
        if query is None:
            return []
        day = (as_of or dt.date.today()).isoformat()
        condition = (
            "d.current_version IS NOT NULL AND (v.status = 'superseded' OR (v.status = 'current' "
            f"AND v.replaced_on IS NOT NULL AND v.replaced_on <= ?)) AND ({allowed_sql})"
        )
        return [
            (c, int(v), s)
            for c, v, s in self._filtered(tokens, query, condition, [day, *allowed_params], k)
        ]
