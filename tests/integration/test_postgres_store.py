"""The shared store's foundation, end to end: server, pgvector extension and Python driver.

`tools/postgres.sh` (`make postgres`) starts PostgreSQL 15 with pgvector and prints how to set
`KB_DATABASE_URL`; `.ci/run` does the same, so in CI (env CI set) a missing URL is a failure,
not a skip. The table is a TEMP one: each connection has its own, and nothing is left behind.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

pytestmark = pytest.mark.integration

DIM = 384  # the packaged embedding model's dimension
ROWS = 60
GROUPS = ("retail", "private")


@pytest.fixture(scope="module")
def conn():
    url = os.environ.get("KB_DATABASE_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("KB_DATABASE_URL is unset in CI: .ci/run should have run tools/postgres.sh")
        pytest.skip("KB_DATABASE_URL is unset: start a server with `make postgres` and export it")
    import psycopg
    from pgvector.psycopg import register_vector

    with psycopg.connect(url, autocommit=True) as connection:
        register_vector(connection)
        yield connection


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


def test_filtered_nearest_neighbours_through_an_hnsw_index(conn) -> None:
    rng = np.random.default_rng(14)
    vectors = [unit(rng.standard_normal(DIM)) for _ in range(ROWS)]
    groups = [GROUPS[i % 2] for i in range(ROWS)]
    query = unit(rng.standard_normal(DIM))
    # The two closest rows of all: 9 is "private" and nearer still, 8 is "retail". A "retail"
    # reader must get 8 first and never see 9.
    vectors[9] = unit(query + 0.01 * rng.standard_normal(DIM))
    vectors[8] = unit(query + 0.05 * rng.standard_normal(DIM))
    assert groups[9] == "private" and groups[8] == "retail"

    conn.execute(
        f"CREATE TEMP TABLE chunks (id integer PRIMARY KEY, access_group text NOT NULL,"
        f" embedding vector({DIM}) NOT NULL)"
    )
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO chunks (id, access_group, embedding) VALUES (%s, %s, %s)",
            [(i, groups[i], vectors[i]) for i in range(ROWS)],
        )
    conn.execute("CREATE INDEX chunks_hnsw ON chunks USING hnsw (embedding vector_cosine_ops)")
    # Force the index (the planner would scan 60 rows directly) and let it search them all,
    # so its answer must be the exact one; strict_order keeps the filter from starving the
    # result (pgvector 0.8's iterative scans).
    conn.execute("SET enable_seqscan = off")
    conn.execute("SET hnsw.ef_search = 100")
    conn.execute("SET hnsw.iterative_scan = strict_order")

    sql = "SELECT id FROM chunks WHERE access_group = %s ORDER BY embedding <=> %s LIMIT 5"
    plan = "\n".join(row[0] for row in conn.execute("EXPLAIN " + sql, ("retail", query)))
    assert "chunks_hnsw" in plan, plan

    got = [row[0] for row in conn.execute(sql, ("retail", query))]

    allowed = [i for i in range(ROWS) if groups[i] == "retail"]
    cosine_distance = {i: 1.0 - float(np.dot(vectors[i], query)) for i in allowed}
    expected = sorted(allowed, key=cosine_distance.__getitem__)[:5]
    assert got == expected
    assert got[0] == 8 and 9 not in got

    unfiltered = [
        row[0]
        for row in conn.execute("SELECT id FROM chunks ORDER BY embedding <=> %s LIMIT 2", (query,))
    ]
    assert unfiltered == [9, 8]


def test_the_column_keeps_the_model_dimension(conn) -> None:
    import psycopg

    conn.execute(f"CREATE TEMP TABLE dims (embedding vector({DIM}))")
    with pytest.raises(psycopg.errors.DataException, match="expected 384 dimensions"):
        conn.execute("INSERT INTO dims VALUES (%s)", (np.ones(DIM - 1, dtype=np.float32),))


def test_a_pinned_question_reads_each_chunk_once_per_generation(tmp_path, database_url) -> None:
    """kb.registry on PostgreSQL: during a question (one_generation) a chunk read once is
    not read again; a write ticks the generation, and the next read sees the new metadata."""
    from kb.registry import Registry
    from tests.conftest import drop_postgres, postgres_settings
    from tests.integration.test_registry_backends import CARD, add, info

    settings = postgres_settings(tmp_path / "kb", database_url)
    registry = Registry(settings.registry_path)
    try:
        add(registry, info("cards"), CARD)
        statements: list[str] = []
        execute = registry.db.execute

        def counting(sql, *args):  # type: ignore[no-untyped-def]
            statements.append(sql)
            return execute(sql, *args)

        registry.db.execute = counting
        ids = ["cards:v1:0", "cards:v1:1", "nowhere:v1:0"]
        unpinned = registry.chunks_by_id(ids)
        assert len(statements) == 3  # chunks, documents, versions
        with registry.one_generation():
            assert registry.chunks_by_id(ids) == unpinned
            read = len(statements)
            assert registry.chunks_by_id(ids[:2]) == unpinned  # kept: nothing read
            assert registry.chunks_by_id(ids) == unpinned  # the missing id read again
            assert len(statements) == read + 1  # chunks only: no row, nothing more
            generation = registry.index_generation()
            with registry.transaction():
                registry.db.execute("UPDATE documents SET title = 'Cards, new title'")
                registry.set_index_generation(generation + 1)
            renamed = registry.chunks_by_id(ids[:1])
            assert renamed["cards:v1:0"].document.title == "Cards, new title"
        registry.db.execute = execute
    finally:
        registry.close()
        drop_postgres(settings)
