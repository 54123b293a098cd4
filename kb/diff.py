"""What changed between two versions of a document, passage by passage. Pure.

A reviewer approving a new version must see what agents will say differently: which
passages were added, removed or changed, and inside a changed passage which words (a fee of
£25 that became £30). Passages are compared section by section (a chunk's section path is
its place in the document), so an edit in one section is never paired with a passage of
another; within a section they are aligned in order (difflib), and a changed passage is
compared word by word (Chinese character by character, as it has no spaces).

Nothing here reads a database: the services hand in the two versions' passages.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Change(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"
    UNCHANGED = "unchanged"


class Mark(StrEnum):
    SAME = "same"
    ADDED = "added"  # only in the new text
    REMOVED = "removed"  # only in the old text


@dataclass(frozen=True)
class Passage:
    """One passage of a version as the diff needs it: its section and its text."""

    section: str
    text: str


@dataclass(frozen=True)
class Span:
    """A run of text that is the same on both sides, or only on one."""

    mark: Mark
    text: str


@dataclass(frozen=True)
class PassageChange:
    """One passage compared: `old` and `new` as spans (empty on the side it is missing
    from), marked word by word for a changed passage."""

    change: Change
    section: str
    old: tuple[Span, ...] = ()
    new: tuple[Span, ...] = ()

    @property
    def old_text(self) -> str:
        return "".join(s.text for s in self.old)

    @property
    def new_text(self) -> str:
        return "".join(s.text for s in self.new)


@dataclass(frozen=True)
class VersionDiff:
    """Two versions of a document compared, passages in the new version's order (a removed
    passage where it stood)."""

    document_id: str
    old_version: int
    new_version: int
    passages: tuple[PassageChange, ...]

    def count(self, change: Change) -> int:
        return sum(1 for p in self.passages if p.change == change)

    @property
    def changes(self) -> tuple[PassageChange, ...]:
        """The passages that differ (what a reviewer reads)."""
        return tuple(p for p in self.passages if p.change != Change.UNCHANGED)


_TOKEN = re.compile(
    r"[\u3400-\u9fff\uf900-\ufaff]|[£$€¥]?[^\W_]+(?:[.,:/'’-][^\W_]+)*%?|\s+|.", re.S
)
"""Words (an amount such as £1,250.00, 2.5% or a time 17:30 stays one word), single CJK
characters, runs of white space, and any other single character."""


def tokens(text: str) -> list[str]:
    """`text` cut into the units a word-level diff compares; they join back to `text`."""
    return _TOKEN.findall(text)


def _spans(pairs: list[tuple[Mark, str]]) -> tuple[Span, ...]:
    """Adjacent pieces with the same mark joined into one span."""
    out: list[Span] = []
    for mark, text in pairs:
        if out and out[-1].mark == mark:
            out[-1] = Span(mark, out[-1].text + text)
        elif text:
            out.append(Span(mark, text))
    return tuple(out)


def word_changes(old: str, new: str) -> tuple[tuple[Span, ...], tuple[Span, ...]]:
    """The old and the new text as spans: words only in the old one marked REMOVED, only in
    the new one ADDED, the rest SAME."""
    a, b = tokens(old), tokens(new)
    left: list[tuple[Mark, str]] = []
    right: list[tuple[Mark, str]] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            left.append((Mark.SAME, "".join(a[i1:i2])))
            right.append((Mark.SAME, "".join(b[j1:j2])))
        else:
            left.append((Mark.REMOVED, "".join(a[i1:i2])))
            right.append((Mark.ADDED, "".join(b[j1:j2])))
    return _spans(left), _spans(right)


def _group(passages: Sequence[Passage]) -> dict[str, list[str]]:
    """Passage texts by section, sections in document order."""
    groups: dict[str, list[str]] = {}
    for passage in passages:
        groups.setdefault(passage.section, []).append(passage.text)
    return groups


def _only(change: Change, section: str, text: str) -> PassageChange:
    span = (Span(Mark.REMOVED if change == Change.REMOVED else Mark.ADDED, text),)
    if change == Change.REMOVED:
        return PassageChange(change, section, old=span)
    return PassageChange(change, section, new=span)


def _align(section: str, old: list[str], new: list[str]) -> list[PassageChange]:
    """One section's passages in order: equal ones unchanged, replaced ones paired as
    changed (word by word), the rest added or removed."""
    out: list[PassageChange] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out += [
                PassageChange(
                    Change.UNCHANGED, section, (Span(Mark.SAME, t),), (Span(Mark.SAME, t),)
                )
                for t in new[j1:j2]
            ]
            continue
        before, after = old[i1:i2], new[j1:j2]
        for a, b in zip(before, after, strict=False):
            left, right = word_changes(a, b)
            out.append(PassageChange(Change.CHANGED, section, left, right))
        out += [_only(Change.REMOVED, section, t) for t in before[len(after) :]]
        out += [_only(Change.ADDED, section, t) for t in after[len(before) :]]
    return out


def diff_passages(old: Sequence[Passage], new: Sequence[Passage]) -> tuple[PassageChange, ...]:
    """Every passage of two versions compared, section by section: sections are aligned
    in order (a section only in the old version is removed where it stood, one only in
    the new version added), and a section in both compares its passages (`_align`)."""
    old_groups, new_groups = _group(old), _group(new)
    old_keys, new_keys = list(old_groups), list(new_groups)
    out: list[PassageChange] = []
    matcher = difflib.SequenceMatcher(None, old_keys, new_keys, autojunk=False)
    for _tag, i1, i2, j1, j2 in matcher.get_opcodes():
        for key in old_keys[i1:i2]:
            if key not in new_groups:  # gone; a section that moved is compared where it is now
                out += [_only(Change.REMOVED, key, t) for t in old_groups[key]]
        for key in new_keys[j1:j2]:
            out += _align(key, old_groups.get(key, []), new_groups[key])
    return tuple(out)


def diff_versions(
    document_id: str,
    old_version: int,
    old: Sequence[Passage],
    new_version: int,
    new: Sequence[Passage],
) -> VersionDiff:
    """Two versions of a document compared (`diff_passages`)."""
    return VersionDiff(document_id, old_version, new_version, diff_passages(old, new))
