"""kb.pgvector_index: a reader's search is one round trip with the HNSW settings kept on its
own connection; a writer's settings last only for its transaction.

One small namespace for the module: 300 unit vectors, no registry rows (a search without a
filter reads chunk_vectors alone). The embedder is the real one, only for its name and
dimension (nothing is embedded).
"""

from __future__ import annotations

import numpy as np
import pytest

from kb import pgvector_index
from kb.database import open_database
from kb.pgvector_index import PgVectorIndex
from kb.registry import Registry
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

    reader.db.execute = counting  # observe what reaches the server
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
