"""What the speed work of issue 14 keeps per question or per generation stays correct:
the generation read once per question (Registry.one_generation) on both backends, and
the FAISS store's passages read from the registry when LangChain asks (kb.index)."""

from __future__ import annotations

import threading

from kb.index import FaissIndex
from kb.registry import Registry
from kb.store import KnowledgeBase
from tests.conftest import GOOD


def test_one_generation_per_question(backend_settings) -> None:
    reader = Registry(backend_settings.registry_path)
    writer = Registry(backend_settings.registry_path)
    try:
        writer.set_index_generation(3)
        with reader.one_generation() as pinned:
            assert pinned == 3
            writer.set_index_generation(4)  # another process publishes mid-question
            assert reader.index_generation() == 3
            with reader.one_generation() as inner:  # nested: the outer question's
                assert inner == 3
            seen: list[int] = []
            other = threading.Thread(target=lambda: seen.append(reader.index_generation()))
            other.start()
            other.join()
            assert seen == [4]  # another thread's question is not pinned
        assert reader.index_generation() == 4  # the next question reads it again
    finally:
        reader.close()
        writer.close()


def test_langchain_reads_passages_from_the_registry(services, settings, embedder) -> None:
    services.ingest_paths([GOOD / "procedure.docx"])
    fresh = KnowledgeBase(settings, embedder)  # opens the generation files afresh
    try:
        index = fresh.index
        assert isinstance(index, FaissIndex)
        docstore = index.store.docstore
        assert docstore.added == {}  # no passage copied into memory on opening
        found = index.store.similarity_search("report a lost card", k=1)[0]
        chunk = fresh.registry.chunks_by_id([found.id])[found.id]
        assert found.page_content == chunk.text
        assert found.metadata["document_id"] == chunk.document.document_id
        with fresh.write() as session:  # a writer's copy: what it deletes is gone for it
            session.index.delete([found.id])
            assert "not found" in session.index.store.docstore.search(found.id)
            session.changed = True
        assert found.id not in fresh.index.ids
    finally:
        fresh.close()


def test_batched_registry_reads_match_single_ones(backend_settings, embedder) -> None:
    from kb.services import Services

    services = Services(backend_settings, KnowledgeBase(backend_settings, embedder))
    try:
        services.ingest_paths([GOOD / "procedure.docx"])
        registry = services.kb.registry
        ids = services.kb.index.ids
        chunks = registry.chunks_by_id(ids)
        assert set(chunks) == set(ids)
        keys = {(c.document.document_id, c.document.version) for c in chunks.values()}
        for chunk in chunks.values():
            info = chunk.document
            assert info == registry.document_info(info.document_id, info.version)
        paths = registry.original_paths([*keys, ("no-such-document", 1)])
        assert paths == {
            **{key: registry.original_path(*key) for key in keys},
            ("no-such-document", 1): None,
        }
        assert all(paths[key] for key in keys)  # the upload is kept
    finally:
        services.close()
