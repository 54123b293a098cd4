"""Background ingestion jobs without a model: the job store on both backends, the state
rules, and what planning does with an uploaded .zip (zip-slip, zip bombs, links, names)."""

from __future__ import annotations

import io
import os
import socket
import stat
import subprocess
import sys
import time
import zipfile

import pytest

from ingest.archive import ArchiveLimits, entry_path, unpack_zip
from ingest.limits import LimitExceededError
from kb.ingest_jobs import UploadedFile, plan_files, runs_in_background
from kb.job_runner import is_gone, new_runner_name
from kb.jobs import (
    FileState,
    JobError,
    JobStatus,
    JobStore,
    PlannedFile,
    check_transition,
    options_from_json,
    options_to_json,
)
from kb.types import Category, DocumentOptions, FileReport, FileStatus

LIMITS = ArchiveLimits(max_entries=50, max_unzipped_bytes=1_000_000, max_file_bytes=100_000)
OPTIONS = DocumentOptions(category=Category.PROCEDURE, groups=("cards-team",), owner="Kim")


def zip_of(entries: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return buffer.getvalue()


@pytest.fixture
def store(backend_settings):
    built = JobStore(backend_settings.data_dir / "jobs.sqlite", backend_settings.data_dir / "jobs")
    yield built
    built.close()


def planned(n: int) -> list[PlannedFile]:
    return [PlannedFile(f"f{i}.md", f"# File {i}\n".encode()) for i in range(n)] + [
        PlannedFile("bad.exe", None, refused="not a document")
    ]


def test_a_job_is_stored_claimed_recorded_and_finished_on_both_backends(store):
    job_id = store.create("kim", OPTIONS, planned(3))
    job = store.job(job_id)
    assert (job.status, job.total, job.pending, job.options) == (JobStatus.QUEUED, 4, 4, OPTIONS)
    first = store.files(job_id)[0]
    assert store.data(first) == b"# File 0\n"
    assert store.unfinished() == [job_id]

    claimed, previous = store.claim("host:1:a", 30, lambda holder: False)
    assert (claimed.id, claimed.status, claimed.runner, previous) == (
        job_id, JobStatus.RUNNING, "host:1:a", "",
    )  # fmt: skip
    # One job at a time: another live runner gets nothing while the lease holds.
    assert store.claim("host:2:b", 30, lambda holder: False) is None
    store.record(job_id, [(0, FileReport("f0.md", FileStatus.ADDED, "f0", 1, chunks=2, draft=True)),
                          (3, FileReport("bad.exe", FileStatus.FAILED, reason="not a document"))])  # fmt: skip
    job = store.job(job_id)
    assert (job.done, job.failed, job.pending, job.chunks) == (1, 1, 2, 2)
    assert [f.name for f in store.files(job_id, FileState.PENDING)] == ["f1.md", "f2.md"]
    assert store.files(job_id, FileState.FAILED)[0].reason == "not a document"
    assert store.files(job_id)[0].draft and not store.files(job_id)[3].draft

    # The holder died (known gone): another runner takes it over and says from whom.
    taken, previous = store.claim("host:2:b", 30, lambda holder: holder == "host:1:a")
    assert (taken.runner, previous) == ("host:2:b", "host:1:a")
    assert not store.renew(job_id, "host:1:a") and store.renew(job_id, "host:2:b")
    with pytest.raises(JobError):
        store.finish(job_id, "host:1:a")
    done = store.finish(job_id, "host:2:b")
    assert (done.status, done.skipped, done.runner) == (JobStatus.DONE, 2, "")
    assert store.unfinished() == []
    with pytest.raises(JobError, match="a done job cannot become cancelled"):
        store.request_cancel(job_id)


def test_an_expired_lease_is_taken_over_and_a_queued_job_cancels_at_once(store):
    running = store.create("kim", OPTIONS, planned(1))
    store.claim("far:1:a", 0.2, lambda holder: False)
    time.sleep(0.3)
    assert store.claim("near:2:b", 0.2, lambda holder: False)[1] == "far:1:a"

    queued = store.create("kim", DocumentOptions(), planned(2))
    job = store.request_cancel(queued)
    assert (job.status, job.skipped, job.cancel_requested) == (JobStatus.CANCELLED, 3, True)
    # A running job is only asked to stop; its runner ends it as cancelled.
    assert store.request_cancel(running).status == JobStatus.RUNNING
    assert store.finish(running, "near:2:b").status == JobStatus.CANCELLED


def test_state_rules():
    assert check_transition(JobStatus.QUEUED, JobStatus.RUNNING) == JobStatus.RUNNING
    assert check_transition(JobStatus.RUNNING, JobStatus.RUNNING) == JobStatus.RUNNING
    for finished in (JobStatus.DONE, JobStatus.CANCELLED):
        for to in JobStatus:
            with pytest.raises(JobError):
                check_transition(finished, to)
    with pytest.raises(JobError):
        check_transition(JobStatus.QUEUED, JobStatus.DONE)


def test_options_survive_the_store():
    full = DocumentOptions(category=Category.FAQ, groups=("a", "b"), owner="o", replaces="x")
    for options in (full, DocumentOptions(), None):
        assert options_from_json(options_to_json(options)) == options


def test_large_batches_and_zips_run_in_the_background():
    assert runs_in_background([f"{i}.md" for i in range(20)])
    assert runs_in_background(["tree.ZIP"])
    assert not runs_in_background(["a.md", "b.pdf"])


@pytest.mark.parametrize(
    "name", ["../evil.md", "/etc/passwd", "a/../../b.md", "C:\\x.md", "..\\x.md", "a\x01b.md"]
)
def test_paths_leaving_the_folder_are_not_plain(name):
    assert entry_path(name) is None


def test_a_zip_unpacks_to_its_tree_and_refuses_what_is_unsafe(tmp_path):
    data = zip_of(
        {
            "cards/lost card.md": b"# Lost card\nBlock it.",
            "fees.txt": b"Fees",
            "../outside.md": b"slip",
            "/abs.md": b"abs",
            ".hidden/x.md": b"hidden",
            "__MACOSX/._fees.txt": b"junk",
            "big.txt": b"x" * 200_000,
        },
        links={"link.md": "/etc/passwd"},
    )
    refused = {r.name: r.reason for r in unpack_zip(data, tmp_path, LIMITS)}
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        "cards/lost card.md", "fees.txt",
    ]  # fmt: skip
    assert set(refused) == {"../outside.md", "/abs.md", "big.txt", "link.md"}
    assert "leaves the folder" in refused["../outside.md"]
    assert "KB_MAX_FILE_MB" in refused["big.txt"] and "symbolic link" in refused["link.md"]
    assert not (tmp_path.parent / "outside.md").exists()


def test_zip_bombs_and_too_many_entries_are_refused_before_unpacking(tmp_path):
    bomb = zip_of({f"part{i}.txt": b"\0" * 90_000 for i in range(12)})  # 1.08 MB declared
    assert len(bomb) < 20_000
    with pytest.raises(LimitExceededError, match="KB_MAX_UNZIPPED_MB"):
        unpack_zip(bomb, tmp_path, LIMITS)
    many = zip_of({f"{i}.txt": b"x" for i in range(51)})
    with pytest.raises(LimitExceededError, match="KB_MAX_ZIP_ENTRIES"):
        unpack_zip(many, tmp_path, LIMITS)
    assert list(tmp_path.iterdir()) == []


def test_planning_names_files_as_kb_ingest_does_and_applies_the_manifest(tmp_path):
    tree = zip_of(
        {
            "cards/lost.md": b"# Lost\nBlock the card.",
            "cards/kb-manifest.csv": b"file,groups\nlost.md,cards-team\n",
            "readme.txt": b"Read me",
        }
    )
    files = [
        UploadedFile("tree.zip", tree),
        UploadedFile("notes.md", b"# Notes"),
        UploadedFile("broken.zip", b"PK not really"),
    ]
    plan = {p.name: p for p in plan_files(files, LIMITS, tmp_path / "scratch")}
    assert set(plan) == {"cards/lost.md", "readme.txt", "notes.md", "broken.zip"}
    lost = plan["cards/lost.md"]
    assert lost.data == b"# Lost\nBlock the card." and lost.options.groups == ("cards-team",)
    assert lost.manifest == "cards/kb-manifest.csv"
    assert plan["readme.txt"].manifest is None
    assert plan["broken.zip"].data is None and "not a readable .zip" in plan["broken.zip"].refused
    assert list((tmp_path / "scratch").iterdir()) == []  # the unpacked copy is gone


def test_a_runner_is_known_gone_only_when_its_process_is():
    here = socket.gethostname()
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    assert is_gone(f"{here}:{ended.stdout.strip()}:a1b2c3d4")  # that process has exited
    assert not is_gone(new_runner_name())  # this process's own runner
    assert is_gone(f"{here}:{os.getpid()}:0ld0ne00")  # an earlier process with this pid
    assert not is_gone(f"{here}:1:a1b2c3d4")  # alive (init)
    assert not is_gone("another-host:123:a1b2c3d4")  # elsewhere: only its lease tells
