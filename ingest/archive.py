"""Unpack an uploaded .zip of a folder tree safely, so `collect_files` can name its files.

A zip from outside is hostile until proven otherwise:

- zip-slip: an entry named `../../etc/cron.d/x`, `/etc/passwd` or `C:\\x` must never land
  outside the folder it is unpacked into; such entries are refused and reported, never
  rewritten into a harmless-looking name that could land on another document;
- links: an entry that is a symbolic link is refused (collect_files would refuse it anyway,
  and a link written to disk could point a later entry outside the folder);
- zip bombs: the entry count and the declared unpacked total are checked against
  KB_MAX_ZIP_ENTRIES and KB_MAX_UNZIPPED_MB before a byte is inflated, and each entry is read
  with a counter that stops at its declared size, so a lying header cannot unpack more;
  an entry over KB_MAX_FILE_MB is refused without being inflated.

Hidden entries (a part starting with '.') and macOS's `__MACOSX` folder are skipped as
`kb ingest <folder>` skips hidden files. Entries are written with O_EXCL|O_NOFOLLOW: two
entries with the same name are reported, never merged.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ingest.limits import LimitExceededError
from kb.errors import DocumentError

_CHUNK = 1 << 20


@dataclass(frozen=True)
class ArchiveLimits:
    max_entries: int
    max_unzipped_bytes: int
    max_file_bytes: int


@dataclass(frozen=True)
class RefusedEntry:
    """An entry not unpacked, and why (shown in the job's list of failed files)."""

    name: str
    reason: str


def is_zip_name(name: str) -> bool:
    return name.lower().endswith(".zip")


def entry_path(name: str) -> PurePosixPath | None:
    """The entry's path relative to the unpack folder, or None when it is not a plain
    relative path (absolute, a drive, '..', empty parts are fine and dropped)."""
    text = name.replace("\\", "/")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        return None
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        return None
    if any(ord(c) < 32 for c in text):
        return None
    return PurePosixPath(*parts)


def _skipped(path: PurePosixPath) -> bool:
    return any(p.startswith(".") or p == "__MACOSX" for p in path.parts)


def _is_link(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def unpack_zip(data: bytes, dest: Path, limits: ArchiveLimits) -> list[RefusedEntry]:
    """Unpack `data` under `dest` (an empty folder); the entries refused, with reasons.

    Raises LimitExceededError for a zip over the entry or size limits (nothing unpacked) and
    DocumentError for bytes that are not a readable zip."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as e:
        raise DocumentError(f"not a readable .zip file: {e}") from e
    with archive:
        entries = archive.infolist()
        if len(entries) > limits.max_entries:
            raise LimitExceededError(
                f"the .zip holds {len(entries):,} entries, over the limit of "
                f"{limits.max_entries:,} (KB_MAX_ZIP_ENTRIES)"
            )
        declared = sum(e.file_size for e in entries)
        if declared > limits.max_unzipped_bytes:
            raise LimitExceededError(
                f"the .zip would unpack to {declared / 1e6:,.0f} MB, over the limit of "
                f"{limits.max_unzipped_bytes / 1e6:g} MB (KB_MAX_UNZIPPED_MB); it may be a zip bomb"
            )
        refused: list[RefusedEntry] = []
        root = dest.resolve()
        for info in entries:
            path = entry_path(info.filename)
            if path is None:
                refused.append(
                    RefusedEntry(
                        info.filename[:255],
                        "the entry's path leaves the folder (absolute, a drive or '..'): refused",
                    )
                )
                continue
            if info.is_dir() or _skipped(path):
                continue
            name = path.as_posix()
            reason = _entry_problem(info, limits)
            if reason is not None:
                refused.append(RefusedEntry(name, reason))
                continue
            target = root.joinpath(*path.parts)
            if root not in target.parents:
                refused.append(RefusedEntry(name, "the entry's path leaves the folder: refused"))
                continue
            try:
                _write(archive, info, target)
            except FileExistsError:
                refused.append(RefusedEntry(name, "the .zip holds this path twice: refused"))
            except (NotADirectoryError, IsADirectoryError):
                refused.append(RefusedEntry(name, "a file and a folder share this path: refused"))
            except (zipfile.BadZipFile, OSError, EOFError) as e:
                refused.append(RefusedEntry(name, f"cannot unpack the entry: {e}"))
    return refused


def _entry_problem(info: zipfile.ZipInfo, limits: ArchiveLimits) -> str | None:
    if _is_link(info):
        return "a symbolic link in the .zip: refused (copy the file in instead)"
    if info.flag_bits & 0x1:
        return "the entry is encrypted: unpack it and upload the file itself"
    if info.file_size > limits.max_file_bytes:
        return (
            f"the file is {info.file_size / 1e6:.1f} MB, over the "
            f"{limits.max_file_bytes / 1e6:g} MB limit (KB_MAX_FILE_MB)"
        )
    return None


def _write(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    """Copy one entry to `target`, never more bytes than it declares, never through a link."""
    target.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(target, flags, 0o600)
    written = 0
    try:
        with os.fdopen(fd, "wb") as out, archive.open(info) as source:
            while block := source.read(_CHUNK):
                written += len(block)
                if written > info.file_size:
                    raise zipfile.BadZipFile("more bytes than the entry declares")
                out.write(block)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
