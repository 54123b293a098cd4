"""One knowledge base: the registry, the current index generation, and the write lock.

Readers (the app, `kb ask`) open it and get the generation the registry names; they notice a
newer generation written by an ingest and reload. Writers (ingest, delete) go through
`KnowledgeBase.write()`, which holds the cross-process lock and one registry transaction, and
publishes a new index generation only when the transaction commits.

On PostgreSQL (`KB_STORE=postgres`) the same calls, another way to keep them: the vectors are
a table beside the registry (kb.pgvector_index) and the uploads too (kb.original_files), so a
writer's registry rows, vectors and files commit in one transaction, and every replica on
every machine reads the committed state directly; no index files, no generation files. The
write lock is that transaction's advisory lock (`BEGIN IMMEDIATE`, kb.postgres), which
serialises writers across processes and machines where a FileLock only covers one machine.
The registry's generation counter still ticks on every change, so readers drop their caches.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from filelock import FileLock, Timeout

from kb.config import Settings
from kb.database import open_database
from kb.errors import KnowledgeBaseBusyError
from kb.index import FaissIndex, remove_old_generations
from kb.original_files import OriginalFiles
from kb.pgvector_index import PgVectorIndex
from kb.ports import Embedder
from kb.registry import Registry
from kb.types import Chunk

logger = logging.getLogger(__name__)


def chunk_metadata(chunk: Chunk) -> dict:
    """The flat metadata LangChain documents carry, so a LangChain user can filter on it."""
    info = chunk.document
    return {
        "chunk_id": chunk.chunk_id,
        "document_id": info.document_id,
        "version": info.version,
        "title": info.title,
        "source_name": info.source_name,
        "format": info.format,
        "section": chunk.section,
        "pages": list(chunk.pages),
        "kind": chunk.kind.value,
        "language": chunk.language,
        "category": info.category.value,
        "effective_date": info.effective_date.isoformat() if info.effective_date else None,
        "expiry_date": info.expiry_date.isoformat() if info.expiry_date else None,
        "groups": list(info.groups),
        "content_hash": chunk.content_hash,
    }


@dataclass
class WriteSession:
    """What a writer may touch while it holds the lock and the open transaction."""

    registry: Registry
    index: FaissIndex | PgVectorIndex
    changed: bool = False
    # Run after the transaction has committed, the lock still held (a purge erases files).
    after_commit: list[Callable[[], None]] = field(default_factory=list)


def _retire_superseded(session: WriteSession) -> None:
    """Versions whose successor took effect since the last write leave the index (their
    dates kept them out of answers meanwhile: kb.validity); the same step on both stores."""
    retired = session.registry.line_up_versions(dt.date.today())
    if retired:
        session.index.delete(retired)
        session.changed = True


class KnowledgeBase:
    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.registry = Registry(settings.registry_path)
        self.originals = OriginalFiles(settings)
        self._index: FaissIndex | PgVectorIndex | None = None
        self._generation = -1
        self._load_lock = threading.Lock()

    def close(self) -> None:
        self.registry.close()
        if isinstance(self._index, PgVectorIndex):
            self._index.close()

    def _fetch_documents(self, ids: Sequence[str]) -> dict:
        from langchain_core.documents import Document

        chunks = self.registry.chunks_by_id(ids)
        missing = [i for i in ids if i not in chunks]
        if missing:
            logger.warning("index names %d chunks the registry does not have", len(missing))
        return {
            cid: Document(page_content=c.text, metadata=chunk_metadata(c), id=cid)
            for cid, c in chunks.items()
        }

    def _load_index(self, generation: int) -> FaissIndex:
        if generation == 0:
            return FaissIndex(self.embedder)
        return FaissIndex.load(
            self.settings.index_dir, generation, self.embedder, self._fetch_documents
        )

    @property
    def index(self) -> FaissIndex | PgVectorIndex:
        """The current index; reloaded when an ingest has published a newer generation."""
        generation = self.registry.index_generation()
        if self.settings.uses_postgres:
            return self._shared_index(generation)
        if self._index is None or generation != self._generation:
            with self._load_lock:
                if self._index is None or generation != self._generation:
                    self._index = self._load_index(generation)
                    self._generation = generation
        assert self._index is not None
        return self._index

    def _shared_index(self, generation: int) -> PgVectorIndex:
        """PostgreSQL: one PgVectorIndex on a connection of its own (its searches run in
        short transactions of their own, which must not share a connection with other
        threads' statements), always current; a new generation only empties this machine's
        cache of purged originals."""
        with self._load_lock:
            if self._index is None:
                db = open_database(self.settings.registry_path)
                try:
                    index = PgVectorIndex(db, self.embedder)
                    OriginalFiles.create(db)
                except BaseException:
                    db.close()
                    raise
                self._index = index
            if generation != self._generation:
                self.originals.sync(self.registry.db)
                self._generation = generation
            assert isinstance(self._index, PgVectorIndex)
            return self._index

    @property
    def loaded_generation(self) -> int:
        """The generation of the index last returned by `index`."""
        return self._generation

    @contextmanager
    def write(self) -> Iterator[WriteSession]:
        """Exclusive, all-or-nothing change: lock, transaction, new generation on commit."""
        if self.settings.uses_postgres:
            with self._write_shared() as session:
                yield session
            return
        lock = FileLock(str(self.settings.lock_path))
        try:
            lock.acquire(timeout=self.settings.lock_timeout_seconds)
        except Timeout as e:
            raise KnowledgeBaseBusyError(
                f"another ingest is still running on {self.settings.data_dir}; try again when it ends"
            ) from e
        # A connection of its own, so readers in this process never see half a transaction.
        registry = Registry(self.settings.registry_path)
        try:
            with registry.transaction():
                generation = registry.index_generation()
                # Work on a private copy: the shared one keeps serving readers until commit.
                index = self._load_index(generation)
                session = WriteSession(registry, index)
                yield session
                _retire_superseded(session)
                if session.changed:
                    new_generation = generation + 1
                    session.index.save(self.settings.index_dir, new_generation)
                    registry.set_index_generation(new_generation)
            if session.changed:
                keep_from = new_generation - self.settings.keep_index_generations + 1
                remove_old_generations(self.settings.index_dir, keep_from)
                with self._load_lock:
                    # Reload from what was committed rather than trust the writer's copy.
                    self._index, self._generation = None, -1
            for action in session.after_commit:
                action()
        finally:
            registry.close()
            lock.release()

    @contextmanager
    def _write_shared(self) -> Iterator[WriteSession]:
        """`write()` on PostgreSQL: the writer's registry connection holds the transaction
        and its advisory lock (waiting up to `lock_timeout_seconds` for another replica's
        writer), and the vectors and originals are written through that same connection, so
        a failure anywhere rolls all of it back."""
        import psycopg

        self.index  # noqa: B018  (the vector and originals tables exist before a writer uses them)
        registry = Registry(self.settings.registry_path)
        try:
            wait_ms = int(self.settings.lock_timeout_seconds * 1000)
            registry.db.execute(f"SET lock_timeout = {wait_ms}")
            try:
                registry.db.execute("BEGIN IMMEDIATE")
            except psycopg.errors.LockNotAvailable as e:
                raise KnowledgeBaseBusyError(
                    "another ingest is still running on this knowledge base; try again when it ends"
                ) from e
            registry.db.execute("SET LOCAL lock_timeout = 0")
            try:
                generation = registry.index_generation()
                index = PgVectorIndex(registry.db, self.embedder, create=False)
                session = WriteSession(registry, index)
                yield session
                _retire_superseded(session)
                if session.changed:
                    registry.set_index_generation(generation + 1)
            except BaseException:
                registry.db.execute("ROLLBACK")
                raise
            registry.db.execute("COMMIT")
            for action in session.after_commit:
                action()
        finally:
            registry.close()

    def scrub(self, registry: Registry) -> bool:
        """After a purge has committed, the lock still held: leave no deleted byte on disk.

        Older index generations still hold the purged vectors, so only the current one is
        kept; the registry file is rewritten without its free pages (VACUUM) and its
        write-ahead log checkpointed and truncated. False when a reader kept the log from
        being truncated (its old pages are then overwritten at a later checkpoint).

        On PostgreSQL: the registry's tables (Registry.rewrite_storage), the vectors and the
        originals are rewritten without the deleted rows (VACUUM FULL); the write-ahead log
        keeps them until the server recycles it (what that does not erase is said in
        Registry.purge_document)."""
        if self.settings.uses_postgres:
            return self._scrub_shared(registry)
        remove_old_generations(self.settings.index_dir, registry.index_generation())
        registry.db.execute("VACUUM")
        busy, _, _ = registry.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return busy == 0

    @staticmethod
    def _scrub_shared(registry: Registry) -> bool:
        registry.rewrite_storage()
        for table in ("chunk_vectors", "originals"):
            registry.db.execute(f"VACUUM (FULL, ANALYZE) {table}")
        return True

    def search(self, query: str, k: int = 5) -> list[tuple[Chunk, float]]:
        """Plain dense search over live chunks, scheduled versions' too (hybrid retrieval,
        with the dates and access filters, lives in kb.retrieve)."""
        hits = self.index.search(self.embedder.embed_query(query), k)
        chunks = self.registry.chunks_by_id([cid for cid, _ in hits])
        return [(chunks[cid], score) for cid, score in hits if cid in chunks]
