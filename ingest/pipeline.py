"""load -> clean -> chunk -> embed -> index -> registry, for a batch of files, with a report.

Each file is independent: a bad one is reported and skipped, the rest go in. The batch is
written in checkpoints (one transaction and one index generation each), so a kill loses at
most the current checkpoint and never leaves a half-written knowledge base.

Before anything is read, every file is located and governed (`collect_files`,
`prepare_uploads`): its identity is its path relative to the ingest root, its access groups
come from the nearest kb-manifest.csv (ingest.manifest says how, and what happens when the
manifest is silent), links and special files are refused, manifests are never documents.
Parsing happens in a worker process with a memory cap and a timeout (ingest.worker), after
cheap limit checks (ingest.limits); the next file is sent to the worker while the current
one is embedded, so the separate process costs no time.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from ingest.chunk import chunk_document, infer_category
from ingest.limits import ParseLimits
from ingest.manifest import MANIFEST_NAME as MANIFEST_FILE_NAME
from ingest.manifest import (
    GroupSource,
    Manifest,
    ManifestFinder,
    choose_groups,
    is_manifest_name,
    load_manifest,
    parse_manifest,
)
from ingest.sniff import safe_name
from ingest.worker import shared_worker
from kb.errors import DocumentError, FileTooLargeError, KBError
from kb.lexical import tokenize
from kb.original_files import file_name
from kb.passage_vectors import passage_vectors
from kb.store import KnowledgeBase, WriteSession, chunk_metadata
from kb.text import lone_surrogate, printable
from kb.types import (
    DocumentInfo,
    DocumentOptions,
    FileReport,
    FileStatus,
    IngestReport,
    ParsedDocument,
)

logger = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
"""Called as (files done, files in batch, name of the file just finished)."""


@dataclass(frozen=True)
class Upload:
    """A file to ingest: its bytes are read lazily so a huge file is refused before reading.

    `name` is the document's identity and what the report shows: for a file found on disk,
    its path relative to the ingest root ('/' between folders; a file at the root keeps its
    bare name, so ids of a flat folder never change); for uploaded bytes, the file name as
    uploaded, which must be a bare name (a name with folders or '..' is refused, so it can
    never land on another document).
    """

    name: str
    path: Path | None = None
    data: bytes | None = None
    options: DocumentOptions | None = None  # per-file options (a manifest row) over the batch's
    manifest: Path | None = None  # the manifest that governs this file, if any
    document_id: str | None = None  # an explicit id from the manifest
    refused: str | None = None  # why the file is reported and never read (a link, a device)
    located: bool = False  # set by collect_files: `name` is a safe relative path, manifest found

    def size(self) -> int:
        return os.lstat(self.path).st_size if self.path is not None else len(self.data or b"")

    def read(self) -> bytes:
        if self.path is None:
            return self.data or b""
        # Never follow a link swapped in after the folder was listed; never block on a pipe.
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(self.path, flags)
        except OSError as e:
            raise DocumentError(f"cannot open the file (a link or unreadable): {e.strerror}") from e
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise DocumentError("not a regular file")
            return handle.read()


MANIFEST_NAME = MANIFEST_FILE_NAME


def _refused(path: Path, root: Path, reason: str) -> Upload:
    try:
        name = path.relative_to(root).as_posix()
    except ValueError:
        name = path.name
    return Upload(printable(name or path.name), path=path, refused=reason, located=True)


_NOT_UTF8_NAME = (
    "the file name is not UTF-8 text (its undecodable bytes are shown as \ufffd); rename "
    "the file and ingest it again"
)


def _reason_not_regular(path: Path) -> str | None:
    """Why a path found on disk is refused, or None for a regular file."""
    try:
        mode = os.lstat(path).st_mode
    except OSError as e:
        return f"cannot read: {e.strerror}"
    if stat.S_ISLNK(mode):
        target = os.readlink(path)
        return (
            f"symbolic link (to {target}) refused: a link can point anywhere, even outside "
            "the folder; copy the file in instead"
        )
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        return "not a regular file (a device, pipe or socket) refused"
    return None


def _walk(root: Path) -> list[tuple[Path, str | None]]:
    """Regular files under `root` (hidden ones skipped), and refused entries with a reason.

    Links are never followed, to files or folders: a link to /etc/passwd, a dangling link and
    a link loop are each reported once, and nothing outside the folder is read."""
    found: list[tuple[Path, str | None]] = []

    def unreadable(error: OSError) -> None:
        if error.filename is not None:
            found.append((Path(error.filename), f"cannot read the folder: {error.strerror}"))

    for folder, dirs, files in os.walk(root, onerror=unreadable, followlinks=False):
        here = Path(folder)
        kept = []
        for d in dirs:
            if d.startswith("."):
                continue
            reason = _reason_not_regular(here / d)
            if reason is None:
                kept.append(d)
            else:
                found.append((here / d, reason))
        dirs[:] = sorted(kept)
        for f in files:
            if not f.startswith("."):
                found.append((here / f, _reason_not_regular(here / f)))
    return sorted(found)


def collect_files(paths: Iterable[Path], manifest: Path | None = None) -> list[Upload]:
    """Files under the given paths, in a stable order, each with the manifest that governs it.

    The manifest of a file is `manifest` when given (read as if it sat at the ingest root),
    or else the nearest kb-manifest.csv above the file (ingest.manifest explains why up to
    the filesystem root), however the ingest was started: one file, its folder or a parent.
    Manifests are never documents. Links and special files are refused and reported. The
    ingest root is the folder given, or a single file's own folder.
    """
    finder = ManifestFinder()
    explicit = load_manifest(manifest) if manifest is not None else None
    skip = {manifest.resolve()} if manifest is not None else set()
    uploads: list[Upload] = []
    seen: set[Path] = set()
    for given in paths:
        if given.is_symlink():
            uploads.append(_refused(given, given.parent, _reason_not_regular(given) or "link"))
            continue
        if given.is_dir():
            root, entries = given, _walk(given)
        elif given.exists():
            root, entries = given.parent, [(given, _reason_not_regular(given))]
        else:
            raise KBError(f"no such file or folder: {given}")
        for path, reason in entries:
            if reason is None and lone_surrogate(_relative_name(path, root)) is not None:
                reason = _NOT_UTF8_NAME  # it could not be stored, audited or shown
            if reason is not None:
                uploads.append(_refused(path, root, reason))
                continue
            absolute = path.absolute()
            if is_manifest_name(path.name) or absolute.resolve() in skip or absolute in seen:
                continue
            seen.add(absolute)
            relative = path.relative_to(root).as_posix()
            if explicit is not None:
                governing: Manifest | None = explicit
                entry = explicit.entry_for(relative)
            else:
                governing = finder.nearest(absolute)
                entry = (
                    governing.entry_for(absolute.relative_to(governing.folder).as_posix())
                    if governing is not None
                    else None
                )
            uploads.append(
                Upload(
                    relative,
                    path=path,
                    options=entry.options if entry else None,
                    manifest=governing.path if governing else None,
                    document_id=entry.document_id if entry else None,
                    located=True,
                )
            )
    return uploads


def _relative_name(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


def _bad_upload_name(name: str) -> str | None:
    """Why an uploaded file's name is refused: it must be a plain file name, as browsers send."""
    if lone_surrogate(name) is not None:
        return _NOT_UTF8_NAME
    if name.strip() != safe_name(name) or name.strip() in (".", ".."):
        return (
            f"the file name {name[:80]!r} holds folders, '..' or a leading dot; "
            "upload the file under its own plain name"
        )
    if any(ord(c) < 32 for c in name):
        return "the file name holds control characters; rename the file and upload it again"
    return None


def prepare_uploads(uploads: Sequence[Upload]) -> list[Upload]:
    """Every upload located and governed before anything is read.

    - a file given by path but not found by collect_files gets its manifest the same way;
    - a kb-manifest.csv among uploaded bytes is the batch's manifest (never a document) and
      governs the other uploaded files of the batch;
    - an uploaded name that is not a plain file name is refused.
    """
    batch_manifest: Manifest | None = None
    for upload in uploads:
        if upload.data is not None and upload.path is None and is_manifest_name(upload.name):
            text = upload.data.decode("utf-8-sig", errors="replace")
            entries = parse_manifest(text, f"{MANIFEST_NAME} (uploaded)")
            merged = {**(batch_manifest.entries if batch_manifest else {}), **entries}
            batch_manifest = Manifest(Path(MANIFEST_NAME), merged)
    prepared: list[Upload] = []
    for upload in uploads:
        if upload.located or upload.refused:
            prepared.append(upload)
        elif upload.path is not None:
            if is_manifest_name(upload.path.name):
                continue
            located = collect_files([upload.path])
            prepared += [replace(u, options=u.options or upload.options) for u in located]
        elif is_manifest_name(upload.name):
            continue
        elif (reason := _bad_upload_name(upload.name)) is not None:
            shown = printable("".join(c for c in upload.name if ord(c) >= 32))[:255] or "unnamed"
            prepared.append(replace(upload, name=shown, refused=reason))
        elif batch_manifest is not None:
            entry = batch_manifest.entry_for(upload.name)
            prepared.append(
                replace(
                    upload,
                    name=upload.name.strip(),
                    options=entry.options if entry else upload.options,
                    manifest=batch_manifest.path,
                    document_id=entry.document_id if entry else None,
                )
            )
        else:
            prepared.append(replace(upload, name=upload.name.strip()))
    return prepared


def document_id_for(name: str) -> str:
    """A readable id from a file's name or relative path.

    'Lost Card (v2).pdf' -> 'lost-card-v2'; 'cards/Lost Card.pdf' -> 'cards-lost-card' (a
    file at the ingest root keeps the id its bare name always gave)."""
    relative = PurePosixPath(name.replace("\\", "/"))
    parts = [p for p in relative.parts if p not in ("", ".", "..", "/")]
    if not parts:
        parts = [safe_name(name)]
    stem = "/".join([*parts[:-1], Path(safe_name(parts[-1])).stem])
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_stem.lower()).strip("-")[:60]
    if not slug:
        slug = "doc-" + hashlib.sha256(stem.encode()).hexdigest()[:10]
    return slug


def _store_original(
    kb: KnowledgeBase, session: WriteSession, data: bytes, digest: str, name: str
) -> str:
    """Keep a copy of the file by content hash so agents can open exactly what was ingested
    (on PostgreSQL in the writer's transaction: kb.original_files)."""
    stored = file_name(digest, Path(safe_name(name)).suffix)
    return kb.originals.keep(session.registry.db, data, stored)


def _stated_metadata_changed(info: DocumentInfo, options: DocumentOptions) -> DocumentInfo | None:
    """The document's metadata with the options applied, or None when nothing changes."""
    updated = options.apply_to(info)
    return None if updated == info else updated


def merge_options(batch: DocumentOptions, file: DocumentOptions | None) -> DocumentOptions:
    """A file's own options (its manifest row) over the batch's, field by field."""
    if file is None:
        return batch
    return DocumentOptions(
        category=file.category or batch.category,
        effective_date=file.effective_date or batch.effective_date,
        expiry_date=file.expiry_date or batch.expiry_date,
        groups=file.groups or batch.groups,
        owner=file.owner or batch.owner,
        review_by=file.review_by or batch.review_by,
        replaces=file.replaces or batch.replaces,
    )


class IngestRun:
    """One batch: owns the per-file logic; `KnowledgeBase.write` owns atomicity."""

    def __init__(
        self, kb: KnowledgeBase, options: DocumentOptions, draft_by: str | None = None
    ) -> None:
        self.kb = kb
        self.options = options
        self.draft_by = draft_by  # four-eyes publishing: each new version is a draft by them
        self.chunks_embedded = 0
        self.chunks_reused = 0
        self.reuse_vectors = True  # False embeds every passage again (the benchmark's baseline)
        settings = kb.settings
        self.limits = ParseLimits(
            max_unzipped_mb=settings.max_unzipped_mb,
            max_zip_entries=settings.max_zip_entries,
            max_pdf_pages=settings.max_pdf_pages,
            ocr_seconds_per_page=settings.ocr_seconds_per_page,
        )
        self.parser = shared_worker(settings.parse_memory_mb, settings.parse_timeout_seconds)
        self.upcoming: Upload | None = None  # the next file of the checkpoint, if any
        self._ahead: tuple[Upload, str] | None = None  # sent to the parser before its turn

    def _parse(self, upload: Upload, data: bytes, digest: str, max_bytes: int) -> ParsedDocument:
        if self._ahead is not None and self._ahead[0] is upload and self._ahead[1] == digest:
            self._ahead = None
            return self.parser.collect()
        self.drop_ahead()
        return self.parser.parse(
            data, safe_name(upload.name), max_bytes=max_bytes, limits=self.limits
        )

    def _look_ahead(self, session: WriteSession, max_bytes: int) -> None:
        """Send the next file to the parser now, so it is parsed while this one is embedded.

        Only a file that will need parsing: readable, within the size limit, and with content
        the knowledge base does not hold yet (an unchanged file is never parsed)."""
        upcoming, self.upcoming = self.upcoming, None
        if upcoming is None or upcoming.refused is not None or self.parser.busy:
            return
        try:
            if upcoming.size() > max_bytes:
                return
            data = upcoming.read()
        except (OSError, DocumentError):
            return  # its own turn reports the problem
        digest = hashlib.sha256(data).hexdigest()
        if not data or session.registry.current_document_with_hash(digest) is not None:
            return
        self.parser.submit(data, safe_name(upcoming.name), max_bytes=max_bytes, limits=self.limits)
        self._ahead = (upcoming, digest)

    def drop_ahead(self) -> None:
        if self._ahead is not None:
            self._ahead = None
            self.parser.discard()

    def ingest_file(self, session: WriteSession, upload: Upload) -> FileReport:
        started = time.perf_counter()
        name = upload.name
        try:
            if upload.refused is not None:
                raise DocumentError(upload.refused)
            report = self._ingest(
                session, upload, name, merge_options(self.options, upload.options)
            )
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
        source_key = name.lower()
        if options.replaces:
            existing = registry.document_row(options.replaces)
        elif upload.document_id:
            existing = registry.document_row(upload.document_id) or registry.find_by_source(
                source_key
            )
        else:
            existing = registry.find_by_source(source_key)
        document_id = existing["document_id"] if existing else None
        if document_id and existing["current_version"] is not None:
            current = registry.head_info(document_id)  # the newest version, scheduled or not
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
        pending = registry.pending_draft_hash(document_id) if document_id else None
        if self.draft_by is not None and pending is not None and pending[1] == digest:
            return FileReport(
                name,
                FileStatus.UNCHANGED,
                document_id,
                pending[0],
                reason=f"same content as draft v{pending[0]}, awaiting review",
                draft=True,
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
        parsed = self._parse(upload, data, digest, max_bytes)
        try:
            self._look_ahead(session, max_bytes)
        except Exception:  # only a speed-up: the next file's own turn parses it anyway
            logger.exception("could not send the next file to the parser early")
            self._ahead = None
        previous = registry.document_info(document_id) if document_id else None
        document_id = document_id or registry.new_document_id(
            upload.document_id or document_id_for(name)
        )
        version = registry.latest_version(document_id) + 1
        groups, group_source = choose_groups(
            manifest_groups=upload.options.groups if upload.options else None,
            stated_groups=self.options.groups,
            previous_groups=previous.groups if previous else None,
            governed=upload.manifest is not None,
            default_group=settings.default_group,
        )
        notice = None
        if group_source == GroupSource.DEFAULT:
            notice = (
                f"not covered by {MANIFEST_NAME if upload.manifest is None else upload.manifest.name}: "
                f"given the default group '{settings.default_group}' (KB_DEFAULT_GROUP); "
                "list it in the manifest with its groups to open it"
            )
            logger.warning("%s: %s", name, notice)
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
            groups=groups,
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
        # Only passages the index holds no vector for are embedded (kb.passage_vectors).
        passages = passage_vectors(
            registry.db,
            session.index,
            self.kb.embedder,
            [c.text for c in chunks],
            reuse=self.reuse_vectors,
        )
        vectors = passages.vectors
        self.chunks_embedded += passages.embedded
        self.chunks_reused += passages.reused

        registry.db.execute("SAVEPOINT file")
        draft = self.draft_by is not None
        try:
            original = _store_original(self.kb, session, data, digest, name)
            # A replacement keeps the document's identity (its original file name).
            key = existing["source_key"] if existing else source_key
            live = existing is not None and existing["current_version"] is not None
            if not (draft and live):  # a draft leaves a live document's row as it is
                registry.upsert_document(info, key, live=not draft)
            # Versions it replaces today leave the index; one in force until a scheduled
            # version's effective date stays (kb.validity). A draft replaces nothing yet.
            stale = registry.add_version(
                info,
                digest,
                chunks,
                parsed.page_count,
                len(data),
                original,
                draft=draft,
                ocr_pages=parsed.ocr_pages,
            )
            # One draft per document: a newer upload, draft or published, withdraws it.
            stale += registry.withdraw_drafts(
                document_id,
                f"replaced by {'draft ' if draft else ''}version {version}",
                keep=version,
            )
            if self.draft_by is not None:
                registry.submit_draft(info, self.draft_by)
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
        return FileReport(
            name,
            status,
            document_id,
            version,
            len(chunks),
            parsed.page_count,
            reason=notice,
            draft=draft,
            reused=passages.reused,
        )


def ingest_uploads(
    kb: KnowledgeBase,
    uploads: Sequence[Upload],
    options: DocumentOptions | None = None,
    *,
    progress: Progress | None = None,
    checkpoint_every: int = 200,
    on_file: Callable[[WriteSession, FileReport], None] | None = None,
    draft_by: str | None = None,
    reuse_vectors: bool = True,
) -> IngestReport:
    """Ingest a batch; every file gets a report line, whatever happens to the others.
    `on_file` runs in the write transaction after each file (e.g. to stage its audit row, so
    the row commits with the change: kb.audit.stage). With `draft_by` (four-eyes
    publishing, kb.publishing), each new document or version is a draft submitted by that
    person: stored and indexed, never answered until a second person approves it.
    `reuse_vectors=False` embeds every passage even when the index holds its vector."""
    started = time.perf_counter()
    uploads = prepare_uploads(uploads)
    run = IngestRun(kb, options or DocumentOptions(), draft_by)
    run.reuse_vectors = reuse_vectors
    reports: list[FileReport] = []
    for start in range(0, len(uploads), checkpoint_every):
        with kb.write() as session, run.parser.hold():
            batch = uploads[start : start + checkpoint_every]
            for i, upload in enumerate(batch):
                run.upcoming = batch[i + 1] if i + 1 < len(batch) else None
                report = run.ingest_file(session, upload)
                reports.append(report)
                if on_file is not None:
                    on_file(session, report)
                logger.info(
                    "%s: %s %s", report.source_name, report.status.value, report.reason or ""
                )
                if progress is not None:
                    progress(len(reports), len(uploads), report.source_name)
            run.drop_ahead()
    return IngestReport(
        tuple(reports), time.perf_counter() - started, run.chunks_embedded, run.chunks_reused
    )


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
    """Delete the stored originals that no version names; how many."""
    return kb.originals.remove_unnamed(kb.registry.db, named)
