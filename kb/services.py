"""build_services(settings): the one place that wires adapters together.

The CLI and the app call these methods and nothing deeper, so both behave the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ingest.pipeline import Progress, Upload, collect_files, delete_document, ingest_uploads
from kb.config import Settings
from kb.embedding import create_embedder
from kb.store import KnowledgeBase
from kb.types import Chunk, DocumentOptions, DocumentRecord, IngestReport


@dataclass
class Services:
    settings: Settings
    kb: KnowledgeBase

    def ingest_paths(
        self,
        paths: Sequence[Path],
        options: DocumentOptions | None = None,
        progress: Progress | None = None,
        manifest: Path | None = None,
    ) -> IngestReport:
        return self.ingest(collect_files(paths, manifest), options, progress)

    def ingest(
        self,
        uploads: Sequence[Upload],
        options: DocumentOptions | None = None,
        progress: Progress | None = None,
    ) -> IngestReport:
        return ingest_uploads(self.kb, uploads, options, progress=progress)

    def documents(self, include_deleted: bool = False) -> list[DocumentRecord]:
        return self.kb.registry.documents(include_deleted)

    def document(self, document_id: str) -> DocumentRecord:
        return self.kb.registry.document(document_id)

    def document_chunks(self, document_id: str, version: int) -> list[Chunk]:
        ids = self.kb.registry.chunk_ids(document_id, version)
        found = self.kb.registry.chunks_by_id(ids)
        return [found[i] for i in ids]

    def delete(self, document_id: str) -> int:
        return delete_document(self.kb, document_id)

    def search(self, query: str, k: int = 5) -> list[tuple[Chunk, float]]:
        return self.kb.search(query, k)

    def close(self) -> None:
        self.kb.close()


def build_services(settings: Settings) -> Services:
    embedder = create_embedder(settings.embedding_model, settings.embedding_batch_size)
    return Services(settings, KnowledgeBase(settings, embedder))
