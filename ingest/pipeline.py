"""load -> clean -> chunk -> embed -> index -> registry, for a batch of files, with a report.

Each file is independent: a bad one is reported and skipped, the rest go in. The batch is
written in checkpoints (one transaction and one index generation each), so a kill loses at
most the current checkpoint and never leaves a half-written knowledge base.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ingest.chunk import chunk_document, infer_category
from ingest.load import parse_bytes
from ingest.manifest import read_manifest
from ingest.sniff import safe_name
from kb.errors import DocumentError, FileTooLargeError, KBError
from kb.lexical import tokenize
from kb.store import KnowledgeBase, WriteSession, chunk_metadata
from kb.types import (
    EVERYONE,
    DocumentInfo,
    DocumentOptions,
    FileReport,
    FileStatus,
    IngestReport,
)

logger = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
"""Called as (files done, files in batch, name of the file just finished)."""


@dataclass(frozen=True)
class Upload:
    """A file to ingest: its bytes are read lazily so a huge file is refused before reading."""

    name: str
    path: Path | None = None
    data: bytes | None = None
    options: DocumentOptions | None = None  # overrides the batch's options for this file

    def size(self) -> int:
        return self.path.stat().st_size if self.path is not None else len(self.data or b"")

    def read(self) -> bytes:
        return self.path.read_bytes() if self.path is not None else (self.data or b"")


MANIFEST_NAME = "kb-manifest.csv"


def collect_files(paths: Iterable[Path], manifest: Path | None = None) -> list[Upload]:
    """Files under the given paths, recursively, in a stable order; hidden files skipped.

    Per-file options come from `manifest`, or else from a `kb-manifest.csv` at the top of a
    folder being ingested, so `kb ingest samples/` can never open a restricted document to
    everyone by forgetting an option. Manifests themselves are not ingested.
    """
    manifests = [manifest] if manifest is not None else []
    manifests += [
        p / MANIFEST_NAME for p in paths if manifest is None and (p / MANIFEST_NAME).is_file()
    ]
    per_file: dict[str, DocumentOptions] = {}
    for found_manifest in manifests:
        per_file.update(read_manifest(found_manifest))
    skip = {m.resolve() for m in manifests}
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                hidden = any(part.startswith(".") for part in child.relative_to(path).parts)
                if child.is_file() and not hidden:
                    found.append(child)
        elif path.is_file():
            found.append(path)
        else:
            raise KBError(f"no such file or folder: {path}")
    return [
        Upload(p.name, path=p, options=per_file.get(safe_name(p.name).lower()))
        for p in found
        if p.resolve() not in skip
    ]


def document_id_for(name: str) -> str:
    """A readable id from a file name: 'Lost Card (v2).pdf' -> 'lost-card-v2'."""
    stem = Path(safe_name(name)).stem
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_stem.lower()).strip("-")[:60]
    if not slug:
        slug = "doc-" + hashlib.sha256(stem.encode()).hexdigest()[:10]
    return slug


def _store_original(kb: KnowledgeBase, data: bytes, digest: str, name: str) -> str:
    """Keep a copy of the file by content hash so agents can open exactly what was ingested."""
    folder = kb.settings.originals_dir
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{digest}{Path(safe_name(name)).suffix.lower()}"
    if not target.exists():
        tmp = target.with_suffix(target.suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
    return target.name


def _stated_metadata_changed(info: DocumentInfo, options: DocumentOptions) -> DocumentInfo | None:
    """The document's metadata with the options applied, or None when nothing changes."""
    updated = options.apply_to(info)
    return None if updated == info else updated


class IngestRun:
    """One batch: owns the per-file logic; `KnowledgeBase.write` owns atomicity."""

    def __init__(self, kb: KnowledgeBase, options: DocumentOptions) -> None:
        self.kb = kb
        self.options = options
        self.chunks_embedded = 0

    def ingest_file(self, session: WriteSession, upload: Upload) -> FileReport:
        started = time.perf_counter()
        name = safe_name(upload.name)
        try:
            report = self._ingest(session, upload, name, upload.options or self.options)
        except DocumentError as e:
            report = FileReport(name, FileStatus.FAILED, reason=e.reason)
        except KBError as e:
            report = FileReport(name, FileStatus.FAILED, reason=str(e))
        except Exception as e:  # a parser bug must not sink the batch; say what happened
            logger.exception("unexpected error ingesting %s", name)
            report = FileReport(
                name, FileStatus.FAILED, reason=f"unexpected error: {type(e).__name__}: {e}"
            )
        return replace(report, seconds=time.perf_counter() - started)

    def _ingest(
        self, session: WriteSession, upload: Upload, name: str, options: DocumentOptions
    ) -> FileReport:
        settings = self.kb.settings
        max_bytes = int(settings.max_file_mb * 1_000_000)
        if upload.size() > max_bytes:
            raise FileTooLargeError(
                f"the file is {upload.size() / 1e6:.1f} MB, over the {settings.max_file_mb:g} MB limit"
            )
        data = upload.read()
        digest = hashlib.sha256(data).hexdigest()
        registry = session.registry
        existing = (
            registry.document_row(options.replaces)
            if options.replaces
            else registry.find_by_source(name.lower())
        )
        document_id = existing["document_id"] if existing else None
        if document_id and existing["current_version"] is not None:
            current = registry.document_info(document_id)
            if registry.current_hash(document_id) == digest:
                changed = _stated_metadata_changed(current, options)
                if changed is None:
                    return FileReport(name, FileStatus.UNCHANGED, document_id, current.version)
                registry.update_metadata(changed)
                session.changed = True
                return FileReport(
                    name,
                    FileStatus.UPDATED,
                    document_id,
                    current.version,
                    reason="metadata changed",
                )

        twin = registry.current_document_with_hash(digest)
        if twin is not None and twin["document_id"] != document_id:
            # The same bytes under another name: a second copy would only duplicate results.
            return FileReport(
                name,
                FileStatus.UNCHANGED,
                twin["document_id"],
                reason=f"same content as {twin['source_name']} ({twin['document_id']}); not added twice",
            )
        parsed = parse_bytes(data, name, max_bytes=max_bytes)
        previous = registry.document_info(document_id) if document_id else None
        document_id = document_id or registry.new_document_id(document_id_for(name))
        version = registry.latest_version(document_id) + 1
        info = DocumentInfo(
            document_id=document_id,
            version=version,
            title=parsed.title,
            source_name=name,
            format=parsed.format,
            language=parsed.language,
            category=options.category or infer_category(parsed),
            effective_date=options.effective_date or parsed.effective_date,
            expiry_date=options.expiry_date or parsed.expiry_date,
            groups=options.groups or (previous.groups if previous else (EVERYONE,)),
            owner=options.owner or parsed.owner or (previous.owner if previous else None),
            review_by=options.review_by or (previous.review_by if previous else None),
        )
        chunks = chunk_document(
            parsed,
            info,
            max_chars=settings.chunk_max_chars,
            procedure_max_chars=settings.procedure_max_chars,
        )
        if not chunks:
            raise DocumentError("the document has text but nothing to index after cleaning")
        vectors = self.kb.embedder.embed_passages([c.text for c in chunks])
        self.chunks_embedded += len(chunks)
        original = _store_original(self.kb, data, digest, name)

        registry.db.execute("SAVEPOINT file")
        try:
            stale = []
            if previous is not None and existing["current_version"] is not None:
                stale = registry.chunk_ids(document_id, existing["current_version"])
            # A replacement keeps the document's identity (its original file name).
            registry.upsert_document(info, existing["source_key"] if existing else name.lower())
            registry.add_version(info, digest, chunks, parsed.page_count, len(data), original)
            registry.add_terms([(c.chunk_id, " ".join(tokenize(c.text))) for c in chunks])
            session.index.delete(stale)
            session.index.add(
                [c.chunk_id for c in chunks],
                vectors,
                [c.text for c in chunks],
                [chunk_metadata(c) for c in chunks],
            )
        except BaseException:
            registry.db.execute("ROLLBACK TO file")
            registry.db.execute("RELEASE file")
            raise
        registry.db.execute("RELEASE file")
        session.changed = True
        status = FileStatus.UPDATED if existing is not None else FileStatus.ADDED
        return FileReport(name, status, document_id, version, len(chunks), parsed.page_count)


def ingest_uploads(
    kb: KnowledgeBase,
    uploads: Sequence[Upload],
    options: DocumentOptions | None = None,
    *,
    progress: Progress | None = None,
    checkpoint_every: int = 200,
    on_file: Callable[[WriteSession, FileReport], None] | None = None,
) -> IngestReport:
    """Ingest a batch; every file gets a report line, whatever happens to the others.
    `on_file` runs in the write transaction after each file (e.g. to stage its audit row, so
    the row commits with the change: kb.audit.stage)."""
    started = time.perf_counter()
    run = IngestRun(kb, options or DocumentOptions())
    reports: list[FileReport] = []
    for start in range(0, len(uploads), checkpoint_every):
        with kb.write() as session:
            for upload in uploads[start : start + checkpoint_every]:
                report = run.ingest_file(session, upload)
                reports.append(report)
                if on_file is not None:
                    on_file(session, report)
                logger.info(
                    "%s: %s %s", report.source_name, report.status.value, report.reason or ""
                )
                if progress is not None:
                    progress(len(reports), len(uploads), report.source_name)
    return IngestReport(tuple(reports), time.perf_counter() - started, run.chunks_embedded)


def delete_document(
    kb: KnowledgeBase,
    document_id: str,
    on_delete: Callable[[WriteSession, int], None] | None = None,
) -> int:
    """Remove a document from search at once; its versions stay listed as deleted.
    `on_delete(session, chunks removed)` runs in the same transaction (see ingest_uploads)."""
    with kb.write() as session:
        stale = session.registry.mark_deleted(document_id)
        session.index.delete(stale)
        session.changed = True
        if on_delete is not None:
            on_delete(session, len(stale))
    return len(stale)


@dataclass(frozen=True)
class PurgeReport:
    """What `purge_document` erased, in numbers: what the audit trail records (no content)."""

    document_id: str
    versions: tuple[int, ...]
    chunks: int  # chunk texts erased, every version
    terms: int  # lexical rows erased
    vectors: int  # vectors taken out of the index (the current version's)
    originals: int  # original files deleted
    scrubbed: bool = False  # registry rewritten, its log truncated (KnowledgeBase.scrub)


def purge_document(
    kb: KnowledgeBase,
    document_id: str,
    on_purge: Callable[[WriteSession, PurgeReport], None] | None = None,
) -> PurgeReport:
    """Erase a document for good, current or deleted: every version's text, its lexical
    terms, its vectors and its original files (`delete_document` only takes it out of
    search). `on_purge(session, report)` runs in the same transaction (see ingest_uploads).

    One transaction erases the rows and terms and publishes an index generation without the
    vectors, so a failure before the commit leaves the document whole and the knowledge base
    as it was. Only after the commit, the lock still held, are files deleted: the original
    files no other version names (and any file in the originals folder no version names, so
    a purge interrupted here is finished by the next one), the older index generations, and
    the registry's free pages and log (KnowledgeBase.scrub)."""
    erased: dict[str, bool] = {}
    with kb.write() as session:
        rows = session.registry.purge_document(document_id)
        before = len(session.index)
        session.index.delete(list(rows.chunk_ids))
        report = PurgeReport(
            document_id,
            rows.versions,
            len(rows.chunk_ids),
            rows.terms,
            before - len(session.index),
            len(rows.originals),
        )
        session.changed = True
        if on_purge is not None:
            on_purge(session, report)

        def erase_files() -> None:
            _remove_unnamed_originals(kb, session.registry.original_names())
            erased["scrubbed"] = kb.scrub(session.registry)

        session.after_commit.append(erase_files)
    logger.info("purged %s: %s", document_id, report)
    return replace(report, scrubbed=erased.get("scrubbed", False))


def _remove_unnamed_originals(kb: KnowledgeBase, named: set[str]) -> int:
    """Delete the files in the originals folder that no version names; how many."""
    folder = kb.settings.originals_dir
    if not folder.is_dir():
        return 0
    removed = 0
    for path in folder.iterdir():
        if path.name not in named and (path.is_file() or path.is_symlink()):
            path.unlink(missing_ok=True)
            removed += 1
    return removed
