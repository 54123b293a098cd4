"""Which manifest governs a file, what a file is called, and what is never read (no model)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingest.manifest import (
    GroupSource,
    ManifestFinder,
    choose_groups,
    load_manifest,
    read_manifest,
)
from ingest.pipeline import Upload, collect_files, document_id_for, prepare_uploads
from kb.errors import KBError
from kb.types import EVERYONE


def write(path: Path, text: str = "# Title\n\nSome text.\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def by_name(uploads: list[Upload]) -> dict[str, Upload]:
    return {u.name: u for u in uploads}


# ------------------------------------------------------------------ the manifest governs


@pytest.mark.security
def test_single_file_ingest_reads_the_manifest_beside_it(tmp_path):
    """Attack: `kb ingest folder/playbook.docx` alone; its folder's manifest must still apply."""
    write(tmp_path / "kb" / "kb-manifest.csv", "file,groups\nplaybook.md,fraud-team\n")
    playbook = write(tmp_path / "kb" / "playbook.md")
    (upload,) = collect_files([playbook])
    assert upload.options is not None and upload.options.groups == ("fraud-team",)
    assert upload.manifest == (tmp_path / "kb" / "kb-manifest.csv").absolute()


@pytest.mark.security
def test_parent_folder_ingest_reads_the_manifest_below_it(tmp_path):
    """Attack: ingest a parent of the governed folder; the folder's manifest must still apply."""
    write(
        tmp_path / "bank" / "samples" / "kb-manifest.csv", "file,groups\nplaybook.md,fraud-team\n"
    )
    write(tmp_path / "bank" / "samples" / "playbook.md")
    uploads = by_name(collect_files([tmp_path / "bank"]))
    assert set(uploads) == {"samples/playbook.md"}, "the manifest is never a document"
    playbook = uploads["samples/playbook.md"]
    assert playbook.options is not None and playbook.options.groups == ("fraud-team",)


def test_nearest_manifest_wins_whole_and_rows_are_paths_relative_to_it(tmp_path):
    write(tmp_path / "kb-manifest.csv", "file,groups\na.md,top\nsub/b.md,top-b\nsub/c.md,top-c\n")
    write(tmp_path / "sub" / "kb-manifest.csv", "file,groups\nb.md,sub-b\n")
    for name in ("a.md", "sub/b.md", "sub/c.md", "sub/deeper/a.md"):
        write(tmp_path / name)
    uploads = by_name(collect_files([tmp_path]))
    assert uploads["a.md"].options.groups == ("top",)
    assert uploads["sub/b.md"].options.groups == ("sub-b",)
    # sub/ has its own manifest: the top one's row for sub/c.md does not reach into it.
    assert uploads["sub/c.md"].options is None
    assert uploads["sub/c.md"].manifest == (tmp_path / "sub" / "kb-manifest.csv").absolute()
    # a bare name matches only the file beside the manifest, never one deeper down
    assert uploads["sub/deeper/a.md"].options is None


def test_an_explicit_manifest_governs_the_whole_batch_relative_to_the_root(tmp_path):
    write(tmp_path / "docs" / "kb-manifest.csv", "file,groups\na.md,from-disk\n")
    write(tmp_path / "docs" / "a.md")
    write(tmp_path / "docs" / "b.md")
    explicit = write(tmp_path / "other.csv", "file,groups,id\nb.md,stated,custom-id\n")
    uploads = by_name(collect_files([tmp_path / "docs"], explicit))
    assert uploads["a.md"].options is None and uploads["a.md"].manifest == explicit
    assert uploads["b.md"].options.groups == ("stated",)
    assert uploads["b.md"].document_id == "custom-id"


def test_manifest_rows_are_checked(tmp_path):
    manifest = write(tmp_path / "kb-manifest.csv", "file,groups\n../outside.md,x\n")
    with pytest.raises(KBError, match="line 2"):
        load_manifest(manifest)
    write(manifest, "file,id\na.md,Not An Id\n")
    with pytest.raises(KBError, match="id"):
        load_manifest(manifest)
    write(manifest, "file,groups\nSub/Fraud Playbook.PDF,a;b\n")
    assert read_manifest(manifest)["sub/fraud playbook.pdf"].groups == ("a", "b")


def test_manifest_finder_reads_each_manifest_once(tmp_path):
    write(tmp_path / "kb-manifest.csv", "file,groups\na.md,g\n")
    finder = ManifestFinder()
    first = finder.nearest(write(tmp_path / "x" / "y" / "a.md"))
    second = finder.nearest(write(tmp_path / "x" / "b.md"))
    assert first is second and first is not None


def test_choose_groups_has_one_source_in_order():
    base = dict(stated_groups=None, previous_groups=None, governed=True, default_group="closed")
    assert choose_groups(manifest_groups=("m",), **base) == (("m",), GroupSource.MANIFEST)
    assert choose_groups(manifest_groups=None, **base) == (("closed",), GroupSource.DEFAULT)
    assert choose_groups(manifest_groups=None, **{**base, "previous_groups": ("p",)}) == (
        ("p",),
        GroupSource.KEPT,
    )
    assert choose_groups(manifest_groups=None, **{**base, "stated_groups": ("s",)}) == (
        ("s",),
        GroupSource.STATED,
    )
    assert choose_groups(manifest_groups=None, **{**base, "governed": False}) == (
        (EVERYONE,),
        GroupSource.OPEN,
    )


# ------------------------------------------------------------------ identity


def test_document_ids_from_relative_paths():
    assert document_id_for("lost-stolen-card-procedure.docx") == "lost-stolen-card-procedure"
    assert document_id_for("Lost Card (v2).pdf") == "lost-card-v2"
    assert document_id_for("cards/Lost Card.pdf") == "cards-lost-card"
    assert document_id_for("a/procedure.docx") != document_id_for("b/procedure.docx")


def test_same_name_in_two_subfolders_are_two_uploads(tmp_path):
    write(tmp_path / "a" / "procedure.md")
    write(tmp_path / "b" / "procedure.md")
    write(tmp_path / "procedure.md")
    names = [u.name for u in collect_files([tmp_path])]
    assert names == ["a/procedure.md", "b/procedure.md", "procedure.md"]
    # A single file's root is its own folder: its identity is its bare name, as before.
    assert [u.name for u in collect_files([tmp_path / "a" / "procedure.md"])] == ["procedure.md"]


@pytest.mark.parametrize(
    "name", ["../../x.md", "a/x.md", "..\\x.md", "/etc/x.md", ".x.md", "x\x00.md", "x\n.md"]
)
def test_uploaded_names_with_folders_or_tricks_are_refused(name):
    (upload,) = prepare_uploads([Upload(name, data=b"text")])
    assert upload.refused is not None
    assert all(ord(c) >= 32 for c in upload.name)


def test_an_uploaded_manifest_governs_its_batch_and_is_not_a_document():
    uploads = prepare_uploads(
        [
            Upload("playbook.md", data=b"# Playbook"),
            Upload("kb-manifest.csv", data=b"file,groups\nplaybook.md,fraud-team\n"),
            Upload("notes.md", data=b"# Notes"),
        ]
    )
    found = by_name(uploads)
    assert set(found) == {"playbook.md", "notes.md"}
    assert found["playbook.md"].options.groups == ("fraud-team",)
    assert found["notes.md"].manifest is not None and found["notes.md"].options is None


# ------------------------------------------------------------------ links and special files


@pytest.mark.security
def test_links_are_refused_and_reported_never_followed(tmp_path):
    """Attack: links in an ingested folder (to /etc/passwd, dangling, a loop); each must be
    reported as refused and none followed."""
    docs = tmp_path / "docs"
    write(docs / "real.md")
    (docs / "passwd.txt").symlink_to("/etc/passwd")
    (docs / "dangling.md").symlink_to(docs / "missing.md")
    (docs / "loop").symlink_to(docs)
    outside = write(tmp_path / "secret" / "secret.md")
    (docs / "elsewhere").symlink_to(outside.parent)
    uploads = by_name(collect_files([docs]))
    assert set(uploads) == {"real.md", "passwd.txt", "dangling.md", "loop", "elsewhere"}
    assert uploads["real.md"].refused is None
    for name in ("passwd.txt", "dangling.md", "loop", "elsewhere"):
        assert "symbolic link" in (uploads[name].refused or ""), name


def test_a_link_given_by_name_is_refused(tmp_path):
    link = tmp_path / "link.md"
    link.symlink_to(write(tmp_path / "real.md"))
    (upload,) = collect_files([link])
    assert upload.refused and "symbolic link" in upload.refused


def test_a_pipe_is_refused_not_read(tmp_path):
    write(tmp_path / "real.md")
    os.mkfifo(tmp_path / "pipe.md")
    uploads = by_name(collect_files([tmp_path]))
    assert "not a regular file" in (uploads["pipe.md"].refused or "")


def test_reading_never_follows_a_link_swapped_in_after_listing(tmp_path):
    from kb.errors import DocumentError

    path = write(tmp_path / "a.md")
    (upload,) = collect_files([path])
    path.unlink()
    path.symlink_to("/etc/passwd")
    with pytest.raises(DocumentError):
        upload.read()
