"""A background ingestion job survives a killed runner: `python -m kb.job_runner` is killed
(SIGKILL) after some files are done, started again, and the job completes with every file
once: no duplicate document, chunk or vector, the failed file listed with its reason, and
the audit trail telling the story (created, resumed, done; one `upload` per added file)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import zipfile

import pytest

from kb import job_runner
from kb.access import OPERATOR
from kb.ingest_jobs import UploadedFile
from kb.jobs import FileState, JobStatus, JobStore
from tests.conftest import BAD, REPO

pytestmark = pytest.mark.integration
TOPICS = ("card", "loan", "fees", "branch", "mortgage", "savings", "travel", "fraud")


def tree_zip(files: int = 12) -> bytes:
    """Small procedures in three folders, as a team would zip its share."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(files):
            topic = TOPICS[i % len(TOPICS)]
            archive.writestr(
                f"team-{i % 3}/{topic}-{i}.md",
                f"# {topic.title()} procedure {i}\n\nStep one for {topic} case {i}: verify the "
                f"caller's identity, then record reference {1000 + i} in the case log.\n",
            )
    return buffer.getvalue()


def runner(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "kb.job_runner", "--files-per-commit", "2", "--poll-seconds", "0.5"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def test_a_killed_runner_resumes_the_job_without_duplicates(services):
    settings = services.settings
    kim = services.users.add("kim", "knowledge", password="knowledge-pass")
    job = services.ingest_jobs().create(
        kim,
        [UploadedFile("procedures.zip", tree_zip()),
         UploadedFile("empty.txt", (BAD / "empty.txt").read_bytes())],
    )  # fmt: skip
    assert job.total == 13 and job.status == JobStatus.QUEUED
    env = {**os.environ, "KB_DATA_DIR": str(settings.data_dir), "KB_FOUR_EYES": "false"}
    store = JobStore(settings.data_dir / "jobs.sqlite", settings.data_dir / "jobs")

    first = runner(env)
    deadline = time.monotonic() + 180
    while store.job(job.id).done < 4:
        assert first.poll() is None, first.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "the runner did not get going"
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    killed = store.job(job.id)
    assert killed.status == JobStatus.RUNNING and 0 < killed.pending < killed.total
    assert killed.runner.split(":")[1] == str(first.pid)

    second = runner(env)
    try:
        assert second.wait(timeout=240) == 0, second.stderr.read().decode()[-2000:]
    finally:
        if second.poll() is None:
            second.kill()
    finished = store.job(job.id)
    assert (finished.status, finished.done, finished.failed, finished.pending) == (
        JobStatus.DONE, 12, 1, 0,
    )  # fmt: skip
    failed = store.files(job.id, FileState.FAILED)
    assert [f.name for f in failed] == ["empty.txt"] and failed[0].reason
    store.close()

    # Every file once: documents named by their path in the zip, chunks and vectors unique.
    documents = services.documents(reader=OPERATOR)
    assert sorted(d.source_name for d in documents) == sorted(
        f"team-{i % 3}/{TOPICS[i % len(TOPICS)]}-{i}.md" for i in range(12)
    )
    assert all(d.current_version == 1 for d in documents)
    chunks = sum(d.chunk_count for d in documents)
    assert chunks >= finished.chunks > 0
    assert len(services.kb.index) == chunks

    events = services.audit.events(action="ingest_job")
    stages = [e.details["event"] for e in sorted(events, key=lambda e: e.id)]
    assert stages == ["created", "resumed", "done"]
    added = [e.details["file"] for e in services.audit.events(action="upload")
             if e.details["status"] == "added"]  # fmt: skip
    assert sorted(added) == sorted(d.source_name for d in documents)


def test_a_job_on_postgres_keeps_its_files_in_the_database_and_a_rerun_adds_nothing(
    tmp_path, database_url, embedder
):
    from kb.services import Services
    from kb.store import KnowledgeBase
    from tests.conftest import drop_postgres, postgres_settings

    settings = postgres_settings(tmp_path / "kb", database_url, four_eyes=False)
    services = Services(settings, KnowledgeBase(settings, embedder))
    try:
        kim = services.users.add("kim", "knowledge", password="knowledge-pass")
        files = [
            UploadedFile("procedures.zip", tree_zip(3)),
            UploadedFile("a.md", b"# A\n\nAlpha."),
        ]
        first = services.ingest_jobs().create(kim, files)
        assert not (settings.data_dir / "jobs" / str(first.id)).exists()  # bytes in bytea
        done = job_runner.JobRunner(services, files_per_commit=3).run_next()
        assert (done.status, done.done, done.failed) == (JobStatus.DONE, 4, 0)
        again = services.ingest_jobs().create(kim, files)
        rerun = job_runner.JobRunner(services).run_next()
        assert rerun.id == again.id and rerun.chunks == 0
        outcomes = {f.outcome for f in services.ingest_jobs().store.files(again.id)}
        assert outcomes == {"unchanged"}
        documents = services.documents(reader=OPERATOR)
        assert len(documents) == 4 and len(services.kb.index) == sum(
            d.chunk_count for d in documents
        )
    finally:
        services.close()
        drop_postgres(settings)
