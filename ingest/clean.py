"""Pure text normalisation and splitting for English and Chinese knowledge-base text.

Everything here takes a string and returns strings: no I/O, no models. The one dependency with
state, jieba (Chinese word segmentation), is loaded on first use so importing this module costs
nothing.

Two facts shape the code:

* Chinese is written without spaces, so "join lines with a space" and "cut at a space" are both
  wrong for it. Lines of Chinese are joined with nothing, and long Chinese text is cut only at
  punctuation or at a jieba word boundary, never inside a word (a cut inside 银行卡 would make
  both halves unsearchable).
* Sizes are measured in a "weighted length" where a wide (CJK) character counts 2 and anything
  else 1. Embedding tokenisers spend about one token per Chinese character but one per ~4 English
  characters, so a plain character count would make Chinese chunks about twice as large in tokens
  as English ones with the same limit.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import logging
import re
import unicodedata
from collections.abc import Callable
from types import ModuleType

from kb.types import Block, ParsedDocument

logger = logging.getLogger(__name__)

__all__ = [
    "cjk_ratio",
    "clean_document",
    "detect_language",
    "is_cjk",
    "is_wide",
    "normalize_text",
    "split_sentences",
    "split_to_fit",
    "unwrap_lines",
    "weighted_length",
]

# Characters that are invisible in print but break search and matching: zero-width space,
# non-joiner, joiner, word joiner, byte-order mark and the soft hyphen.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
# Horizontal white space of every width (no-break, en/em/thin spaces, ideographic space, tabs).
_HORIZONTAL_SPACE = re.compile("[ \t\f\v\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
# A word hyphenated across a line break: "with-\ndrawal". Only a lower-case continuation is
# joined, so "Visa-\nMastercard" style compounds keep their hyphen.
_BROKEN_WORD = re.compile(r"([A-Za-z])-\n([a-z])")
# Ideographs, CJK punctuation, kana, bopomofo and full-width forms: the characters between which
# a space is an extraction artefact rather than a word separator.
_CJK_CLASS = (
    "\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u3400-\u4dbf\u4e00-\u9fff"
    "\uf900-\ufaff\ufe30-\ufe4f\uff01-\uff60\uffe0-\uffe6\U00020000-\U0002fa1f"
)
_SPACE_BETWEEN_CJK = re.compile(f"(?<=[{_CJK_CLASS}]) (?=[{_CJK_CLASS}])")
# Full-width digits and letters (０-９, Ａ-Ｚ, ａ-ｚ) become ASCII so "９５５８８" matches "95588".
# Full-width punctuation is deliberately left alone: ，。 are correct Chinese punctuation.
_FULLWIDTH_ALNUM = {
    code: code - 0xFEE0
    for code in [*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B)]
}


def is_cjk(ch: str) -> bool:
    """True for a Han ideograph (汉字), the characters that make a text Chinese.

    Punctuation is excluded on purpose: language detection should count words, not commas.
    """
    code = ord(ch)
    return (
        0x4E00 <= code <= 0x9FFF  # CJK Unified Ideographs
        or 0x3400 <= code <= 0x4DBF  # Extension A
        or 0xF900 <= code <= 0xFAFF  # Compatibility Ideographs
        or 0x20000 <= code <= 0x2FA1F  # Extensions B-F and compatibility supplement
    )


def is_wide(ch: str) -> bool:
    """True for characters printed double-width (CJK ideographs, ，。, full-width forms).

    These are the characters a tokenizer spends about one token on, hence weight 2.
    """
    return unicodedata.east_asian_width(ch) in ("W", "F")


def weighted_length(text: str) -> int:
    """Length with wide (CJK) characters counted twice; the unit of every size limit here."""
    return len(text) + sum(1 for ch in text if is_wide(ch))


def cjk_ratio(text: str) -> float:
    """Share of Han ideographs among the letters of `text` (Han + Latin); 0.0 if it has none."""
    han, latin = _count_letters(text)
    total = han + latin
    return han / total if total else 0.0


def _is_latin_letter(ch: str) -> bool:
    return ("a" <= ch <= "z") or ("A" <= ch <= "Z") or ("\u00c0" <= ch <= "\u024f" and ch.isalpha())


def _count_letters(text: str) -> tuple[int, int]:
    han = latin = 0
    for ch in text:
        if is_cjk(ch):
            han += 1
        elif _is_latin_letter(ch):
            latin += 1
    return han, latin


def detect_language(text: str, *, mixed_share: float = 0.2) -> str:
    """Return "zh", "en" or "mixed" by counting Han characters against Latin letters.

    "mixed" when both reach `mixed_share` of the counted letters; otherwise whichever dominates.
    Text with no letters at all (empty, only digits) is "en", the knowledge base's default.
    """
    han, latin = _count_letters(text)
    total = han + latin
    if total == 0:
        return "en"
    if han / total >= mixed_share and latin / total >= mixed_share:
        return "mixed"
    return "zh" if han > latin else "en"


def normalize_text(text: str) -> str:
    """Clean extracted text without changing what it says.

    NFC, not NFKC: NFKC would turn Chinese full-width punctuation (，。：) into ASCII. Only
    full-width digits and letters are folded to ASCII: agents type "95588", not "９５５８８".
    Invisible characters are removed, words hyphenated across a line break are re-joined, runs of
    spaces collapse to one, spaces between two CJK characters (a PDF artefact) are dropped, and
    each line is stripped. Single newlines are kept, since they separate list lines and table-like
    rows; three or more collapse to one blank line.
    """
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text)
    text = text.translate(_FULLWIDTH_ALNUM)
    text = _HORIZONTAL_SPACE.sub(" ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = _BROKEN_WORD.sub(r"\1\2", text)
    text = _SPACE_BETWEEN_CJK.sub("", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


_LIST_LINE = re.compile(
    r"^\s*(?:[-*•·▪◦●○]|\(?\d{1,3}[.)、]|第\s*\S{1,3}\s*步|[一二三四五六七八九十]+、)"
)


def unwrap_lines(text: str) -> str:
    """Join hard-wrapped lines of a paragraph (as PDFs deliver them) back into one line.

    Lines are joined with a space, except when either side of the join is CJK, where a space would
    be wrong: Chinese lines are joined with nothing. Blank lines (paragraph breaks) and lines that
    start a list item (bullets, "1.", "第1步", "一、") stay on their own line.
    """
    out: list[str] = []
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            out.append("")
            continue
        if out and out[-1] and not _LIST_LINE.match(line):
            previous = out[-1]
            joiner = "" if is_wide(previous[-1]) or is_wide(line[0]) else " "
            out[-1] = previous + joiner + line
        else:
            out.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


def clean_document(parsed: ParsedDocument) -> ParsedDocument:
    """Apply normalize_text to the title, every block's text and every table cell.

    Blocks left empty are dropped (a table stays while it has a non-empty cell), so the chunker
    never sees an empty block.
    """
    blocks: list[Block] = []
    for block in parsed.blocks:
        rows = tuple(tuple(normalize_text(cell) for cell in row) for row in block.rows)
        text = normalize_text(block.text)
        if not text and not any(cell for row in rows for cell in row):
            continue
        blocks.append(dataclasses.replace(block, text=text, rows=rows))
    return dataclasses.replace(parsed, title=normalize_text(parsed.title), blocks=tuple(blocks))


# --- splitting -------------------------------------------------------------------------------

# Abbreviations whose final period does not end a sentence. Under-splitting is harmless (the
# piece is just longer), so the list stays short.
_ABBREVIATIONS = frozenset(
    {"e.g", "i.e", "eg", "ie", "mr", "mrs", "ms", "dr", "st", "no", "vs", "approx", "incl", "cf"}
    | {"ext", "tel", "ref", "dept", "fig", "acct"}
)
# Chinese sentence ends (。！？；) with any closing quotes/brackets: always a boundary.
_CJK_SENTENCE_END = re.compile(r"[。！？；]+[”’」』）》\"')\]]*")
# Latin sentence ends: . ! ? (with closing quotes) followed by white space, the end, or a CJK
# character. "2.5" and "www.bank.com" never match because no space follows the period.
_LATIN_SENTENCE_END = re.compile(
    rf"[.!?]+[\"'”’)\]]*(?=\s|$|[{_CJK_CLASS}])",
)
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)$")
# Clause ends: Chinese ，、；：always; ASCII , ; : only before white space (so 1,000 and 10:30
# are never cut).
_CLAUSE_END = re.compile(r"[，、；：]|[,;:](?=\s)")
_WHITESPACE_RUN = re.compile(r"\s+")


def _sentence_cuts(text: str, start: int, end: int) -> list[int]:
    """Positions in (start, end) right after a sentence end or a newline (and its white space)."""
    segment = text[start:end]
    cuts: set[int] = set()
    for match in _CJK_SENTENCE_END.finditer(segment):
        cuts.add(match.end())
    for match in _LATIN_SENTENCE_END.finditer(segment):
        if segment[match.start()] == ".":
            word = _WORD_BEFORE.search(segment, 0, match.start())
            if word and word.group(1).lower().rstrip(".") in _ABBREVIATIONS:
                continue
        cuts.add(match.end())
    for match in re.finditer("\n", segment):
        cuts.add(match.end())
    return _absolute(_skip_spaces(segment, cuts), start, end)


def _clause_cuts(text: str, start: int, end: int) -> list[int]:
    segment = text[start:end]
    cuts = {match.end() for match in _CLAUSE_END.finditer(segment)}
    return _absolute(_skip_spaces(segment, cuts), start, end)


def _whitespace_cuts(text: str, start: int, end: int) -> list[int]:
    segment = text[start:end]
    return _absolute({match.end() for match in _WHITESPACE_RUN.finditer(segment)}, start, end)


def _word_cuts(text: str, start: int, end: int) -> list[int]:
    """jieba word boundaries: the only places a run of Chinese without punctuation may be cut."""
    segment = text[start:end]
    tokens = _jieba().lcut(segment)
    if "".join(tokens) != segment:  # never observed; a cut we cannot place is no cut at all
        logger.warning("jieba tokens do not reassemble the text; not cutting %r", segment[:40])
        return []
    cuts: set[int] = set()
    offset = 0
    for token in tokens:
        offset += len(token)
        cuts.add(offset)
    return _not_before_punctuation(text, _absolute(cuts, start, end))


def _character_cuts(text: str, start: int, end: int) -> list[int]:
    """Last resort for a single over-long non-CJK token (a URL, a reference number).

    A token containing CJK is a Chinese word and is never cut, even if it exceeds the limit.
    """
    if any(is_wide(ch) for ch in text[start:end]):
        return []
    return _not_before_punctuation(text, list(range(start + 1, end)))


def _skip_spaces(segment: str, cuts: set[int]) -> set[int]:
    """Move each cut past following white space, so the space ends the earlier piece."""
    moved = set()
    for cut in cuts:
        while cut < len(segment) and segment[cut].isspace():
            cut += 1
        moved.add(cut)
    return moved


def _absolute(cuts: set[int], start: int, end: int) -> list[int]:
    return sorted(start + cut for cut in cuts if 0 < cut < end - start)


def _not_before_punctuation(text: str, cuts: list[int]) -> list[int]:
    """Drop cuts that would start a piece with punctuation (a lone "，" or "." piece)."""
    return [cut for cut in cuts if not unicodedata.category(text[cut]).startswith("P")]


_CutFinder = Callable[[str, int, int], list[int]]
_FIT_LEVELS: tuple[_CutFinder, ...] = (
    _sentence_cuts,
    _clause_cuts,
    _whitespace_cuts,
    _word_cuts,
    _character_cuts,
)


@functools.cache
def _jieba() -> ModuleType:
    """Import jieba on first use and keep it quiet (it logs its dictionary loading at DEBUG)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _segments(text: str, start: int, end: int, cuts: list[int]) -> list[tuple[int, int]]:
    bounds = [start, *cuts, end]
    spans = [_strip_span(text, a, b) for a, b in itertools.pairwise(bounds)]
    return [(a, b) for a, b in spans if b > a]


def _fit_spans(
    text: str,
    start: int,
    end: int,
    max_chars: int,
    prefix: list[int],
    level: int,
) -> list[tuple[int, int]]:
    """Cut [start, end) into spans of weight <= max_chars, preferring the earliest cut level.

    Segments at one level are packed greedily; a segment still too long is cut at the next level
    and its pieces are not merged with neighbours, so a sentence boundary is never given up for a
    comma that happens to pack tighter.
    """

    def weight(a: int, b: int) -> int:
        return prefix[b] - prefix[a]

    if weight(start, end) <= max_chars or level >= len(_FIT_LEVELS):
        return [(start, end)]
    segments = _segments(text, start, end, _FIT_LEVELS[level](text, start, end))
    if len(segments) <= 1:
        return _fit_spans(text, start, end, max_chars, prefix, level + 1)
    spans: list[tuple[int, int]] = []
    group: tuple[int, int] | None = None
    for a, b in segments:
        if weight(a, b) > max_chars:
            if group:
                spans.append(group)
                group = None
            spans.extend(_fit_spans(text, a, b, max_chars, prefix, level + 1))
        elif group and weight(group[0], b) <= max_chars:
            group = (group[0], b)
        else:
            if group:
                spans.append(group)
            group = (a, b)
    if group:
        spans.append(group)
    return spans


def split_sentences(text: str) -> list[str]:
    """Split into sentences after . ! ? (English) and 。！？；(Chinese), and at line breaks.

    Pieces are stripped; apart from white space at the cuts, joining them gives back `text`
    exactly. Periods inside numbers (2.5%) or after e.g./i.e./No. do not end a sentence.
    """
    start, end = _strip_span(text, 0, len(text))
    return [text[a:b] for a, b in _segments(text, start, end, _sentence_cuts(text, start, end))]


def split_to_fit(text: str, max_chars: int) -> list[str]:
    """Cut `text` into pieces whose weighted_length is at most `max_chars`.

    Cuts are tried, in order of preference, at sentence ends, clause marks (，、；： and English
    commas), white space, then jieba word boundaries for Chinese written without punctuation. A
    cut never falls inside a Chinese word: if one word alone exceeds the limit (only possible with
    an absurdly small limit) it is returned whole and over-long. A single non-CJK token longer than
    the limit (a long URL) is the only thing cut at arbitrary characters. Pieces are stripped and
    never empty; no character other than white space at the cuts is lost.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1. Currently, max_chars is {max_chars}.")
    start, end = _strip_span(text, 0, len(text))
    if start == end:
        return []
    prefix = [0]
    for ch in text:
        prefix.append(prefix[-1] + (2 if is_wide(ch) else 1))
    return [text[a:b] for a, b in _fit_spans(text, start, end, max_chars, prefix, 0)]
