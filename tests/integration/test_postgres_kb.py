"""The knowledge base's write and read paths on PostgreSQL (pgvector), beside the local one.

One base per backend per module (three real files, the real model): ingest, filtered dense
search, hybrid retrieval, versions, delete and purge; a failure inside `write()` leaves
nothing; two KnowledgeBase objects on one database behave as two replicas. PgVectorIndex's
own surface is tested with exact vectors, without the model.
"""

from __future__ import annotations

import threading
import time
import types
from pathlib import Path

import numpy as np
import pytest

from ingest.pipeline import Upload, collect_files, ingest_uploads, purge_document
from kb.access import readable_sql
from kb.config import Settings
from kb.errors import KBError, KnowledgeBaseBusyError
from kb.pgvector_index import PgVectorIndex
from kb.retrieve import HybridRetriever, Scope
from kb.store import KnowledgeBase
from kb.types import EVERYONE, DocumentOptions, Query
from tests.conftest import drop_postgres, postgres_settings

pytestmark = pytest.mark.integration

GOOD = Path(__file__).resolve().parents[1] / "data" / "good"
PUBLIC = (GOOD / "procedure.docx", GOOD / "guide.md")
RESTRICTED = GOOD / "policy.pdf"
GROUP = "fraud-team"


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


# ------------------------------------------------------------------ PgVectorIndex alone


@pytest.fixture
def vector_db(tmp_path, database_url):
    from kb.database import open_database

    settings = postgres_settings(tmp_path / "kb", database_url)
    db = open_database(settings.registry_path)
    yield db
    db.close()
    drop_postgres(settings)


def test_vectors_are_added_searched_in_exact_order_and_deleted(vector_db) -> None:
    model = types.SimpleNamespace(name="exact-8", dimension=8)
    index = PgVectorIndex(vector_db, model)
    rng = np.random.default_rng(14)
    vectors = unit(rng.standard_normal((40, 8)))
    ids = [f"c{i:02d}" for i in range(40)]
    index.add(ids, vectors)
    assert len(index) == 40 and index.ids == sorted(ids)

    query = unit(rng.standard_normal(8))
    expected = sorted(range(40), key=lambda i: -float(vectors[i] @ query))[:5]
    found = index.search(query, 5)
    assert [cid for cid, _ in found] == [ids[i] for i in expected]
    assert [s for _, s in found] == pytest.approx([float(vectors[i] @ query) for i in expected])
    similarity = index.similarity(query, [ids[3], "missing"])
    assert similarity == {ids[3]: pytest.approx(float(vectors[3] @ query))}
    assert np.allclose(index.vectors([ids[7]])[ids[7]], vectors[7])

    index.delete([ids[expected[0]]])
    assert ids[expected[0]] not in [cid for cid, _ in index.search(query, 5)]
    with pytest.raises(ValueError, match="expected 2 vectors of 8"):
        index.add(["a", "b"], vectors[:3])
    # A base built with one model refuses another (the column's dimension, the model's name).
    with pytest.raises(KBError, match="'exact-8' embedding model"):
        PgVectorIndex(vector_db, types.SimpleNamespace(name="other", dimension=8))


def test_vectors_written_in_a_transaction_roll_back_with_it(vector_db) -> None:
    model = types.SimpleNamespace(name="exact-4", dimension=4)
    index = PgVectorIndex(vector_db, model)
    vector_db.execute("BEGIN IMMEDIATE")
    index.add(["kept-not"], unit(np.ones((1, 4))))
    assert len(index) == 1  # the writer sees its own rows
    vector_db.execute("ROLLBACK")
    assert len(index) == 0


# ------------------------------------------------------------------ one base per backend


@pytest.fixture(scope="module", params=["local", "postgres"])
def base(request, tmp_path_factory, embedder):
    """(settings, kb, retriever, report) with two public files and one restricted one."""
    root = tmp_path_factory.mktemp(request.param)
    if request.param == "local":
        settings = Settings(data_dir=root / "kb")
    else:
        settings = postgres_settings(root / "kb", request.getfixturevalue("database_url"))
    kb = KnowledgeBase(settings, embedder)
    report = ingest_uploads(kb, collect_files(list(PUBLIC)))
    restricted = ingest_uploads(kb, collect_files([RESTRICTED]), DocumentOptions(groups=(GROUP,)))
    yield settings, kb, HybridRetriever(kb, settings), report.files + restricted.files
    kb.close()
    if settings.uses_postgres:
        drop_postgres(settings)


def test_ingested_files_are_indexed(base) -> None:
    settings, kb, _, files = base
    assert [f.status.value for f in files] == ["added"] * 3
    chunks = sum(f.chunks for f in files)
    assert len(kb.index) == chunks
    assert kb.loaded_generation >= 1
    if settings.uses_postgres:
        assert isinstance(kb.index, PgVectorIndex)
        assert not settings.index_dir.exists()  # no FAISS files on a shared store


def test_a_restricted_document_never_reaches_an_outsider_and_k_results_still_come(base) -> None:
    _, _, retriever, files = base
    restricted = {f.document_id for f in files if f.source_name == RESTRICTED.name}
    question = "What does the policy say about reviewing accounts?"
    public_chunks = sum(f.chunks for f in files if f.document_id not in restricted)

    outsider = Scope.of(Query(text=question))
    dense = retriever.dense(question, outsider, 50)
    assert len(dense) == public_chunks  # every readable chunk, none of the others
    assert not {cid.split(":")[0] for cid, _ in dense} & restricted
    hits = retriever.retrieve(Query(text=question, k=5))
    assert len(hits) == 5
    assert not {h.chunk.document.document_id for h in hits} & restricted

    member = Scope.of(Query(text=question, groups=(GROUP,)))
    seen = {cid.split(":")[0] for cid, _ in retriever.dense(question, member, 50)}
    assert restricted <= seen


def test_dense_search_on_both_backends_is_exact_nearest_order(base) -> None:
    """On a small base HNSW (ef_search 100) must give the exact order: compare with the
    vectors' own inner products."""
    settings, kb, retriever, _ = base
    question = "how do I report a lost card"
    scope = Scope.of(Query(text=question))
    found = retriever.dense(question, scope, 5)
    vector = kb.embedder.embed_query(question)
    ids = [cid for cid, _ in found]
    if settings.uses_postgres:
        stored = kb.index.vectors(kb.index.ids)
    else:
        index = kb.index
        stored = {cid: index.store.index.reconstruct(i) for i, cid in enumerate(index.ids)}
    condition, params = readable_sql(scope.groups)
    readable = {
        r[0]
        for r in kb.registry.db.execute(
            f"SELECT c.chunk_id FROM chunks c JOIN documents d ON d.document_id = c.document_id "
            f"WHERE {condition}",
            params,
        )
    }
    exact = sorted((c for c in stored if c in readable), key=lambda c: -float(stored[c] @ vector))
    assert ids == exact[:5]
    assert [s for _, s in found] == pytest.approx(
        [float(stored[c] @ vector) for c in ids], abs=1e-5
    )
    assert retriever.similarity(question, ids[:2]) == pytest.approx(dict(found[:2]), abs=1e-5)


def test_a_failure_inside_write_leaves_nothing(base) -> None:
    _, kb, _, _ = base
    before = (len(kb.index), kb.registry.index_generation(), len(kb.registry.documents()))
    with pytest.raises(RuntimeError, match="halfway"), kb.write() as session:
        session.index.add(
            ["ghost:v1:0"], unit(np.ones((1, kb.embedder.dimension))), ["ghost"], [{}]
        )
        session.registry.db.execute("INSERT INTO meta(key, value) VALUES ('ghost', 'x')")
        session.changed = True
        raise RuntimeError("failed halfway")
    assert (len(kb.index), kb.registry.index_generation(), len(kb.registry.documents())) == before
    assert kb.registry.db.execute("SELECT 1 FROM meta WHERE key = 'ghost'").fetchone() is None
    assert "ghost:v1:0" not in kb.index.ids


def test_a_new_version_replaces_the_old_one_in_the_index(base, tmp_path) -> None:
    _, kb, retriever, _ = base
    first = b"Safe deposit boxes\n\nA safe deposit box rents for HKD 800 a year at any branch."
    second = b"Safe deposit boxes\n\nA safe deposit box now rents for HKD 950 a year, keys extra."
    report = ingest_uploads(kb, [Upload("boxes.txt", data=first)])
    document = report.files[0].document_id
    ingest_uploads(kb, [Upload("boxes.txt", data=second)])
    question = "How much does a safe deposit box cost?"
    found = [cid for cid, _ in retriever.dense(question, Scope.of(Query(text=question)), 3)]
    assert f"{document}:v2:0" in found
    assert not any(cid.startswith(f"{document}:v1:") for cid in kb.index.ids)
    assert [v.version for v in kb.registry.versions(document)] == [1, 2]
    purge_document(kb, document)
    assert not any(cid.startswith(f"{document}:") for cid in kb.index.ids)


def test_services_ask_open_the_original_and_delete(base) -> None:
    """Through kb.services as the app and the API use it: an answer with citations the
    reader may see, the cited original opened, a delete that leaves nothing answerable."""
    from kb.access import OPERATOR, Reader
    from kb.services import Services

    settings, kb, _, files = base
    services = Services(settings, kb)
    restricted = {f.document_id for f in files if f.source_name == RESTRICTED.name}
    notes = ingest_uploads(kb, collect_files([GOOD / "notes.txt"])).files[0].document_id
    question = "What is the counter limit for cash deposits?"
    try:
        answer = services.ask(Query(text=question), user="ana")
        cited = {p.citation.document_id for p in answer.passages}
        assert notes in cited and not cited & restricted
        citation = next(p.citation for p in answer.passages if p.citation.document_id == notes)
        original = services.open_original(citation, reader=Reader((EVERYONE,), "ana"))
        assert original.path is not None
        assert original.path.read_bytes() == (GOOD / "notes.txt").read_bytes()

        services.delete(notes, "kim", reader=OPERATOR)
        after = services.ask(Query(text=question), user="ana")
        assert notes not in {p.citation.document_id for p in after.passages}
        assert not any(cid.startswith(f"{notes}:") for cid in kb.index.ids)
        actions = [e.action for e in services.audit.events()]
        assert "deletion" in actions and services.audit.problems() == []
    finally:
        services.audit.close()
        services.feedback.close()
        services.questions.close()
        services.training.close()
        if services.users is not None:
            services.users.close()


# ------------------------------------------------------------------ replicas on one database


@pytest.fixture(scope="module")
def replicas(tmp_path_factory, embedder, database_url):
    """Two KnowledgeBase objects on one PostgreSQL base, each with its own data folder, as
    two app processes on two machines have."""
    one = postgres_settings(tmp_path_factory.mktemp("replica-a") / "kb", database_url)
    other = Settings(
        data_dir=tmp_path_factory.mktemp("replica-b") / "kb",
        store="postgres",
        database_url=database_url,
        database_schema=one.database_schema,
    )
    a, b = KnowledgeBase(one, embedder), KnowledgeBase(other, embedder)
    yield a, b
    a.close()
    b.close()
    drop_postgres(other)
    drop_postgres(one)


def test_an_upload_through_one_replica_is_answered_by_the_other(replicas) -> None:
    a, b = replicas
    reader = HybridRetriever(b, b.settings)
    question = "What is the counter limit for cash deposits?"
    assert reader.retrieve(Query(text=question, k=3)) == []
    report = ingest_uploads(a, collect_files([GOOD / "notes.txt"]))
    document = report.files[0].document_id
    hits = reader.retrieve(Query(text=question, k=3))
    assert hits and hits[0].chunk.document.document_id == document
    # The original is in the database: replica b, which never saw the upload, opens it.
    name = b.registry.original_path(document, 1)
    path = b.originals.path(b.registry.db, name)
    assert path.read_bytes() == (GOOD / "notes.txt").read_bytes()
    assert path.parent == b.settings.originals_dir

    purge_document(a, document)
    assert reader.retrieve(Query(text=question, k=3)) == []
    assert not b.originals.path(b.registry.db, name).exists()  # b's cached copy is gone too
    b.index  # noqa: B018  (b notices the new generation)
    assert not list(b.settings.originals_dir.iterdir())


def test_writers_on_two_replicas_take_turns(replicas, tmp_path, embedder) -> None:
    a, b = replicas
    impatient = KnowledgeBase(
        Settings(
            data_dir=tmp_path / "kb",
            store="postgres",
            database_url=b.settings.database_url,
            database_schema=b.settings.database_schema,
            lock_timeout_seconds=0.3,
        ),
        embedder,
    )
    held = threading.Event()
    release = threading.Event()
    order: list[str] = []

    def first() -> None:
        with a.write() as session:
            held.set()
            release.wait(10)
            order.append("a")
            session.registry.db.execute(
                "INSERT INTO meta(key, value) VALUES ('turn', 'a') "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value"
            )

    thread = threading.Thread(target=first)
    thread.start()
    assert held.wait(10)
    started = time.monotonic()
    with pytest.raises(KnowledgeBaseBusyError), impatient.write():
        pass
    assert time.monotonic() - started >= 0.25
    impatient.close()
    release.set()
    with b.write() as session:  # waits for a's commit, then sees it
        order.append("b")
        row = session.registry.db.execute("SELECT value FROM meta WHERE key = 'turn'").fetchone()
        assert row[0] == "a"
    thread.join(10)
    assert order == ["a", "b"]
