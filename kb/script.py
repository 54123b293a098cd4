"""Chinese script normalisation for search: Traditional (Taiwan, Hong Kong) to Simplified.

Why: jieba's dictionary and the Simplified column of our glossary are Simplified Chinese, so a
Traditional question (信用卡遺失, 轉帳, 帳戶) is cut into odd pieces and never shares a token
with a Simplified passage (信用卡遗失, 转账, 账户). Lexical search therefore converts every
Chinese run to Simplified before jieba sees it, for indexed passages and questions alike; the
text shown to agents is never changed.

Why OpenCC's own wheel (`opencc`, Apache-2.0): it carries its dictionaries inside the package
(no download), converts Taiwan phrases as well as characters (登入->登录, 簽帳金融卡->借记卡),
and is fast: about 5 µs for a 30-character question and about 8 million characters/s on
1,000-character passages (the pure-Python reimplementation measured 140 µs and 190,000
characters/s on the same machine), next to about 12 ms for jieba on the same passage.

Two OpenCC configurations run in a row: `tw2sp` (Taiwan variants and phrases) and then `hk2s`
for the Hong Kong variant characters tw2sp leaves alone (衞->卫). Simplified text comes out of
both unchanged. One fix of our own follows: OpenCC turns 帳 into 帐, which is right for tents
and mosquito nets, but mainland banking text writes 账 (账户, 转账, 对账单), and so do jieba and
the glossary; 帐 therefore becomes 账 except in those few words.

Phrase conversion can change a word's length (記憶體->内存), so `align` maps positions in the
converted text back to the original, for callers that mark search words in a passage as
written (highlighting).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from importlib.metadata import version

logger = logging.getLogger(__name__)

CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
"""A run of Chinese characters: the unit that is converted and handed to jieba."""

_CONFIGS = ("tw2sp", "hk2s")
# 帐 stays 帐 only in the words where mainland usage keeps it (tents, nets, curtains).
_ZHANG = re.compile(r"(?<![蚊营军纱床帷罗])帐(?![篷幕子])")

CONVERTER_VERSION = f"opencc {version('opencc')} {'+'.join(_CONFIGS)} 帐账"
"""Names everything that decides the conversion: part of the lexical tokenizer's version, so a
new dictionary release re-tokenises existing knowledge bases."""


@lru_cache(maxsize=1)
def _converters() -> tuple:  # type: ignore[type-arg]
    """Built once per process (about 25 ms each: they load their dictionaries)."""
    import opencc

    # Without the "tofu risk" dictionaries rare characters are not turned into ones outside the
    # Basic Multilingual Plane, which jieba would treat as non-Chinese.
    return tuple(opencc.OpenCC(c, include_tofu_risk_dictionaries=False) for c in _CONFIGS)


def to_simplified(text: str) -> str:
    """`text` with Traditional Chinese converted to Simplified; other characters untouched.

    Callers pass runs of Chinese characters (see `CJK_RUN`); whole texts work too."""
    if not text:
        return text
    for converter in _converters():
        text = converter.convert(text)
    return _ZHANG.sub("账", text)


@lru_cache(maxsize=8192)
def _char(ch: str) -> str:
    """One character converted on its own, kept only when it stays one character."""
    converted = to_simplified(ch)
    return converted if len(converted) == 1 else ch


@dataclass(frozen=True)
class Aligned:
    """A text, its Simplified form, and where each Simplified character came from."""

    original: str
    simplified: str
    starts: tuple[int, ...]  # per character of `simplified`: first original index it covers
    ends: tuple[int, ...]  # ... and the original index just after the last one

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of `original` that produced `simplified[start:end]` (end > start)."""
        return self.starts[start], self.ends[end - 1]

    def find_all(self, word: str) -> list[tuple[int, int]]:
        """Spans of `original` where `word` (Simplified, e.g. a search token) occurs once
        converted: 账户 is found in 帳戶 and in 账户."""
        spans: list[tuple[int, int]] = []
        if not word:
            return spans
        position = self.simplified.find(word)
        while position >= 0:
            spans.append(self.original_span(position, position + len(word)))
            position = self.simplified.find(word, position + 1)
        return spans


def align(text: str) -> Aligned:
    """Convert `text` run by run, as the tokenizer does, keeping a map back to `text`.

    Runs that do not change map one to one. Changed runs are aligned with their character by
    character conversion, which differs from the phrase-aware one only where a phrase changed
    (記憶體 -> 内存); those characters map to the whole original phrase."""
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    position = 0
    for match in CJK_RUN.finditer(text):
        _identity(text, position, match.start(), pieces, starts, ends)
        run = match.group()
        converted = to_simplified(run)
        if converted == run:
            _identity(text, match.start(), match.end(), pieces, starts, ends)
        else:
            _map_run(run, converted, match.start(), starts, ends)
            pieces.append(converted)
        position = match.end()
    _identity(text, position, len(text), pieces, starts, ends)
    return Aligned(text, "".join(pieces), tuple(starts), tuple(ends))


def _identity(
    text: str, start: int, end: int, pieces: list[str], starts: list[int], ends: list[int]
) -> None:
    pieces.append(text[start:end])
    starts.extend(range(start, end))
    ends.extend(range(start + 1, end + 1))


def _map_run(run: str, converted: str, offset: int, starts: list[int], ends: list[int]) -> None:
    by_char = "".join(_char(c) for c in run)
    matcher = SequenceMatcher(None, by_char, converted, autojunk=False)
    mapped_starts = [0] * len(converted)
    mapped_ends = [0] * len(converted)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for step in range(j2 - j1):
                mapped_starts[j1 + step] = i1 + step
                mapped_ends[j1 + step] = i1 + step + 1
        elif tag in ("replace", "insert"):
            for j in range(j1, j2):
                # An insertion has no original characters: borrow the neighbouring one.
                mapped_starts[j] = min(i1, len(run) - 1)
                mapped_ends[j] = max(i2, mapped_starts[j] + 1)
    starts.extend(offset + s for s in mapped_starts)
    ends.extend(offset + e for e in mapped_ends)


def original_spans(text: str, words: Iterable[str]) -> list[tuple[int, int]]:
    """Spans of `text` (as written, either script) where any of the Simplified `words` occur
    after conversion, sorted; one `align` for all words."""
    aligned = align(text)
    return sorted(span for word in set(words) for span in aligned.find_all(word))
