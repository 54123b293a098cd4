"""`kb migrate --to postgres`: a local base copied into PostgreSQL without re-embedding.

One local base (two real files, three users, a question asked, a token) is migrated through
the command line; the PostgreSQL base then answers the same, holds the same rows, vectors
and originals, and its audit trail verifies with the same key. A second run is refused.
"""

from __future__ import annotations

import numpy as np
import pytest

from kb.access import OPERATOR
from kb.cli import main
from kb.config import Settings
from kb.services import Services
from kb.store import KnowledgeBase
from kb.types import Query
from tests.conftest import APP_FILES, APP_USERS, copy_kb, drop_postgres

pytestmark = pytest.mark.integration

QUESTIONS = ("How do I report a lost card?", "挂失银行卡的步骤是什么？")


@pytest.fixture(scope="module")
def migrated(tmp_path_factory, kb_template, embedder, database_url):
    """(local facts, target settings, migrate's output): the local base is read before the
    migration binds its folder to PostgreSQL."""
    import uuid

    data_dir = copy_kb(
        kb_template(APP_FILES, APP_USERS, by="cli"), tmp_path_factory.mktemp("m") / "kb"
    )
    source = Settings(data_dir=data_dir)
    services = Services(source, KnowledgeBase(source, embedder))
    try:
        services.ask(Query(text=QUESTIONS[0]), user="ana")
        services.integration_accounts().create("crm", "rpa")
        local = {
            "hits": [
                [h.chunk.chunk_id for h in services.retrieve(Query(text=q, k=5))] for q in QUESTIONS
            ],
            "documents": [
                (d.document_id, d.current_version) for d in services.documents(reader=OPERATOR)
            ],
            "chunks": len(services.kb.index),
            "events": len(services.audit.events()),
            "questions": [q.question for q in services.questions.all()],
            "vector": services.kb.index.store.index.reconstruct(0),
            "first_id": services.kb.index.ids[0],
        }
    finally:
        services.close_api_stores()
        services.close()

    namespace = f"t{uuid.uuid4().hex[:12]}"
    env = {
        "KB_DATA_DIR": str(data_dir),
        "KB_DATABASE_URL": database_url,
        "KB_DATABASE_SCHEMA": namespace,
        "KB_STORE": "local",
    }
    patch = pytest.MonkeyPatch()
    for key, value in env.items():
        patch.setenv(key, value)
    target = None
    try:
        code = main(["migrate", "--to", "postgres", "--no-progress"])
        assert code == 0
        target = Settings(
            data_dir=data_dir,
            store="postgres",
            database_url=database_url,
            database_schema=namespace,
        )
        yield local, target, patch
    finally:
        patch.undo()
        if target is None:
            target = Settings(
                data_dir=data_dir,
                store="postgres",
                database_url=database_url,
                database_schema=namespace,
            )
        drop_postgres(target)


def test_the_postgres_base_answers_as_the_local_one_did(migrated, embedder) -> None:
    local, target, _ = migrated
    services = Services(target, KnowledgeBase(target, embedder))
    try:
        index = services.kb.index
        assert len(index) == local["chunks"]
        # The very floats FAISS held: no model ran.
        assert np.array_equal(
            index.vectors([local["first_id"]])[local["first_id"]], local["vector"]
        )
        assert [
            (d.document_id, d.current_version) for d in services.documents(reader=OPERATOR)
        ] == local["documents"]
        for question, hits in zip(QUESTIONS, local["hits"], strict=True):
            assert [h.chunk.chunk_id for h in services.retrieve(Query(text=question, k=5))] == hits
        # Originals are in the database, not only in this machine's folder.
        db = services.kb.registry.db
        for document_id, version in local["documents"]:
            name = services.kb.registry.original_path(document_id, version)
            stored = services.kb.originals.read(db, name)
            assert stored is not None and stored == (target.originals_dir / name).read_bytes()
        assert {u.name for u in services.users.list()} >= {name for name, _, _ in APP_USERS}
        assert [a.name for a in services.integration_accounts().list()] == ["crm"]
        assert [q.question for q in services.questions.all()] == local["questions"] != []
        assert len(services.audit.events()) >= local["events"]
    finally:
        services.close_api_stores()
        services.close()


def test_the_audit_trail_verifies_after_the_move(migrated, capsys) -> None:
    _, _, patch = migrated
    patch.setenv("KB_STORE", "postgres")
    try:
        assert main(["audit", "--verify"]) == 0, capsys.readouterr().err
    finally:
        patch.setenv("KB_STORE", "local")


def test_a_second_migration_into_the_same_schema_is_refused(migrated, capsys) -> None:
    _ = migrated
    assert main(["migrate", "--to", "postgres", "--no-progress"]) == 1
    assert "already holds data" in capsys.readouterr().err
