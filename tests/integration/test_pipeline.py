"""Ingest semantics with the real model: idempotence, versions, delete, atomicity, locking."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.pipeline import Upload
from kb.access import OPERATOR
from kb.errors import KBError
from kb.types import DocumentOptions, FileStatus

pytestmark = pytest.mark.integration

LOST_CARD = """# Card services

## Lost or stolen cards

When a customer reports a lost or stolen debit card, block it before anything else.

1. Confirm the caller's identity with two security questions.
2. Block the card in CardHub with reason code LS01.
3. Order a replacement card: standard delivery is free and takes 5-7 working days.
4. Offer express delivery for £15 (next working day).
"""

WIRE = """# Payments

## International transfers

The cut-off time for same-day EUR transfers is 15:00 UK time. USD transfers sent after
14:00 leave the next working day. The daily online limit for personal accounts is £25,000.
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_reingest_unchanged_does_nothing(services, tmp_path):
    folder = tmp_path / "docs"
    write(folder, "lost-card.md", LOST_CARD)
    write(folder, "wire.md", WIRE)
    first = services.ingest_paths([folder])
    assert [f.status for f in first.files] == [FileStatus.ADDED, FileStatus.ADDED]
    assert first.chunks_embedded > 0
    generation = services.kb.registry.index_generation()

    second = services.ingest_paths([folder])
    assert [f.status for f in second.files] == [FileStatus.UNCHANGED, FileStatus.UNCHANGED]
    assert second.chunks_embedded == 0
    assert services.kb.registry.index_generation() == generation  # nothing rewritten


def test_changed_file_becomes_new_version_and_old_chunks_leave_search(services, tmp_path):
    folder = tmp_path / "docs"
    path = write(folder, "lost-card.md", LOST_CARD)
    services.ingest_paths([folder])
    old_ids = set(services.kb.registry.current_chunk_ids())

    path.write_text(LOST_CARD.replace("£15", "£12").replace("LS01", "LS02"), encoding="utf-8")
    report = services.ingest_paths([folder])
    assert report.files[0].status == FileStatus.UPDATED
    assert report.files[0].version == 2

    record = services.document(report.files[0].document_id, reader=OPERATOR)
    assert [(v.version, v.status) for v in record.versions] == [(1, "superseded"), (2, "current")]
    current = set(services.kb.registry.current_chunk_ids())
    assert current.isdisjoint(old_ids)
    assert set(services.kb.index.ids) == current  # the index holds exactly the current chunks
    texts = " ".join(
        chunk.text for chunk, _ in services.search("express card delivery fee", 10, reader=OPERATOR)
    )
    assert "£12" in texts and "£15" not in texts and "LS01" not in texts


def test_delete_removes_from_search_at_once(services, tmp_path):
    folder = tmp_path / "docs"
    write(folder, "lost-card.md", LOST_CARD)
    write(folder, "wire.md", WIRE)
    report = services.ingest_paths([folder])
    lost_id = report.files[0].document_id
    assert (
        services.search("block a stolen debit card", 1, reader=OPERATOR)[0][0].document.document_id
        == lost_id
    )

    removed = services.delete(lost_id, reader=OPERATOR)
    assert removed > 0
    hits = services.search("block a stolen debit card replacement", 10, reader=OPERATOR)
    assert hits and all(chunk.document.document_id != lost_id for chunk, _ in hits)
    assert [d.document_id for d in services.documents(reader=OPERATOR)] == [
        report.files[1].document_id
    ]
    assert services.document(lost_id, reader=OPERATOR).versions[-1].status == "deleted"
    with pytest.raises(KBError):
        services.delete(lost_id, reader=OPERATOR)


def test_deleted_document_comes_back_as_a_new_version(services, tmp_path):
    folder = tmp_path / "docs"
    write(folder, "wire.md", WIRE)
    doc_id = services.ingest_paths([folder]).files[0].document_id
    services.delete(doc_id, reader=OPERATOR)
    again = services.ingest_paths([folder]).files[0]
    assert again.status == FileStatus.UPDATED and again.version == 2
    assert [v.status for v in services.document(doc_id, reader=OPERATOR).versions] == [
        "deleted",
        "current",
    ]


def test_bad_file_is_reported_and_batch_continues(services, tmp_path):
    folder = tmp_path / "docs"
    write(folder, "a-lost-card.md", LOST_CARD)
    (folder / "b-broken.pdf").write_bytes(b"<html><body>not a pdf</body></html>")
    (folder / "c-empty.txt").write_bytes(b"")
    write(folder, "d-wire.md", WIRE)
    report = services.ingest_paths([folder])
    statuses = {f.source_name: f.status for f in report.files}
    assert statuses == {
        "a-lost-card.md": FileStatus.ADDED,
        "b-broken.pdf": FileStatus.FAILED,
        "c-empty.txt": FileStatus.FAILED,
        "d-wire.md": FileStatus.ADDED,
    }
    reasons = {f.source_name: f.reason for f in report.files}
    assert "web page" in reasons["b-broken.pdf"]
    assert "empty" in reasons["c-empty.txt"]
    assert len(services.documents(reader=OPERATOR)) == 2


def test_oversized_file_is_refused_before_reading(embedder, tmp_path):
    from kb.config import Settings
    from kb.services import Services
    from kb.store import KnowledgeBase

    settings = Settings(data_dir=tmp_path / "kb", max_file_mb=0.001)
    services = Services(settings, KnowledgeBase(settings, embedder))
    path = write(tmp_path / "docs", "big.md", LOST_CARD * 10)
    report = services.ingest_paths([path])
    assert report.files[0].status == FileStatus.FAILED
    assert "over the 0.001 MB limit" in report.files[0].reason


def test_upload_names_are_never_paths(services, tmp_path):
    upload = Upload("../../etc/evil/../lost-card.md", data=LOST_CARD.encode())
    report = services.ingest([upload, Upload("lost-card.md", data=LOST_CARD.encode())])
    refused, plain = report.files
    assert refused.status == FileStatus.FAILED and "folders" in (refused.reason or "")
    assert plain.status == FileStatus.ADDED and plain.source_name == "lost-card.md"
    originals = list(services.settings.originals_dir.iterdir())
    assert len(originals) == 1 and originals[0].parent == services.settings.originals_dir


def test_groups_from_options_and_metadata_only_update(services, tmp_path):
    path = write(tmp_path / "docs", "wire.md", WIRE)
    first = services.ingest_paths([path], DocumentOptions(groups=("payments-team",))).files[0]
    assert services.document(first.document_id, reader=OPERATOR).groups == ("payments-team",)
    # Same bytes, default options: groups kept, nothing happens.
    assert services.ingest_paths([path]).files[0].status == FileStatus.UNCHANGED
    # Same bytes, new groups: metadata updated without a new version or re-embedding.
    report = services.ingest_paths([path], DocumentOptions(groups=("everyone",)))
    assert report.files[0].status == FileStatus.UPDATED and report.chunks_embedded == 0
    assert services.document(first.document_id, reader=OPERATOR).groups == ("everyone",)
    assert services.document(first.document_id, reader=OPERATOR).current_version == 1
    hit = services.search("EUR cut-off time", 1, reader=OPERATOR)[0][0]
    assert hit.document.groups == ("everyone",)


def test_failure_while_publishing_leaves_previous_base(services, tmp_path, monkeypatch):
    from kb.index import FaissIndex

    folder = tmp_path / "docs"
    write(folder, "wire.md", WIRE)
    services.ingest_paths([folder])
    before = services.kb.registry.current_chunk_ids()

    def broken_save(self, directory, generation):
        raise OSError("disk full")

    write(folder, "lost-card.md", LOST_CARD)
    monkeypatch.setattr(FaissIndex, "save", broken_save)
    with pytest.raises(OSError):
        services.ingest_paths([folder])
    monkeypatch.undo()
    assert services.kb.registry.current_chunk_ids() == before
    assert [d.source_name for d in services.documents(reader=OPERATOR)] == ["wire.md"]
    assert (
        services.search("EUR cut-off", 1, reader=OPERATOR)[0][0].document.source_name == "wire.md"
    )


def _kb_command(data_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "kb.cli", *args]


def _env(data_dir: Path) -> dict[str, str]:
    return {**os.environ, "KB_DATA_DIR": str(data_dir)}


def _make_batch(folder: Path, count: int) -> None:
    for i in range(count):
        write(
            folder,
            f"procedure-{i:03d}.md",
            LOST_CARD.replace("LS01", f"LS{i:03d}") + f"\nRef {i}.\n",
        )


@pytest.mark.slow
def test_kill_during_ingest_leaves_previous_base_loadable(tmp_path, embedder):
    from kb.config import Settings
    from kb.store import KnowledgeBase

    data_dir = tmp_path / "kb"
    base = tmp_path / "base"
    write(base, "wire.md", WIRE)
    subprocess.run(
        _kb_command(data_dir, "ingest", "--no-progress", str(base)), env=_env(data_dir), check=True
    )

    batch = tmp_path / "batch"
    _make_batch(batch, 40)
    process = subprocess.Popen(
        _kb_command(data_dir, "ingest", "--no-progress", str(batch)),
        env=_env(data_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    originals = data_dir / "originals"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(originals.glob("*"))) < 4:
        time.sleep(0.02)
    assert process.poll() is None, "ingest finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()

    kb = KnowledgeBase(Settings(data_dir=data_dir), embedder)
    assert [d.source_name for d in kb.registry.documents()] == ["wire.md"]
    assert set(kb.index.ids) == set(kb.registry.current_chunk_ids())
    assert kb.search("EUR transfer cut-off", 1)[0][0].document.source_name == "wire.md"
    kb.close()

    # And the next ingest completes normally.
    done = subprocess.run(
        _kb_command(data_dir, "ingest", "--no-progress", str(batch)),
        env=_env(data_dir),
        capture_output=True,
        text=True,
        check=True,
    )
    assert "40 added" in done.stdout


@pytest.mark.slow
def test_two_ingests_at_once_do_not_corrupt(tmp_path, embedder):
    from kb.config import Settings
    from kb.store import KnowledgeBase

    data_dir = tmp_path / "kb"
    first, second = tmp_path / "first", tmp_path / "second"
    _make_batch(first, 6)
    for i in range(6):
        write(second, f"wire-{i}.md", WIRE + f"\nBranch note {i}.\n")
    processes = [
        subprocess.Popen(
            _kb_command(data_dir, "ingest", "--no-progress", str(folder)),
            env=_env(data_dir),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for folder in (first, second)
    ]
    outputs = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    kb = KnowledgeBase(Settings(data_dir=data_dir), embedder)
    assert len(kb.registry.documents()) == 12
    assert set(kb.index.ids) == set(kb.registry.current_chunk_ids())
    kb.close()


def test_same_bytes_under_another_name_is_not_added_twice(services, tmp_path):
    folder = tmp_path / "docs"
    write(folder, "wire.md", WIRE)
    write(folder, "wire-copy.md", WIRE)
    report = services.ingest_paths([folder])
    by_name = {f.source_name: f for f in report.files}
    assert by_name["wire-copy.md"].status == FileStatus.ADDED
    assert by_name["wire.md"].status == FileStatus.UNCHANGED
    assert "same content as wire-copy.md" in by_name["wire.md"].reason
    assert len(services.documents(reader=OPERATOR)) == 1


def test_index_reloads_from_disk_as_a_langchain_store_without_pickle(services, tmp_path, embedder):
    from kb.store import KnowledgeBase

    folder = tmp_path / "docs"
    write(folder, "lost-card.md", LOST_CARD)
    write(folder, "wire.md", WIRE)
    services.ingest_paths([folder])
    files = sorted(p.name for p in services.settings.index_dir.iterdir())
    assert files == ["gen-000001.faiss", "gen-000001.json"]
    assert not list(services.settings.data_dir.rglob("*.pkl"))

    fresh = KnowledgeBase(services.settings, embedder)  # a new process would do the same
    docs = fresh.index.store.similarity_search("express replacement card delivery", k=1)
    assert docs[0].metadata["source_name"] == "lost-card.md"
    assert docs[0].metadata["title"] == "Card services"  # no stated title: the first heading
    assert docs[0].metadata["section"] == "Lost or stolen cards"
    assert docs[0].metadata["kind"] == "procedure"
    assert "4. Offer express delivery for £15" in docs[0].page_content
    fresh.close()
