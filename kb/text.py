"""Text that is really text: lone surrogates and bytes that are not UTF-8, found and named.

Python lets a `str` hold a lone surrogate (U+D800-U+DFFF: from JSON's "\\ud800", from a file
name or argument read with surrogateescape), but it cannot be encoded, so it fails far from
where it came in (SQLite, the audit trail, printing). Edges check with these and report the
line or field, instead of a traceback in the middle of a batch.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from kb.errors import InvalidTextError

_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate(text: str) -> int | None:
    """Where the first lone surrogate of `text` is (0-based), or None for proper text."""
    found = _SURROGATE.search(text)
    return found.start() if found else None


def require_text(text: str, what: str) -> str:
    """`text` unchanged, or InvalidTextError saying where `what` holds a lone surrogate."""
    at = lone_surrogate(text)
    if at is not None:
        raise InvalidTextError(
            f"the {what} holds an invalid character (lone surrogate U+{ord(text[at]):04X} at "
            f"character {at + 1}), which is not text: send it as UTF-8 text"
        )
    return text


def printable(text: str) -> str:
    """`text` safe to print or store: each lone surrogate (an undecodable byte of a file
    name, kept by surrogateescape) shown as U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def text_lines(data: bytes) -> Iterator[tuple[int, str | None, str | None]]:
    """(line number from 1, the line's text or None, why it is not text or None) for each
    line of `data`: a line that is not UTF-8, or holds an encoded surrogate, is reported and
    the others are read."""
    for number, raw in enumerate(data.split(b"\n"), 1):
        raw = raw.removesuffix(b"\r")
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        try:
            yield number, raw.decode("utf-8"), None
        except UnicodeDecodeError as e:
            yield (
                number,
                None,
                f"not UTF-8 text (byte 0x{raw[e.start]:02x} at byte {e.start + 1} of the line: "
                f"{e.reason}); save the file as UTF-8",
            )
