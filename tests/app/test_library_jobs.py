"""The Library's job panel with AppTest: a finished job shows its progress and its failed
file with the reason; a running job held by a runner elsewhere can be cancelled (the page's
own runner waits its turn: one job at a time per knowledge base), and agents see no jobs."""

from __future__ import annotations

import pytest

from kb import job_runner
from kb.ingest_jobs import UploadedFile
from kb.jobs import JobError, JobStatus
from tests.app.conftest import open_page
from tests.conftest import BAD

pytestmark = pytest.mark.integration


def upload(n: int) -> list[UploadedFile]:
    notes = [
        UploadedFile(f"note-{i}.md", f"# Note {i}\n\nCall reference {i}.".encode())
        for i in range(n)
    ]
    return [*notes, UploadedFile("empty.txt", (BAD / "empty.txt").read_bytes())]


def texts(app) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(
        str(getattr(e, "value", "") or getattr(e, "label", ""))
        for kind in ("markdown", "caption", "warning", "info", "button")
        for e in getattr(app, kind)
    )


def test_job_panel_shows_progress_failures_and_cancels(app_base):
    jobs = app_base.ingest_jobs()
    kim = app_base.users.get("kim")
    finished = jobs.create(kim, upload(3))
    assert job_runner.JobRunner(app_base).run_next().status == JobStatus.DONE

    page = open_page(app_base, "library", "kim")
    assert not page.exception
    shown = texts(page)
    assert f"Job {finished.id}: complete" in shown
    assert "3 ingested, 1 failed, 0 skipped, 0 to go." in shown
    assert "3 awaiting review" in shown  # four-eyes publishing: the job's files are drafts
    failure = next(w.value for w in page.warning if "files failed" in w.value)
    assert "empty.txt" in failure
    assert f"Cancel job {finished.id}" not in shown

    # A second job, held by a live runner on another machine: cancelling asks it to stop.
    running = jobs.create(kim, upload(1))
    jobs.store.claim("elsewhere:1:runner", 3600, lambda holder: False)
    page = open_page(app_base, "library", "kim")
    assert f"Job {running.id}: ingesting in the background" in texts(page)
    page.button(key=f"cancel-job-{running.id}").click().run()
    assert not page.exception
    assert "Stopping after the file in hand" in texts(page)
    assert jobs.store.job(running.id).cancel_requested
    # That runner ends it as cancelled; the page's runner thread, which waited, stops too.
    jobs.store.finish(running.id, "elsewhere:1:runner")
    if job_runner._thread is not None:
        job_runner._thread.join(timeout=30)
        assert not job_runner._thread.is_alive()
    zh = open_page(app_base, "library", "kim", language="zh")
    assert f"任务 {running.id}：已取消" in texts(zh)

    events = [e.details["event"] for e in app_base.audit.events(action="ingest_job")]
    assert sorted(events) == ["cancel requested", "created", "created", "done"]
    with pytest.raises(JobError, match="agent role cannot"):
        jobs.jobs(app_base.users.get("ana"))
