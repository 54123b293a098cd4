"""kb.pgvector_index: a reader's search is one round trip with the HNSW settings kept on its
own connection; a writer's settings last only for its transaction.

One small namespace for the module: 300 unit vectors, no registry rows (a search without a
filter reads chunk_vectors alone). The embedder is the real one, only for its name and
dimension (nothing is embedded).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from kb import pgvector_index
from kb.database import open_database
from kb.pgvector_index import PgVectorIndex, SearchRequest
from kb.registry import Registry
from kb.retrieve import Scope
from kb.types import Query
from tests.conftest import drop_postgres, postgres_settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def base(tmp_path_factory, database_url, embedder):
    settings = postgres_settings(tmp_path_factory.mktemp("vectors"), database_url)
    registry = Registry(settings.registry_path)
    rng = np.random.default_rng(14)
    vectors = rng.standard_normal((300, embedder.dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = [f"doc:v1:{n:03d}" for n in range(300)]
    writer = PgVectorIndex(registry.db, embedder)
    writer.db.execute("BEGIN IMMEDIATE")
    writer.add(ids, vectors)
    writer.db.execute("COMMIT")
    yield settings, registry, embedder, ids, vectors
    registry.close()
    drop_postgres(settings)


def _setting(db, name: str) -> str:
    return db.execute(f"SELECT current_setting('{name}')").fetchone()[0]


def test_a_reader_searches_in_one_round_trip_with_its_settings(base) -> None:
    settings, _, embedder, ids, vectors = base
    reader = PgVectorIndex(open_database(settings.registry_path), embedder)
    statements: list[str] = []
    execute = reader.db.execute

    def counting(sql, *args):  # type: ignore[no-untyped-def]
        statements.append(sql)
        return execute(sql, *args)

    prepare = reader.db.execute_prepared

    def counting_prepared(sql, *args):  # type: ignore[no-untyped-def]
        statements.append(sql)
        return prepare(sql, *args)

    reader.db.execute = counting  # observe what reaches the server
    reader.db.execute_prepared = counting_prepared
    query = vectors[7] + 0.01
    query /= np.linalg.norm(query)
    expected = [ids[i] for i in np.argsort(-(vectors @ query))[:5]]
    assert [c for c, _ in reader.search(query, 5)] == expected
    assert len(statements) == 2  # the settings once, then the query
    assert [c for c, _ in reader.search(query, 5)] == expected
    assert len(statements) == 3  # the settings hold: only the query
    assert _setting(execute.__self__, "hnsw.ef_search") == str(pgvector_index.EF_SEARCH)
    assert _setting(execute.__self__, "hnsw.iterative_scan") == "strict_order"
    assert len(reader.search(query, 250)) == 250  # k above ef_search: raised to k
    assert _setting(execute.__self__, "hnsw.ef_search") == "250"
    reader.db.execute = execute
    reader.db.execute_prepared = prepare
    reader.close()


def test_a_writers_settings_end_with_its_transaction(base) -> None:
    _, registry, embedder, ids, vectors = base
    db = registry.db
    before = _setting(db, "hnsw.ef_search")
    writer = PgVectorIndex(db, embedder)
    db.execute("BEGIN IMMEDIATE")
    hits = writer.search(vectors[3], 300)
    assert _setting(db, "hnsw.ef_search") == "300"
    db.execute("ROLLBACK")
    assert hits[0][0] == ids[3] and len(hits) == 300
    assert _setting(db, "hnsw.ef_search") == before


def test_a_batch_runs_on_two_connections_with_each_searchs_own_rows(base) -> None:
    settings, registry, embedder, _, vectors = base
    reader = PgVectorIndex(open_database(settings.registry_path), embedder)
    queries = [vectors[n] * 0.7 + vectors[n + 1] * 0.3 for n in (2, 40, 90, 200, 250)]
    sizes = (5, 9, 1, 0, 3)
    requests = [SearchRequest(q, k) for q, k in zip(queries, sizes, strict=True)]
    alone = [reader.search(r.vector, r.k) for r in requests]
    assert [len(rows) for rows in alone] == list(sizes)
    assert reader.search_many(requests) == alone  # in order, each its own rows
    assert reader._second is not None  # the batch's second half ran on a connection of its own
    assert reader._second.db.raw.info.backend_pid != reader.db.raw.info.backend_pid
    assert _setting(reader._second.db, "hnsw.iterative_scan") == "strict_order"
    assert reader.search_many([]) == []
    reader.close()

    writer = PgVectorIndex(registry.db, embedder)  # in a transaction: one connection only
    registry.db.execute("BEGIN IMMEDIATE")
    try:
        assert writer.search_many(requests) == alone
    finally:
        registry.db.execute("ROLLBACK")
    assert writer._second is None


def test_a_prefetched_search_is_taken_by_the_same_search_on_this_thread(base, monkeypatch) -> None:
    """`prefetch` runs the search on the second connection from a helper; this thread's
    next search of the same request takes its rows (none on its own connection), another
    request or another thread searches as before, and so does a stale prefetch."""
    from kb.side_threads import IdleHelpers

    settings, _, embedder, _, vectors = base
    monkeypatch.setattr(pgvector_index, "HELPERS", IdleHelpers(1))  # not the machine's load
    reader = PgVectorIndex(open_database(settings.registry_path), embedder)
    query = vectors[11] * 0.6 + vectors[12] * 0.4
    expected = reader.search(query, 4)
    lanes: list[object] = []
    run = reader._run

    def recording(lane, statement):  # type: ignore[no-untyped-def]
        lanes.append(lane)
        return run(lane, statement)

    monkeypatch.setattr(reader, "_run", recording)
    reader.prefetch(SearchRequest(query, 4))
    assert reader.search(query, 4) == expected
    assert lanes == [reader._second]  # the prefetch's statement only
    lanes.clear()
    reader.prefetch(SearchRequest(query, 4))
    assert reader.search(query, 3) == expected[:3]  # another request: searched here
    assert reader.search(query, 4) == expected  # the prefetch was dropped
    assert sum(lane is reader._main for lane in lanes) == 2  # (and the prefetch's)
    monkeypatch.setattr(pgvector_index, "PREFETCH_SECONDS", 0.0)
    reader.prefetch(SearchRequest(query, 4))
    lanes.clear()
    assert reader.search(query, 4) == expected
    assert any(lane is reader._main for lane in lanes)  # too old: searched again
    monkeypatch.setattr(pgvector_index, "HELPERS", IdleHelpers(0))  # no helper: nothing ahead
    reader.prefetch(SearchRequest(query, 4))
    assert not reader._ahead
    reader.close()


# ------------------------------------------------------------------ per-language indexes


def _registry_rows(db, ids: list[str], languages: list[str]) -> None:
    """One readable document, one current version, a chunk per id in the given language."""
    db.execute(
        "INSERT INTO documents (document_id, source_key, title, source_name, format, language, "
        "category, groups_json, created_at, updated_at) VALUES ('doc', 'doc', 'Doc', 'doc.md', "
        "'md', 'en', 'policy', '[\"everyone\"]', '2026-01-01', '2026-01-01')"
    )
    db.execute(
        "INSERT INTO versions (document_id, version, content_hash, source_name, format, status, "
        "ingested_at, chunk_count, byte_size) VALUES ('doc', 1, 'h', 'doc.md', 'md', 'current', "
        "'2026-01-01', ?, 1)",
        (len(ids),),
    )
    db.executemany(
        "INSERT INTO chunks (chunk_id, document_id, version, position, kind, text, "
        "section_path_json, pages_json, language, content_hash, table_rows_json) VALUES "
        "(?, 'doc', 1, ?, 'text', 't', '[]', '[]', ?, 'h', '[]')",
        [(cid, n, lang) for n, (cid, lang) in enumerate(zip(ids, languages, strict=True))],
    )


def _plan(db, sql: str, args: list[object]) -> str:
    """The plan with sequential scans and sorts priced out: on 400 rows the planner would
    rather read the table, but which index it takes then is the one it can prove serves
    the query (the whole graph's `chunk_vectors_hnsw` when the predicate does not match)."""
    db.execute("BEGIN")
    try:
        db.execute("SET LOCAL enable_seqscan = off")
        db.execute("SET LOCAL enable_sort = off")
        return "\n".join(r[0] for r in db.execute("EXPLAIN " + sql, args).fetchall())
    finally:
        db.execute("ROLLBACK")


@pytest.fixture
def two_languages(tmp_path, database_url, embedder):
    """400 chunks, a fifth in Chinese, a tenth 'mixed' (no index of their own)."""
    settings = postgres_settings(tmp_path / "kb", database_url)
    registry = Registry(settings.registry_path)
    rng = np.random.default_rng(15)
    vectors = rng.standard_normal((400, embedder.dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = [f"doc:v1:{n:03d}" for n in range(400)]
    languages = ["zh" if n % 5 == 0 else "mixed" if n % 10 == 1 else "en" for n in range(400)]
    index = PgVectorIndex(registry.db, embedder)
    registry.db.execute("BEGIN IMMEDIATE")
    _registry_rows(registry.db, ids, languages)
    index.add(ids, vectors)  # after the chunk rows, as ingest writes them
    registry.db.execute("COMMIT")
    registry.db.execute("ANALYZE chunk_vectors")
    yield settings, registry, index, ids, languages, vectors
    registry.close()
    drop_postgres(settings)


def test_a_language_search_uses_that_languages_own_index(two_languages) -> None:
    _, registry, index, ids, languages, vectors = two_languages
    stored = dict(registry.db.execute("SELECT chunk_id, language FROM chunk_vectors").fetchall())
    assert stored == dict(zip(ids, languages, strict=True))  # copied from the chunk rows
    query = vectors[10] * 0.6 + vectors[11] * 0.4
    query /= np.linalg.norm(query)
    condition, params = Scope.of(Query("x", as_of=dt.date(2026, 6, 1))).sql()
    for language in ("zh", "en", "mixed"):
        rows = [i for i, lang in enumerate(languages) if lang == language]
        exact = [ids[i] for i in sorted(rows, key=lambda i: -float(vectors[i] @ query))[:20]]
        for where, args in ((condition, params), (None, ())):
            found = index.search(query, 20, where, args, language)
            assert [c for c, _ in found] == exact, (language, where)
    sql, args = index._language_sql(query, 20, condition, params, "zh")
    plan = _plan(registry.db, sql, args)
    assert "chunk_vectors_hnsw_zh" in plan, plan
    sql, args = index._language_sql(query, 20, None, (), "en")
    assert "chunk_vectors_hnsw_en" in _plan(registry.db, sql, args)


def test_a_base_from_before_searches_as_before_until_upgraded(two_languages, embedder) -> None:
    _, registry, _, ids, languages, vectors = two_languages
    db = registry.db
    for language in pgvector_index.LANGUAGES:
        db.execute(f"DROP INDEX chunk_vectors_hnsw_{language}")
    db.execute("ALTER TABLE chunk_vectors DROP COLUMN language")  # as made before
    old = PgVectorIndex(db, embedder)
    assert not old.by_language
    query = vectors[20]
    zh = [i for i, lang in enumerate(languages) if lang == "zh"]
    exact = [ids[i] for i in sorted(zh, key=lambda i: -float(vectors[i] @ query))[:10]]
    assert [c for c, _ in old.search(query, 10, None, (), "zh")] == exact
    old.add([ids[0]], vectors[:1])  # still writes without the column

    assert pgvector_index.index_by_language(db)
    assert not pgvector_index.index_by_language(db)  # once
    upgraded = PgVectorIndex(db, embedder)
    assert upgraded.by_language
    stored = dict(db.execute("SELECT chunk_id, language FROM chunk_vectors").fetchall())
    assert stored == dict(zip(ids, languages, strict=True))
    names = {
        r[0]
        for r in db.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = "
            "'chunk_vectors' AND schemaname = current_schema()"
        )
    }
    assert {"chunk_vectors_hnsw", "chunk_vectors_hnsw_en", "chunk_vectors_hnsw_zh"} <= names
    assert [c for c, _ in upgraded.search(query, 10, None, (), "zh")] == exact
