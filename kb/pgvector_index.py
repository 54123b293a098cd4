"""The dense index on PostgreSQL: chunk vectors in a pgvector table beside the registry.

The counterpart of kb.index.FaissIndex for `KB_STORE=postgres`. Why a table in the
registry's own schema rather than files or a store of its own (langchain-postgres'
PGVectorStore keeps its own tables and connection): the registry and the vectors then commit
in ONE transaction on one connection, so an ingest that fails halfway leaves neither, a
delete leaves no vector behind, and every replica sees the same state the moment it commits.
There are no generations to publish and no files to copy between machines.

    chunk_vectors(chunk_id text PRIMARY KEY, language text, embedding vector(<dimension>))

with an HNSW index on inner product (`vector_ip_ops`: the vectors are unit length, so the
inner product is the cosine similarity FAISS reports), and one partial HNSW index per
language (`WHERE language = 'zh'`, LANGUAGES). Why: an ask searches each language apart
(kb.retrieve.dense_both_languages), and Chinese is a sixth of the rows. Through the one
index, pgvector walks the whole graph's nearest neighbours until 50 pass the language
filter: near an English question that was thousands of tuples (20 ms a search on average,
79 at worst, at 100,000 chunks) and, with the walk cut short, a recall of 0.89 against exact
order. A language's own graph holds only its rows (eval/reports/postgres-scale.md, fourth
pass). `language` is the chunk's own (chunks.language), copied when the vector is stored. Filters (access groups, dates,
drafts, language) are SQL conditions on the registry's tables joined in the same query, so a
restricted chunk never leaves the database for a reader outside its groups. pgvector 0.8's
iterative scan (`hnsw.iterative_scan = strict_order`) keeps walking the graph until k rows
pass the filter, so a selective filter still returns k results, in exact distance order.
Both settings are `SET LOCAL`: they hold for the one search's transaction only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import numpy as np

from kb.errors import KBError
from kb.ports import Embedder
from kb.side_threads import HELPERS

logger = logging.getLogger(__name__)

EF_SEARCH = 100
"""Candidates HNSW keeps while searching (pgvector's default is 40): the recall of the
approximate search against exact order, measured on the golden set (README)."""

MAX_SCAN_TUPLES = 50_000
"""How far an iterative scan may walk for a selective filter before giving up (default
20 000): a reader of a small group in a large base still gets k results."""


HNSW_INDEX = (
    "CREATE INDEX IF NOT EXISTS chunk_vectors_hnsw ON chunk_vectors "
    "USING hnsw (embedding vector_ip_ops)"
)
"""The search index; eval.scale drops it while it bulk-loads synthetic vectors and makes it
again once (inserting into HNSW vector by vector was nine tenths of growing a base)."""

LANGUAGES = ("en", "zh")
"""The languages with an HNSW index of their own: those kb.retrieve searches apart. A chunk
of another language (`mixed`) is found through HNSW_INDEX, as is a search in a language
without an index of its own (the planner then filters that index's walk)."""


def language_indexes() -> list[str]:
    """One partial HNSW index per language of LANGUAGES (eval.scale drops and makes them
    with HNSW_INDEX). The planner uses one when the query's condition implies its predicate:
    `search` writes `cv.language = '<language>'` as a literal for that reason."""
    return [
        f"CREATE INDEX IF NOT EXISTS chunk_vectors_hnsw_{language} ON chunk_vectors "
        f"USING hnsw (embedding vector_ip_ops) WHERE language = '{language}'"
        for language in LANGUAGES
    ]


def index_by_language(db: Any) -> bool:
    """Give a base made before the per-language indexes its `language` column and indexes
    (False: it had them already). Not run when a base opens: at 100,000 chunks it took ~45 s
    (the column 2 s, the three HNSW indexes 3 + 20 + 18 s) and locks the table meanwhile, so
    an operator runs it once, between ingests, and restarts the app (an open index keeps
    searching the old way: `by_language` is read when it opens):

        python -c "from kb.config import Settings; from kb.database import open_database; \
            from kb.pgvector_index import index_by_language; \
            print(index_by_language(open_database(Settings().registry_path)))"

    The one index is dropped while the column is filled and made again: updating 100,000
    rows would insert each into it anew."""
    if has_language_column(db):
        return False
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("DROP INDEX IF EXISTS chunk_vectors_hnsw")
        db.execute("ALTER TABLE chunk_vectors ADD COLUMN language TEXT")
        db.execute(
            "UPDATE chunk_vectors cv SET language = c.language FROM chunks c "
            "WHERE c.chunk_id = cv.chunk_id"
        )
        db.execute("SET LOCAL maintenance_work_mem = '1GB'")
        for statement in [HNSW_INDEX, *language_indexes()]:
            db.execute(statement)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return True


def has_language_column(db: Any) -> bool:
    """Whether chunk_vectors has the `language` column (made since the per-language
    indexes; a base from before searches through HNSW_INDEX alone until upgraded)."""
    row = db.execute(
        "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = 'chunk_vectors' AND column_name = 'language'"
    ).fetchone()
    return row is not None


def _settings(ef_search: int, local: bool) -> str:
    """One statement for the three HNSW settings (`local`: for the transaction only)."""
    scope = "true" if local else "false"
    return (
        f"SELECT set_config('hnsw.ef_search', '{int(ef_search)}', {scope}), "
        f"set_config('hnsw.iterative_scan', 'strict_order', {scope}), "
        f"set_config('hnsw.max_scan_tuples', '{int(MAX_SCAN_TUPLES)}', {scope})"
    )


@dataclass(frozen=True)
class SearchRequest:
    """One search of `PgVectorIndex.search_many`: the arguments of `PgVectorIndex.search`."""

    vector: np.ndarray
    k: int
    condition: str | None = None
    params: Sequence[object] = ()
    language: str | None = None


@dataclass(frozen=True)
class _Statement:
    """A search as SQL: what `_searching` runs on a lane."""

    sql: str
    args: list[object]
    ef_search: int
    prepared: bool
    kept: tuple | None = None
    """The key its rows are kept under (`kept_rows`): a language search with a condition,
    whose rows also name each chunk's document version."""


@dataclass(frozen=True)
class KeptRow:
    """One row of a recent search (`PgVectorIndex.kept_rows`), with its chunk's version."""

    chunk_id: str
    similarity: float
    document_id: str
    version: int


PREFETCH_SECONDS = 2.0
"""How long a prefetched search's rows may wait for the search that takes them
(`PgVectorIndex.prefetch`): within one ask; older ones are searched again."""


def _request_key(request: SearchRequest) -> tuple:
    """What makes two search requests the same search."""
    vector = np.asarray(request.vector, dtype=np.float32).tobytes()
    return (vector, int(request.k), request.condition, tuple(request.params), request.language)


KEPT_SEARCHES = 16
"""Recent language searches whose rows are kept (a few concurrent asks' worth; 50 rows each)."""


@dataclass
class _Lane:
    """A reader's connection with the HNSW settings last set on its session (None: not
    yet). Its lock serialises statements on it: a connection runs one at a time."""

    db: Any
    lock: threading.RLock
    settings: tuple[int, int] | None = None


class PgVectorIndex:
    """Chunk vectors by chunk id in PostgreSQL, searchable by inner product.

    `db` is a kb.postgres.PgConnection to the registry's schema: the writer's own connection
    inside its transaction (KnowledgeBase.write), or a reader's connection. A reader's
    connection must be this index's alone (see `_searching`)."""

    def __init__(self, db: Any, embedder: Embedder, create: bool = True) -> None:
        from pgvector.psycopg import register_vector

        self.db = db
        self.embedder = embedder
        self.dimension = embedder.dimension
        self._lock = threading.RLock()
        self._main = _Lane(db, self._lock)
        self._second: _Lane | None = None
        self._second_failed = False
        self._kept: OrderedDict[tuple, list[KeptRow]] = OrderedDict()
        self._kept_lock = threading.Lock()
        self._ahead: dict[int, tuple[tuple, float, Future]] = {}  # by thread (`prefetch`)
        register_vector(db.raw)
        if create:
            self._create()
        self._check_model()
        self.by_language = has_language_column(db)
        self._chunks_found = False

    # ------------------------------------------------------------------ schema

    def _create(self) -> None:
        """Table, HNSW index and the model it was built with, once, under the schema's write
        lock (two replicas starting at once would both pass IF NOT EXISTS). Once made, one
        lookup without the lock: a replica starting while another writes does not wait."""
        if self.db.execute("SELECT to_regclass('vector_model')").fetchone()[0] is not None:
            return
        owned = not self.db.in_transaction
        if owned:
            self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS chunk_vectors (chunk_id TEXT PRIMARY KEY, "
                f"language TEXT, embedding vector({int(self.dimension)}) NOT NULL)"
            )
            self.db.execute(HNSW_INDEX)
            for statement in language_indexes():
                self.db.execute(statement)
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS vector_model (id INTEGER PRIMARY KEY CHECK (id = 1), "
                "model TEXT NOT NULL, dimension INTEGER NOT NULL)"
            )
            self.db.execute(
                "INSERT INTO vector_model (id, model, dimension) VALUES (1, ?, ?) "
                "ON CONFLICT (id) DO NOTHING",
                (self.embedder.name, self.dimension),
            )
            if owned:
                self.db.execute("COMMIT")
        except BaseException:
            if owned:
                self.db.execute("ROLLBACK")
            raise

    def _check_model(self) -> None:
        row = self.db.execute("SELECT model, dimension FROM vector_model WHERE id = 1").fetchone()
        if row is not None and (row[0] != self.embedder.name or int(row[1]) != self.dimension):
            raise KBError(
                f"this knowledge base was built with the '{row[0]}' embedding model but "
                f"'{self.embedder.name}' is configured; set KB_EMBEDDING_MODEL={row[0]} or rebuild"
            )

    # ------------------------------------------------------------------ the FaissIndex surface

    def __len__(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM chunk_vectors").fetchone()[0])

    @property
    def ids(self) -> list[str]:
        """Every indexed chunk id, in id order (FAISS gives position order; nothing here
        depends on positions)."""
        return [r[0] for r in self.db.execute("SELECT chunk_id FROM chunk_vectors ORDER BY 1")]

    def add(
        self,
        ids: Sequence[str],
        vectors: np.ndarray,
        texts: Sequence[str] = (),
        metadatas: Sequence[dict] = (),
    ) -> None:
        """Store `vectors` under `ids` (texts and metadata live in the registry already; the
        arguments are FaissIndex's, whose LangChain store takes them)."""
        if not len(ids):
            return
        if vectors.shape != (len(ids), self.dimension):
            raise ValueError(
                f"expected {len(ids)} vectors of {self.dimension}, got {vectors.shape}"
            )
        vectors32 = [np.asarray(v, dtype=np.float32) for v in vectors]
        if not (self.by_language and self._has_chunks()):
            self.db.executemany(
                "INSERT INTO chunk_vectors (chunk_id, embedding) VALUES (?, ?) "
                "ON CONFLICT (chunk_id) DO UPDATE SET embedding = excluded.embedding",
                list(zip(ids, vectors32, strict=True)),
            )
            return
        # The chunk's language from its registry row, written before its vector (same
        # transaction); a vector without a chunk row gets none (found by HNSW_INDEX only).
        self.db.executemany(
            "INSERT INTO chunk_vectors (chunk_id, language, embedding) VALUES "
            "(?, (SELECT c.language FROM chunks c WHERE c.chunk_id = ?), ?) "
            "ON CONFLICT (chunk_id) DO UPDATE SET embedding = excluded.embedding, "
            "language = excluded.language",
            [(cid, cid, v) for cid, v in zip(ids, vectors32, strict=True)],
        )

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            self.db.execute("DELETE FROM chunk_vectors WHERE chunk_id = ANY(?)", (list(ids),))

    def search(
        self,
        vector: np.ndarray,
        k: int,
        condition: str | None = None,
        params: Sequence[object] = (),
        language: str | None = None,
    ) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) of the k nearest chunks, best first.

        `condition` (with `params`) is a SQL condition on the registry's documents `d`, the
        chunk's versions row `v` and chunks `c` (kb.retrieve.Scope.sql); `language` keeps
        only chunks in that language. Without either, every indexed chunk is a candidate."""
        request = SearchRequest(vector, k, condition, params, language)
        ahead = self._take_prefetched(request)
        if ahead is not None:
            return ahead
        return self._run(self._main, self._statement(request))

    def prefetch(self, request: SearchRequest) -> None:
        """Start `request`'s search now on the second connection, from an idle helper, and
        return at once; this thread's next `search` of the same request takes its rows.

        Why: kb.retrieve's other-language search (`_with_other_language`: the question's
        rendering, one row) is known only after the fusion, and then ran as one more
        statement, ~3-4 ms of the server's CPU behind a round trip, in most asks. Started
        when the rendering's vector is known, it runs in PostgreSQL's own process while
        this one scores the lexical search and fuses. Nothing is started when no helper is
        idle or no core is likely free (kb.side_threads: under concurrent asks), nor inside
        a writer's transaction. Its rows are taken only by the thread that started it and
        within PREFETCH_SECONDS; a search not asked for is dropped (one statement's work)."""
        statement = self._statement(request)
        if statement is None or self.db.in_transaction or not HELPERS.spare():
            return
        second = self._second_lane()
        if second is None:
            return
        future = HELPERS.start(lambda: self._run(second, statement))
        if future is None:
            return
        thread = threading.get_ident()
        with self._kept_lock:
            self._ahead[thread] = (_request_key(request), time.monotonic(), future)

    def _take_prefetched(self, request: SearchRequest) -> list[tuple[str, float]] | None:
        """The rows of this thread's prefetched search of `request` (`prefetch`), or None."""
        if not self._ahead:
            return None
        with self._kept_lock:
            found = self._ahead.pop(threading.get_ident(), None)
        if found is None:
            return None
        key, started, future = found
        if key != _request_key(request) or time.monotonic() - started > PREFETCH_SECONDS:
            return None
        try:
            return future.result()
        except Exception:  # searched again on this thread's own lane, as without it
            logger.warning("a prefetched pgvector search failed", exc_info=True)
            return None

    def search_many(self, requests: Sequence[SearchRequest]) -> list[list[tuple[str, float]]]:
        """`search` for each request, in order, side by side on two connections.

        Why: an ask searches each language apart (kb.retrieve.dense_both_languages) and
        kb.domain searches the readable and the unreadable passages apart, each a few ms
        of PostgreSQL's own CPU behind one round trip. On one connection they run one
        after the other, however many cores the server has; here every other request
        runs on a second connection of this index's (opened at the first batch), from an
        idle helper thread when there is one (kb.side_threads), else after the first
        lane's on this thread (the two connections still serve concurrent asks apart).
        Inside a writer's transaction, or when the second connection cannot be opened,
        they run one after the other on this index's own connection: the same rows."""
        statements = [self._statement(request) for request in requests]
        second = None
        if len(statements) > 1 and not self.db.in_transaction:
            second = self._second_lane()
        if second is None:
            return [self._run(self._main, statement) for statement in statements]
        results: list[list[tuple[str, float]]] = [[] for _ in statements]
        lanes = (self._main, second)

        def lane_part(number: int) -> Any:
            def part() -> None:
                for at in range(number, len(statements), len(lanes)):
                    results[at] = self._run(lanes[number], statements[at])

            return part

        HELPERS.run([lane_part(n) for n in range(len(lanes))])
        return results

    def _statement(self, request: SearchRequest) -> _Statement | None:
        """The SQL of one search (None: k <= 0, nothing to search)."""
        k, condition, params, language = (
            int(request.k),
            request.condition,
            request.params,
            request.language,
        )
        if k <= 0:
            return None
        query = np.asarray(request.vector, dtype=np.float32)
        prepared = True  # no parameter whose type PostgreSQL cannot infer (`_searching`)
        kept = None
        if language in LANGUAGES and self.by_language:
            sql, args = self._language_sql(query, k, condition, params, language)
            if condition is not None:
                kept = (query.tobytes(), condition, tuple(params), language)
        elif condition is None and language is None:
            sql = (
                "SELECT chunk_id, embedding <#> ? AS distance FROM chunk_vectors "
                "ORDER BY embedding <#> ? LIMIT ?"
            )
            args: list[object] = [query, query, k]
        else:
            sql = (
                "SELECT cv.chunk_id, cv.embedding <#> ? AS distance FROM chunk_vectors cv "
                "JOIN chunks c ON c.chunk_id = cv.chunk_id "
                "JOIN documents d ON d.document_id = c.document_id "
                "JOIN versions v ON v.document_id = c.document_id AND v.version = c.version "
                f"WHERE ({condition or '1 = 1'}) AND (? IS NULL OR c.language = ?) "
                "ORDER BY cv.embedding <#> ? LIMIT ?"
            )
            args = [query, *params, language, language, query, k]
            prepared = False  # `? IS NULL`
        return _Statement(sql, args, min(1000, max(EF_SEARCH, k)), prepared, kept)

    def _run(self, lane: _Lane, statement: _Statement | None) -> list[tuple[str, float]]:
        """One search's rows as (chunk id, cosine similarity), best first."""
        if statement is None:
            return []
        rows = self._searching(
            statement.sql, statement.args, statement.ef_search, statement.prepared, lane
        )
        if statement.kept is not None:
            kept = [KeptRow(r[0], -float(r[1]), r[2], int(r[3])) for r in rows]
            with self._kept_lock:
                self._kept[statement.kept] = kept
                self._kept.move_to_end(statement.kept)
                while len(self._kept) > KEPT_SEARCHES:
                    self._kept.popitem(last=False)
        # `<#>` is the negative inner product (ascending order for the index).
        return [(r[0], -float(r[1])) for r in rows]

    def kept_rows(
        self, vector: np.ndarray, condition: str, params: Sequence[object], language: str
    ) -> list[KeptRow] | None:
        """The rows of the latest language search of this vector under this condition, in
        the order found (None: none kept). Why: kb.domain's one-row search for the best
        passage in force a reader may read is, when one of them is in force, the first
        such row of the retriever's own k=50 search in that language (a wider condition:
        inactive versions too). Both walk the same HNSW index with the same `ef_search`
        and the filter only drops rows from that walk, so the first row passing the
        narrower condition is the one its own search returns (430/430 golden pairs at
        100,000 chunks, eval/reports/postgres-scale.md)."""
        key = (np.asarray(vector, dtype=np.float32).tobytes(), condition, tuple(params), language)
        with self._kept_lock:
            return self._kept.get(key)

    def _second_lane(self) -> _Lane | None:
        """This index's second connection, opened the first time (None: its connection
        is not a kb.postgres.PgConnection, or opening failed once; searches then stay on
        the one connection)."""
        from kb.postgres import PgConnection

        with self._lock:
            if self._second is not None or self._second_failed:
                return self._second
            if not isinstance(self.db, PgConnection):
                self._second_failed = True
                return None
            try:
                from pgvector.psycopg import register_vector

                db = PgConnection(self.db.url, self.db.schema)
                register_vector(db.raw)
            except Exception:  # e.g. max_connections reached: one connection still serves
                logger.warning("a second pgvector connection could not be opened", exc_info=True)
                self._second_failed = True
                return None
            self._second = _Lane(db, threading.RLock())
            return self._second

    def similarity(self, vector: np.ndarray, chunk_ids: Sequence[str]) -> dict[str, float]:
        """Cosine similarity of `vector` to the given chunks (those indexed)."""
        if not chunk_ids:
            return {}
        rows = self.db.execute(
            "SELECT chunk_id, embedding <#> ? FROM chunk_vectors WHERE chunk_id = ANY(?)",
            (np.asarray(vector, dtype=np.float32), list(dict.fromkeys(chunk_ids))),
        ).fetchall()
        return {r[0]: -float(r[1]) for r in rows}

    def vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of the given chunks (FAISS's `reconstruct`)."""
        if not chunk_ids:
            return {}
        rows = self.db.execute(
            "SELECT chunk_id, embedding FROM chunk_vectors WHERE chunk_id = ANY(?)",
            (list(chunk_ids),),
        ).fetchall()
        return {r[0]: np.asarray(r[1].to_numpy(), dtype=np.float32) for r in rows}

    # ------------------------------------------------------------------ internals

    def _has_chunks(self) -> bool:
        """Whether the registry's chunks table is there to give a vector its language (an
        index used alone, without a registry, stores vectors without one). Kept once true."""
        if not self._chunks_found:
            found = self.db.execute("SELECT to_regclass('chunks')").fetchone()[0]
            self._chunks_found = found is not None
        return self._chunks_found

    @staticmethod
    def _language_sql(
        query: np.ndarray,
        k: int,
        condition: str | None,
        params: Sequence[object],
        language: str,
    ) -> tuple[str, list[object]]:
        """A search in one language through that language's own index. The language is a
        literal in the SQL, not a parameter: the planner picks a partial index only for a
        condition it can prove implies the index's predicate when it plans. (The connection
        binds parameters on the client, but a literal keeps that true on any cursor.)"""
        if condition is None:
            sql = (
                "SELECT chunk_id, embedding <#> ? AS distance FROM chunk_vectors "
                f"WHERE language = '{language}' ORDER BY embedding <#> ? LIMIT ?"
            )
            return sql, [query, query, k]
        sql = (
            "SELECT cv.chunk_id, cv.embedding <#> ? AS distance, c.document_id, c.version "
            "FROM chunk_vectors cv JOIN chunks c ON c.chunk_id = cv.chunk_id "
            "JOIN documents d ON d.document_id = c.document_id "
            "JOIN versions v ON v.document_id = c.document_id AND v.version = c.version "
            f"WHERE cv.language = '{language}' AND ({condition}) "
            "ORDER BY cv.embedding <#> ? LIMIT ?"
        )
        return sql, [query, *params, query, k]

    def _searching(
        self,
        sql: str,
        args: list[object],
        ef_search: int,
        prepared: bool = False,
        lane: _Lane | None = None,
    ) -> list[Any]:
        """Run one kNN query with this search's HNSW settings; `prepared`: on a reader's
        connection, bound on the server and prepared (PgConnection.execute_prepared: the
        query vector in binary, no parse or plan; the same rows).

        Inside a writer's transaction they are `SET LOCAL` (they end with it). Otherwise
        the connection is this index's alone (kb.store gives a reader's index a connection
        of its own), so they are set for the session, and again only when they change: a
        search is then one round trip instead of six (BEGIN, three SET LOCAL, the query,
        COMMIT), which at ~1 ms each on a busy machine was a fifth of a search's time.
        `lane`: the connection to run on (default: this index's own)."""
        lane = lane or self._main
        db = lane.db
        wanted = (int(ef_search), MAX_SCAN_TUPLES)
        with lane.lock:
            if db.in_transaction:
                db.execute(_settings(wanted[0], True))
                return db.execute(sql, args).fetchall()
            if lane.settings != wanted:
                db.execute(_settings(wanted[0], False))
                lane.settings = wanted
            if prepared and hasattr(db, "execute_prepared"):
                return db.execute_prepared(sql, args)
            return db.execute(sql, args).fetchall()

    def close(self) -> None:
        with self._lock:
            second, self._second = self._second, None
            self._second_failed = True  # no second connection after close
        if second is not None:
            second.db.close()
        self.db.close()
