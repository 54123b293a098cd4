"""Property tests: over random folder trees with manifests here and there, every file gets
exactly one group source, the nearest manifest wins, and a manifest is never a document."""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from pathlib import Path, PurePosixPath

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.manifest import MANIFEST_NAME, GroupSource, choose_groups, nearest_manifest_folder
from ingest.pipeline import collect_files
from kb.types import EVERYONE

FOLDER_NAMES = ("a", "b", "Team")
FILE_NAMES = ("x.md", "y.txt", "Z.md", "kb-manifest.csv.md")
GROUPS = (None, ("g1",), ("g2", "g3"))
DEFAULT = "closed"

folders = st.lists(st.lists(st.sampled_from(FOLDER_NAMES), max_size=3).map(tuple), max_size=6).map(
    lambda found: sorted({()} | {f[:i] for f in found for i in range(len(f) + 1)})
)


@st.composite
def trees(draw):  # type: ignore[no-untyped-def]
    dirs = draw(folders)
    files = sorted(
        {
            (*folder, name)
            for folder in dirs
            for name in draw(st.sets(st.sampled_from(FILE_NAMES), max_size=3))
        }
    )
    manifests: dict[tuple[str, ...], dict[str, tuple[str, ...] | None]] = {}
    for folder in draw(st.sets(st.sampled_from(dirs))):
        below = [f for f in files if f[: len(folder)] == folder]
        listed = draw(st.sets(st.sampled_from(below))) if below else set()
        manifests[folder] = {
            "/".join(f[len(folder) :]): draw(st.sampled_from(GROUPS)) for f in sorted(listed)
        }
    root = draw(st.sampled_from(dirs))
    stated = draw(st.sampled_from((None, ("stated",))))
    return dirs, files, manifests, root, stated


def _manifest_text(rows: dict[str, tuple[str, ...] | None], upper: bool) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["file", "groups"])
    for name, groups in rows.items():
        writer.writerow([name.upper() if upper else name, ";".join(groups or ())])
    return out.getvalue()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees(), st.booleans())
def test_every_file_has_one_group_source_and_the_nearest_manifest_wins(tree, upper):
    dirs, files, manifests, root, stated = tree
    top = Path(tempfile.mkdtemp(prefix="manifest-props-"))
    try:
        for folder in dirs:
            top.joinpath(*folder).mkdir(parents=True, exist_ok=True)
        for file in files:
            top.joinpath(*file).write_text("text", encoding="utf-8")
        for folder, rows in manifests.items():
            top.joinpath(*folder, MANIFEST_NAME).write_text(
                _manifest_text(rows, upper), encoding="utf-8"
            )

        uploads = collect_files([top.joinpath(*root)])

        expected = {"/".join(f[len(root) :]) for f in files if f[: len(root)] == root}
        names = [u.name for u in uploads]
        assert sorted(names) == sorted(expected), "each file under the root exactly once"
        assert all(PurePosixPath(n).name != MANIFEST_NAME for n in names)
        for upload in uploads:
            assert upload.refused is None and upload.path is not None
            file = (*root, *PurePosixPath(upload.name).parts)
            governing = next(
                (file[:i] for i in range(len(file) - 1, -1, -1) if file[:i] in manifests), None
            )
            assert governing == _as_tuple(
                nearest_manifest_folder(
                    PurePosixPath(*file), [PurePosixPath(*m) for m in manifests]
                )
            )
            if governing is None:
                assert upload.manifest is None and upload.options is None
            else:
                assert upload.manifest == top.joinpath(*governing, MANIFEST_NAME).absolute()
                row_key = "/".join(file[len(governing) :])
                rows = manifests[governing]
                if row_key in rows:
                    assert upload.options is not None
                    assert upload.options.groups == rows[row_key]
                else:
                    assert upload.options is None
            groups, source = choose_groups(
                manifest_groups=upload.options.groups if upload.options else None,
                stated_groups=stated,
                previous_groups=None,
                governed=upload.manifest is not None,
                default_group=DEFAULT,
            )
            row_groups = upload.options.groups if upload.options else None
            if row_groups:
                assert (groups, source) == (row_groups, GroupSource.MANIFEST)
            elif stated:
                assert (groups, source) == (stated, GroupSource.STATED)
            elif governing is not None:
                assert (groups, source) == ((DEFAULT,), GroupSource.DEFAULT)
            else:
                assert (groups, source) == ((EVERYONE,), GroupSource.OPEN)
    finally:
        shutil.rmtree(top)


def _as_tuple(folder: PurePosixPath | None) -> tuple[str, ...] | None:
    return None if folder is None else tuple(folder.parts)
