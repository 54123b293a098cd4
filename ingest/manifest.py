"""Per-file metadata and access groups, from a CSV the knowledge team keeps beside the files.

Columns (header row required, any subset after `file`): file, id, category, effective_date,
expiry_date, review_by, owner, groups (separated by ';'). Empty cells mean 'infer or find in
the document'; an empty `groups` cell means 'the manifest does not say' (see below).

`file` is the path of the file relative to the manifest's folder, with '/' between folders
("fraud-playbook.docx", "fraud/2027/playbook.docx"); case does not matter. `id`, when given,
is the document's id in the knowledge base instead of one made from the path.

Which manifest governs a file: the nearest `kb-manifest.csv` walking up from the file's
folder, through the ingest root, up to the filesystem root. Walking past the ingest root is
deliberate: access must not depend on how an ingest was started (one file, its folder, a
parent folder), and a manifest higher up can only restrict or describe files it governs,
never reach into a folder that has a manifest of its own (the nearest one wins, whole).

How a file's groups are chosen (`choose_groups`), first that applies:
1. the governing manifest's row for the file states groups: those (MANIFEST);
2. the person ingesting stated groups (CLI --groups, the Library form): those (STATED);
3. the document already exists: its groups are kept (KEPT; a Library edit stays);
4. a manifest governs the file but does not say: the configured default group, which by
   default nobody holds, and the ingest report says so (DEFAULT): a file the knowledge team
   forgot to list is closed until someone lists it, not open to every agent;
5. no manifest governs the file and nobody stated groups: everyone, as the Library form and
   `kb ingest` without a manifest always did (OPEN).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path, PurePosixPath

from kb.errors import KBError
from kb.types import EVERYONE, Category, DocumentOptions

MANIFEST_NAME = "kb-manifest.csv"

_DOCUMENT_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,119}$")


class GroupSource(StrEnum):
    MANIFEST = "manifest"
    STATED = "stated"
    KEPT = "kept"
    DEFAULT = "default"
    OPEN = "open"


@dataclass(frozen=True)
class ManifestEntry:
    options: DocumentOptions
    document_id: str | None = None


@dataclass(frozen=True)
class Manifest:
    """One manifest: where it is (its folder governs) and its rows by lower-cased relative path."""

    path: Path
    entries: Mapping[str, ManifestEntry]

    @property
    def folder(self) -> Path:
        return self.path.parent

    def entry_for(self, relative: str) -> ManifestEntry | None:
        return self.entries.get(manifest_key(relative))


def manifest_key(relative: str) -> str:
    """How a row's `file` cell and a file's path relative to the manifest are compared."""
    parts = [p for p in relative.replace("\\", "/").split("/") if p not in ("", ".")]
    return "/".join(parts).lower()


def is_manifest_name(name: str) -> bool:
    return PurePosixPath(name.replace("\\", "/")).name.lower() == MANIFEST_NAME


def _cell(row: dict[str, str], key: str) -> str:
    return (row.get(key) or "").strip()


def parse_manifest(text: str, where: str) -> dict[str, ManifestEntry]:
    """Rows by lower-cased relative path; a bad row is an error naming the line."""
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames or "file" not in reader.fieldnames:
        raise KBError(f"manifest {where} needs a header row with a 'file' column")
    entries: dict[str, ManifestEntry] = {}
    for line, row in enumerate(reader, start=2):
        key = manifest_key(_cell(row, "file"))
        if not key:
            continue
        if ".." in key.split("/"):
            raise KBError(f"manifest {where}, line {line}: '..' is not allowed in a file path")
        document_id = _cell(row, "id") or None
        if document_id is not None and not _DOCUMENT_ID.match(document_id):
            raise KBError(
                f"manifest {where}, line {line}: id {document_id!r} must be lower-case "
                "letters, digits, '.', '_' or '-'"
            )
        try:
            category = _cell(row, "category")
            effective = _cell(row, "effective_date")
            expiry = _cell(row, "expiry_date")
            review_by = _cell(row, "review_by")
            groups = tuple(g.strip() for g in _cell(row, "groups").split(";") if g.strip())
            options = DocumentOptions(
                category=Category(category) if category else None,
                effective_date=dt.date.fromisoformat(effective) if effective else None,
                expiry_date=dt.date.fromisoformat(expiry) if expiry else None,
                groups=groups or None,
                owner=_cell(row, "owner") or None,
                review_by=dt.date.fromisoformat(review_by) if review_by else None,
            )
        except ValueError as e:
            raise KBError(f"manifest {where}, line {line}: {e}") from e
        entries[key] = ManifestEntry(options, document_id)
    return entries


def load_manifest(path: Path) -> Manifest:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise KBError(f"cannot read manifest {path}: {e}") from e
    return Manifest(path, parse_manifest(text, str(path)))


def read_manifest(path: Path) -> dict[str, DocumentOptions]:
    """Options by lower-cased relative path (a bare file name for files beside the manifest)."""
    return {key: entry.options for key, entry in load_manifest(path).entries.items()}


class ManifestFinder:
    """Finds the manifest that governs a file, reading each manifest and folder once."""

    def __init__(self) -> None:
        self._by_folder: dict[Path, Path | None] = {}
        self._loaded: dict[Path, Manifest] = {}

    def nearest(self, file: Path) -> Manifest | None:
        folder = file.absolute().parent
        seen: list[Path] = []
        found: Path | None = None
        for candidate in (folder, *folder.parents):
            if candidate in self._by_folder:
                found = self._by_folder[candidate]
                break
            seen.append(candidate)
            manifest = candidate / MANIFEST_NAME
            if manifest.is_file():
                found = manifest
                break
        for candidate in seen:
            self._by_folder[candidate] = found
        if found is None:
            return None
        if found not in self._loaded:
            self._loaded[found] = load_manifest(found)
        return self._loaded[found]


def nearest_manifest_folder(
    file: PurePosixPath, manifest_folders: Iterable[PurePosixPath]
) -> PurePosixPath | None:
    """The deepest folder holding a manifest that contains `file` (pure: for tests and reasoning)."""
    folders = set(manifest_folders)
    for candidate in file.parents:
        if candidate in folders:
            return candidate
    return None


def choose_groups(
    *,
    manifest_groups: tuple[str, ...] | None,
    stated_groups: tuple[str, ...] | None,
    previous_groups: tuple[str, ...] | None,
    governed: bool,
    default_group: str,
) -> tuple[tuple[str, ...], GroupSource]:
    """A file's access groups and where they came from: exactly one source (see module doc)."""
    if manifest_groups:
        return manifest_groups, GroupSource.MANIFEST
    if stated_groups:
        return stated_groups, GroupSource.STATED
    if previous_groups:
        return previous_groups, GroupSource.KEPT
    if governed:
        return (default_group,), GroupSource.DEFAULT
    return (EVERYONE,), GroupSource.OPEN
