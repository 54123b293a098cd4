"""The service behind background ingestion: turn a large upload into a job, list jobs,
cancel one. The runner that works through them is kb.job_runner.

Who: only the roles that curate the base (kb.access.PERMISSION_ROLES: knowledge team and
admin) create, see and cancel jobs, as only they open the Library. A job with access groups
is listed to those who may read those groups, and always to whoever created it.

What a job's files are called: a loose file keeps its uploaded name (a bare file name, as a
batch in the Library, with an uploaded kb-manifest.csv governing the others); a .zip is
unpacked safely (ingest.archive) and its files are named by their path inside it, with the
kb-manifest.csv files it holds governing them, exactly as `kb ingest <that folder>` would
(ingest.pipeline.collect_files). The batch's options (category, dates, owner, access groups)
apply to every file, under what a manifest row says for a file.

Every step is audited as `ingest_job` (created, resumed, finished, cancelled); each file's
outcome is audited by the ingest itself (`upload`, `version_change`, `draft_created`), in
the transaction that writes it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.archive import ArchiveLimits, is_zip_name, unpack_zip
from ingest.pipeline import Upload, collect_files, prepare_uploads
from kb.access import PERMISSION_ROLES, Reader
from kb.errors import DocumentError
from kb.jobs import (
    FileState,
    IngestJob,
    JobError,
    JobFile,
    JobStatus,
    JobStore,
    PlannedFile,
)
from kb.types import DocumentOptions

if TYPE_CHECKING:
    from kb.config import Settings
    from kb.services import Services
    from kb.users import User

BACKGROUND_FROM_FILES = 20
"""An upload of this many files or more (or any .zip) runs as a background job."""


def runs_in_background(names: Sequence[str]) -> bool:
    return len(names) >= BACKGROUND_FROM_FILES or any(is_zip_name(n) for n in names)


@dataclass(frozen=True)
class UploadedFile:
    """A file as the Library received it."""

    name: str
    data: bytes


def archive_limits(settings: Settings) -> ArchiveLimits:
    """The limits an uploaded .zip is held to: the Office-archive limits and the file limit."""
    return ArchiveLimits(
        max_entries=settings.max_zip_entries,
        max_unzipped_bytes=int(settings.max_unzipped_mb * 1_000_000),
        max_file_bytes=int(settings.max_file_mb * 1_000_000),
    )


def plan_files(
    files: Sequence[UploadedFile], limits: ArchiveLimits, scratch: Path
) -> Iterator[PlannedFile]:
    """Each uploaded file, or each file inside an uploaded .zip, located and governed as
    the ingest would, before anything is parsed. A .zip is unpacked under `scratch` (a
    folder on the data dir's disk) and removed as soon as its files are read."""
    loose = [Upload(f.name, data=f.data) for f in files if not is_zip_name(f.name)]
    for upload in prepare_uploads(loose):
        yield _planned(upload, None)
    for archive in (f for f in files if is_zip_name(f.name)):
        scratch.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=scratch) as folder:
            root = Path(folder)
            try:
                refused = unpack_zip(archive.data, root, limits)
            except DocumentError as e:
                yield PlannedFile(archive.name, None, refused=e.reason)
                continue
            for entry in refused:
                yield PlannedFile(entry.name, None, refused=entry.reason)
            for upload in collect_files([root]):
                yield _planned(upload, root)


def _planned(upload: Upload, root: Path | None) -> PlannedFile:
    manifest = None
    if upload.manifest is not None:
        manifest = (
            upload.manifest.relative_to(root).as_posix()
            if root is not None and upload.manifest.is_relative_to(root)
            else upload.manifest.name
        )
    data = None
    if upload.refused is None:
        try:
            data = upload.read()
        except DocumentError as e:
            return PlannedFile(upload.name, None, refused=e.reason)
    return PlannedFile(
        upload.name, data, upload.options, manifest, upload.document_id, upload.refused
    )


class IngestJobs:
    """Background ingestion jobs of one knowledge base (Services.ingest_jobs)."""

    def __init__(self, services: Services, store: JobStore) -> None:
        self.services = services
        self.store = store

    def close(self) -> None:
        self.store.close()

    @staticmethod
    def may_manage(user: User) -> bool:
        return user.role in PERMISSION_ROLES and not user.disabled

    def _require(self, user: User) -> None:
        if not self.may_manage(user):
            raise JobError(
                f"the {user.role} role cannot run ingestion jobs: the knowledge team and "
                "administrators can"
            )

    def _visible(self, job: IngestJob, user: User) -> bool:
        return job.created_by == user.name or Reader.of(user).can_read(job.groups)

    def create(
        self, user: User, files: Sequence[UploadedFile], options: DocumentOptions | None = None
    ) -> IngestJob:
        """Store the upload as a queued job and return at once; a runner ingests it."""
        self._require(user)
        if not files:
            raise JobError("a job needs at least one file")
        options = options or DocumentOptions()
        settings = self.services.settings
        planned = plan_files(files, archive_limits(settings), settings.data_dir / "jobs" / "unpack")
        job_id = self.store.create(user.name, options, planned)
        job = self.store.job(job_id)
        self.services.audit.record(
            user.name, "ingest_job", event="created", job=job_id, files=job.total,
            uploads=[f.name for f in files], groups=list(options.groups or ()),
        )  # fmt: skip
        return job

    def jobs(self, user: User, limit: int = 10) -> list[IngestJob]:
        """The newest jobs `user` may see."""
        self._require(user)
        return [j for j in self.store.jobs(limit) if self._visible(j, user)]

    def job(self, job_id: int, user: User) -> IngestJob:
        self._require(user)
        job = self.store.job(job_id)
        if not self._visible(job, user):
            raise JobError(f"no job with id {job_id}")
        return job

    def files(self, job_id: int, user: User, state: FileState | None = None) -> list[JobFile]:
        self.job(job_id, user)
        return self.store.files(job_id, state)

    def cancel(self, job_id: int, user: User) -> IngestJob:
        """Cancel a queued job at once, or ask its runner to stop a running one."""
        job = self.job(job_id, user)
        cancelled = self.store.request_cancel(job.id)
        at_once = cancelled.status == JobStatus.CANCELLED  # it was still queued
        self.services.audit.record(
            user.name, "ingest_job", event="cancelled" if at_once else "cancel requested",
            job=job_id,
            done=cancelled.done, failed=cancelled.failed, pending=cancelled.pending,
        )  # fmt: skip
        return cancelled

    def unfinished(self) -> list[int]:
        return self.store.unfinished()
