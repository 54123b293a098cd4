"""eval.scale.grow, the one builder of synthetic bases for both stores (kb bench --scale,
eval.postgres_scale): variants land in the registry, the lexical index and the vectors."""

from __future__ import annotations

import numpy as np

from eval.scale import grow
from kb.database import is_postgres
from kb.services import Services
from kb.store import KnowledgeBase
from tests.conftest import GOOD


def test_grow_adds_searchable_variants(backend_settings, embedder) -> None:
    services = Services(backend_settings, KnowledgeBase(backend_settings, embedder))
    try:
        services.ingest_paths([GOOD / "procedure.docx"])
        kb = services.kb
        start = len(kb.index)
        grow(kb, 3 * start + 1, documents_per_write=1)
        assert len(kb.index) >= 3 * start + 1
        documents = [d.document_id for d in kb.registry.documents()]
        assert {"synthetic-000000", "synthetic-000001", "synthetic-000002"} <= set(documents)
        ids = kb.index.ids
        variant = sorted(c for c in ids if c.startswith("synthetic-000002:"))
        source = sorted(c for c in ids if not c.startswith("synthetic-"))
        vectors = kb.index.vectors(variant + source)
        assert len(variant) == len(source)
        for copy in variant:  # each variant vector is its source's plus a little noise
            best = max(float(np.dot(vectors[copy], vectors[s])) for s in source)
            assert 0.8 < best < 0.95  # noise 0.03 a dimension: cosine ~0.86
        hits = services.retriever.lexical.search(["000002"], 50, "1 = 1", [])
        assert hits and {c.split(":")[0] for c, _ in hits} == {"synthetic-000002"}
        if is_postgres(kb.registry.db):  # the search index made again after the bulk load
            row = kb.registry.db.execute("SELECT to_regclass('chunk_vectors_hnsw')").fetchone()
            assert row[0] is not None
        before = len(kb.index)
        grow(kb, 10)  # already larger: nothing added
        assert len(kb.index) == before
    finally:
        services.close()
