"""A new version with one changed paragraph embeds exactly that passage, on both stores.

The other passages take the vector the index holds for the same text (kb.passage_vectors),
which must be the vector the model gives that text: the answers cannot tell the difference.
One small document, three ingests per backend."""

from __future__ import annotations

import numpy as np

from ingest.pipeline import Upload, ingest_uploads
from kb.store import KnowledgeBase
from kb.types import FileStatus

SECTIONS = {
    "Report the loss": "Block the card in the agent desktop before anything else.",
    "Check identity": "Ask two security questions; never read out the card number.",
    "Fees": "A replacement card costs 5 GBP; the first one each year is free.",
    "Delivery": "The new card arrives in three to five working days by post.",
    "Travelling customers": "Offer an emergency card at a branch abroad within 48 hours.",
}


def document(sections: dict[str, str]) -> bytes:
    body = "\n\n".join(f"## {heading}\n\n{text}" for heading, text in sections.items())
    return f"# Lost card procedure\n\n{body}\n".encode()


def stored_vectors(kb: KnowledgeBase) -> dict[str, np.ndarray]:
    chunks = kb.registry.chunks_by_id(kb.registry.current_chunk_ids())
    stored = kb.index.vectors(list(chunks))
    return {chunks[cid].text: vector for cid, vector in stored.items()}


def test_one_changed_paragraph_is_the_only_passage_embedded(backend_settings, embedder):
    kb = KnowledgeBase(backend_settings, embedder)
    try:
        first = ingest_uploads(kb, [Upload("lost-card.md", data=document(SECTIONS))])
        assert first.files[0].status == FileStatus.ADDED
        passages = first.files[0].chunks
        assert passages >= len(SECTIONS) and first.chunks_embedded == passages
        assert first.chunks_reused == 0

        changed = {**SECTIONS, "Fees": "A replacement card now costs 7 GBP from 1 March."}
        second = ingest_uploads(kb, [Upload("lost-card.md", data=document(changed))])
        report = second.files[0]
        assert report.status == FileStatus.UPDATED and report.version == 2
        assert report.chunks == passages
        assert second.chunks_embedded == 1
        assert second.chunks_reused == report.reused == passages - 1

        # Every stored vector, reused or new, is the one the model gives its text.
        stored = stored_vectors(kb)
        assert len(stored) == passages and any("7 GBP" in text for text in stored)
        texts = sorted(stored)
        fresh = embedder.embed_passages(texts)
        assert np.array_equal(np.vstack([stored[t] for t in texts]), fresh)

        # The same text under another name embeds nothing; without reuse, everything.
        copy = ingest_uploads(kb, [Upload("lost-card-copy.md", data=document(changed) + b"\n")])
        assert copy.files[0].status == FileStatus.ADDED
        assert (copy.chunks_embedded, copy.chunks_reused) == (0, passages)
        again = {**changed, "Delivery": "The new card arrives in two working days."}
        baseline = ingest_uploads(
            kb, [Upload("lost-card.md", data=document(again))], reuse_vectors=False
        )
        assert (baseline.chunks_embedded, baseline.chunks_reused) == (passages, 0)
    finally:
        kb.close()
