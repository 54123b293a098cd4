"""The Library's background jobs: start one from a large upload, watch its progress, see
failed files with their reasons, cancel it.

The panel reads everything from the job store (kb.jobs) on each run, so leaving the page,
coming back or reloading shows the same progress; while a job is unfinished it refreshes
itself every few seconds (a fragment), and when one ends the whole page reruns so the
document list shows what it added.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from kb.errors import KBError
from kb.ingest_jobs import BACKGROUND_FROM_FILES, UploadedFile
from kb.job_runner import ensure_background
from kb.jobs import FINISHED, FileState, IngestJob, JobFile, JobStatus
from kb.services import Services
from kb.types import DocumentOptions
from kb.users import User
from ui.i18n import t
from ui.shared import as_text, done

REFRESH_SECONDS = 2
SHOWN_JOBS = 5
_ACTIVE = "jobs-active"  # ids of the jobs unfinished at the panel's last run (UI state)

HEADINGS = {
    JobStatus.QUEUED: "Job {id}: waiting for the background runner",
    JobStatus.RUNNING: "Job {id}: ingesting in the background",
    JobStatus.DONE: "Job {id}: complete",
    JobStatus.CANCELLED: "Job {id}: cancelled",
}
STATES = {
    FileState.PENDING: "not yet ingested", FileState.DONE: "ingested",
    FileState.FAILED: "failed", FileState.SKIPPED: "skipped (job cancelled)",
}  # fmt: skip


def outcome(file: JobFile) -> str:
    """A file's result as the Library's own upload report says it (a draft says so)."""
    if not file.outcome:
        return ""
    if file.draft and file.outcome in ("added", "updated"):
        return t("{status} (draft: awaiting review)", status=t(file.outcome))
    return t(file.outcome)


def explain() -> None:
    st.caption(
        t(
            "A .zip of a folder tree, or {n} files or more, is ingested as a background job: "
            "the page returns at once and you can leave it while the job runs.",
            n=BACKGROUND_FROM_FILES,
        )
    )


def start_job(
    services: Services, user: User, files: Sequence[Any], options: DocumentOptions
) -> None:
    """Store the upload as a job, make sure a runner works on it, say so at the top."""
    try:
        job = services.ingest_jobs().create(
            user, [UploadedFile(f.name, f.getvalue()) for f in files], options
        )
    except KBError as e:
        st.error(t("Could not start the job: {reason}", reason=as_text(str(e))))
        return
    ensure_background(services)
    done(
        t(
            "Job {id} started: {files} files are ingested in the background. You can leave "
            "this page and come back; the job goes on, and resumes after a restart.",
            id=job.id,
            files=job.total,
        )
    )


def show_jobs(services: Services, user: User) -> None:
    """The newest jobs this person may see; refreshing itself while one is unfinished."""
    jobs = services.ingest_jobs().jobs(user, SHOWN_JOBS)
    if not jobs:
        return
    active = any(j.status not in FINISHED for j in jobs)
    st.session_state[_ACTIVE] = {j.id for j in jobs if j.status not in FINISHED}
    st.fragment(run_every=REFRESH_SECONDS if active else None)(_panel)(services, user)


def _panel(services: Services, user: User) -> None:
    jobs = services.ingest_jobs().jobs(user, SHOWN_JOBS)
    unfinished = {j.id for j in jobs if j.status not in FINISHED}
    if unfinished:
        ensure_background(services)  # e.g. after a restart, or a runner that stopped
    if st.session_state.get(_ACTIVE, set()) - unfinished:
        st.session_state[_ACTIVE] = unfinished
        st.rerun(scope="app")  # a job ended: the document list shows what it added
    st.subheader(t("Background jobs"))
    for job in jobs:
        _job(services, user, job)


def _job(services: Services, user: User, job: IngestJob) -> None:
    with st.container(border=True):
        st.markdown(f"**{t(HEADINGS[job.status], id=job.id)}**")
        at = job.created_at[:16].replace("T", " ")  # stored as ISO 8601 in UTC
        st.caption(t("Started by {user} at {at} UTC.", user=job.created_by, at=at))
        st.progress(
            job.processed / job.total if job.total else 1.0,
            text=t(
                "{processed} of {total} files, {chunks} passages",
                processed=job.processed, total=job.total, chunks=job.chunks,
            ),
        )  # fmt: skip
        st.caption(
            t(
                "{done} ingested, {failed} failed, {skipped} skipped, {pending} to go.",
                done=job.done, failed=job.failed, skipped=job.skipped, pending=job.pending,
            )
        )  # fmt: skip
        if job.status == JobStatus.RUNNING and job.current:
            st.caption(t("Last file: {name}", name=as_text(job.current)))
        if job.cancel_requested and job.status not in FINISHED:
            st.info(t("Stopping after the file in hand; files not reached are skipped."))
        files = services.ingest_jobs().files(job.id, user)
        drafts = sum(1 for f in files if f.draft and f.outcome in ("added", "updated"))
        if drafts:
            st.caption(
                t(
                    "{n} awaiting review: a second person (knowledge team or admin) approves "
                    "them below before agents see them.",
                    n=drafts,
                )
            )
        failed = [f for f in files if f.state == FileState.FAILED]
        if failed:
            st.warning(
                t("{n} files failed:", n=len(failed)) + "\n\n"
                + "\n".join(f"- {as_text(f.name)}: {as_text(f.reason or '')}" for f in failed)
            )  # fmt: skip
        with st.expander(t("Files of job {id}", id=job.id)):
            st.dataframe(
                [{t("File"): f.name, t("State"): t(STATES[f.state]),
                  t("Result"): outcome(f), t("Document"): f.document_id,
                  t("Chunks"): f.chunks, t("Reason"): f.reason or ""} for f in files],
                hide_index=True, width="stretch",
            )  # fmt: skip
        cancellable = job.status not in FINISHED and not job.cancel_requested
        if cancellable and st.button(t("Cancel job {id}", id=job.id), key=f"cancel-job-{job.id}"):
            try:
                services.ingest_jobs().cancel(job.id, user)
            except KBError as e:
                st.error(as_text(str(e)))
            st.rerun()
