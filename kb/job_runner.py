"""Works through background ingestion jobs (kb.jobs), one at a time per knowledge base.

Two ways to run it, the same code:
* inside the Streamlit server: `ensure_background(services)` starts one thread per process
  when jobs wait (app.py calls it on every run, so a restarted server resumes them as soon
  as anyone opens a page); the thread ends when no job is left;
* as a worker process: `python -m kb.job_runner` (until no job is left; `--forever` keeps
  polling), e.g. beside an API-only deployment.

How a job survives a kill: files are ingested in small batches, each one write
transaction (`Services.ingest`, the same path as the Library's own uploads, four-eyes and
audit included). Only after a batch has committed are its files marked done or failed in
the job store. A kill before the commit loses the batch's work and its files stay pending;
a kill between the commit and the marking leaves files pending that the registry already
holds, and the pipeline reports them `unchanged` by content hash when the job resumes.
Either way nothing is added twice.

Who may resume: the runner holding a job renews a lease (`heartbeat`) from a thread of its
own while it works. Another runner takes the job over when the lease has run out, or at
once when the holder was a process on this machine that no longer exists (a server killed
and restarted), and the audit trail records the takeover.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.pipeline import Upload
from kb.jobs import FileState, IngestJob, JobError, JobFile

if TYPE_CHECKING:
    from kb.services import Services

logger = logging.getLogger(__name__)

LEASE_SECONDS = 30.0
FILES_PER_COMMIT = 10
"""Files per write transaction: a kill loses at most this many files' work (redone on
resume), and a local index generation is saved once per batch, not once per file."""


class Interrupted(Exception):
    """Raised from the progress callback to roll back the batch in hand (cancel, lost lease)."""


_NAMED_HERE: set[str] = set()  # the runners this process has made


def new_runner_name() -> str:
    name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    _NAMED_HERE.add(name)
    return name


def is_gone(holder: str) -> bool:
    """Whether the runner named `holder` is known dead: a process of this machine that no
    longer exists, or an earlier process that had this one's pid (a restarted container
    often gets the same one). A runner on another machine is only presumed dead when its
    lease ends."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return holder not in _NAMED_HERE
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def upload_of(file: JobFile, data: bytes | None, problem: str | None = None) -> Upload:
    """The stored file as the pipeline takes it: located and governed when the job was made."""
    return Upload(
        file.name,
        data=data,
        options=file.options,
        manifest=Path(file.manifest) if file.manifest else None,
        document_id=file.explicit_id,
        refused=file.refused or problem,
        located=True,
    )


class JobRunner:
    def __init__(
        self,
        services: Services,
        *,
        files_per_commit: int = FILES_PER_COMMIT,
        lease_seconds: float = LEASE_SECONDS,
        name: str | None = None,
    ) -> None:
        if files_per_commit <= 0:
            raise ValueError(
                f"files_per_commit must be greater than 0. Currently, it is {files_per_commit}"
            )
        self.services = services
        self.store = services.ingest_jobs().store
        self.files_per_commit = files_per_commit
        self.lease_seconds = lease_seconds
        self.name = name or new_runner_name()
        _NAMED_HERE.add(self.name)

    def run_next(self) -> IngestJob | None:
        """Take the oldest unfinished job (if no other live runner holds one) and work it
        to its end; the finished job, or None if there was none to take or it was lost."""
        claimed = self.store.claim(self.name, self.lease_seconds, is_gone)
        if claimed is None:
            return None
        job, previous = claimed
        if previous:
            self.services.audit.record(
                "system", "ingest_job", event="resumed", job=job.id, by=job.created_by,
                previous_runner=previous, runner=self.name, done=job.done, failed=job.failed,
                pending=job.pending,
            )  # fmt: skip
        logger.info("job %s: %s of %s files to go", job.id, job.pending, job.total)
        return self._work(job)

    def run_until_idle(self, poll_seconds: float = 2.0) -> int:
        """Run jobs until none is left unfinished; how many this runner finished. Waits
        while another live runner holds one."""
        finished = 0
        while self.store.unfinished():
            if self.run_next() is not None:
                finished += 1
            else:
                time.sleep(poll_seconds)
        return finished

    def _work(self, job: IngestJob) -> IngestJob | None:
        stop, lost = threading.Event(), threading.Event()
        beat = threading.Thread(
            target=self._beat, args=(job.id, stop, lost), daemon=True, name=f"job-{job.id}-lease"
        )
        beat.start()
        try:
            while not lost.is_set() and not self.store.job(job.id).cancel_requested:
                if not self._batch(job, lost):
                    break
        except Exception:
            # The store or the knowledge base failed (not a file: files fail one by one).
            # Let another runner, or this one later, take the job up again.
            logger.exception("job %s stopped; it resumes later", job.id)
            self.store.release(job.id, self.name)
            return None
        finally:
            stop.set()
            beat.join()
        if lost.is_set():
            logger.warning("job %s was taken over by another runner", job.id)
            return None
        finished = self.store.finish(job.id, self.name)
        self.services.audit.record(
            "system", "ingest_job", event=finished.status.value, job=job.id, by=job.created_by,
            files=finished.total, done=finished.done, failed=finished.failed,
            skipped=finished.skipped, chunks=finished.chunks,
        )  # fmt: skip
        logger.info("job %s %s", job.id, finished.status.value)
        return finished

    def _batch(self, job: IngestJob, lost: threading.Event) -> bool:
        """Ingest the next pending files in one transaction; False when none is left."""
        pending = self.store.files(job.id, FileState.PENDING)[: self.files_per_commit]
        if not pending:
            return False
        uploads = []
        for file in pending:
            if file.refused is not None:
                uploads.append(upload_of(file, None))
                continue
            try:
                uploads.append(upload_of(file, self.store.data(file)))
            except JobError as e:
                uploads.append(upload_of(file, None, str(e)))

        def progress(done: int, total: int, name: str) -> None:
            if self.store.note_current(job.id, name) or lost.is_set():
                raise Interrupted  # rolls the batch back: its files stay pending

        try:
            report = self.services.ingest(
                uploads, job.options, progress, user=job.created_by, as_draft=True
            )
        except Interrupted:
            return True
        self.store.record(
            job.id, [(f.position, r) for f, r in zip(pending, report.files, strict=True)]
        )
        return True

    def _beat(self, job_id: int, stop: threading.Event, lost: threading.Event) -> None:
        while not stop.wait(self.lease_seconds / 3):
            try:
                if not self.store.renew(job_id, self.name):
                    lost.set()
                    return
            except Exception:  # a lost connection: the lease runs out, someone resumes
                logger.exception("could not renew the lease of job %s", job_id)


# ---------------------------------------------------------------------- in the app server

_thread: threading.Thread | None = None
_thread_lock = threading.Lock()


def ensure_background(services: Services, poll_seconds: float = 2.0) -> bool:
    """Start this process's runner thread if jobs wait and none is running; whether one
    runs now. Cheap when nothing waits (one query), so pages may call it on every run."""
    global _thread
    with _thread_lock:
        if _thread is not None and _thread.is_alive():
            return True
        if not services.ingest_jobs().unfinished():
            return False
        _thread = threading.Thread(
            target=_serve, args=(services, poll_seconds), daemon=True, name="ingest-jobs"
        )
        _thread.start()
        return True


def _serve(services: Services, poll_seconds: float) -> None:
    """The thread: run jobs until none is left. On an unexpected error (e.g. the services
    were closed) it ends; the next page run starts a new one with the current services."""
    try:
        JobRunner(services).run_until_idle(poll_seconds)
    except Exception:
        logger.exception("the background ingestion runner stopped")


# ---------------------------------------------------------------------- as a process


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kb.job_runner",
        description="Ingest the Library's background jobs of the knowledge base in KB_DATA_DIR "
        "(or KB_STORE=postgres), then exit when none is left.",
    )
    parser.add_argument("--forever", action="store_true", help="keep waiting for new jobs")
    parser.add_argument("--files-per-commit", type=int, default=FILES_PER_COMMIT)
    parser.add_argument("--poll-seconds", type=float, default=2.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    from kb.config import Settings
    from kb.services import build_services

    services = build_services(Settings())
    try:
        runner = JobRunner(services, files_per_commit=args.files_per_commit)
        while True:
            runner.run_until_idle(args.poll_seconds)
            if not args.forever:
                return 0
            time.sleep(args.poll_seconds)
    finally:
        services.close()


if __name__ == "__main__":
    raise SystemExit(main())
