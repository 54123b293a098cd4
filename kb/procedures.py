"""Which procedure the agent should follow: the authoritative one, at the section that fits. Pure.

Retrieval ranks passages, but an agent needs one procedure. Two things decide it beyond the
rank of a passage:

- **References.** A travel guide says "cancel the card following the Lost or Stolen Card
  Reporting Procedure". The guide matched the question best, but the procedure it points to
  is the authority: its steps are shown, with the guide named as what sent the agent there.
- **Sections that fit the situation.** A procedure has sections for cases ("Reporting by
  phone", "Reporting from abroad", "Business accounts"). When the question or the call
  names the case ("abroad"), that section wins over the one that merely ranked first.

Services gathers the options (procedure sections among the hits, the other sections of the
top document, and the sections of referenced documents); this module only scores them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from kb.lexical import tokenize
from kb.types import Chunk, ChunkKind, Hit

_REFERRING = re.compile(
    r"(?:follow(?:ing|s)?|see|per|under|using|use|in line with|as set out in|according to|"
    r"refer(?:ring)? to|as described in|as in|set out in|in accordance with|covered by|"
    r"按照|参见|参阅|详见|见|依照|依据|根据|按)\W{0,3}(?:the\s+)?(?:our\s+)?[《“\"']?$",
    re.IGNORECASE,
)
_GENERIC_TITLE_WORDS = frozenset(
    tokenize(
        "procedure procedures policy guide guidance standard faq manual playbook process "
        "handbook quick reference notes 规程 政策 指引 流程 程序 指南 手册 须知 办法 规定"
    )
)
_HANDING_OVER = re.compile(
    r"(?:follow(?:ing|s)?|in line with|as set out in|in accordance with|as described in|"
    r"as in|按照|依照|依据)\W{0,3}(?:the\s+)?(?:our\s+)?[《“\"']?$",
    re.IGNORECASE,
)
HEADING_BONUS = 0.6
"""Added, times the share of its distinctive heading words the situation names, to an
option whose own heading names the situation ("Reporting from abroad" for a card lost
abroad): enough to beat the top-ranked section of the same procedure from a sibling."""
REFERENCE_LEAD = 0.2
"""A referenced procedure outranks the passage that pointed to it by this much."""
TOP_DOCUMENT_BONUS = 0.1
"""A procedure of the best passage's own document is preferred on close calls."""
OTHER_DOCUMENT_SHARE = 0.8
"""A procedure of another document among the hits counts for this share of that document's
best hit (its own passages may not have ranked, though the document did)."""
SIBLING_SCORE = OTHER_DOCUMENT_SHARE
"""A procedure of the top hit's own document that did not rank itself: the same share of
the top hit. It was 0.5, so an unranked procedure of the best document counted for less
than one of a document ranked below it (0.8 of that document's ratio): "What are the steps
for opening a personal account in branch?" got the joint-account guide's steps, ranked
fourth, over the account-opening procedure of the top document. At 0.8 (quick harness on a
samples base): golden answer correct 0.519 -> 0.524 and step recall 0.634 -> 0.663,
agent-style 0.497 -> 0.508 and 0.673 -> 0.733, none lost; 0.65 gained one agent-style
question only."""
SIMILARITY_SCALE = 15.0
"""How much the section's own similarity to the question counts: e5's similarities sit
close together, so 0.02 below the most similar option costs 0.3."""
TITLE_BONUS = 0.3
"""Added, times the share of its document title's own words the situation names: a section
headed only "操作步骤" or "Procedure" says nothing, its document's title says what it is for.
"怀疑客户正在遭遇电信诈骗时，坐席应该怎么处理？" got the lost-card procedure's steps (e5 put it
0.01 nearer than the fraud procedure) over 《欺诈与诈骗防范》's. Quick harness: golden step
recall 0.663 -> 0.691 (zh-018), agent-style 0.733 -> 0.764, answers unchanged otherwise;
0.1 and 0.2 changed only agent-style questions."""
WORDS_BONUS = 0.05
"""Added, times the share of the situation's words the section's text holds, so that on a
near tie the section that says what the agent asked wins ("how do I log a subject access
request": the section with "Log the request in the DSAR Tracker", not the Data Protection
Office's own steps). It equals a similarity gap of 0.0033: within that, two e5 runtimes
whose vectors agree to cosine 0.9998 order sections differently, so the similarity alone
would be a coin toss."""


@dataclass(frozen=True)
class ProcedureOption:
    """One procedure section that could be shown, with the evidence for it."""

    parts: tuple[Chunk, ...]  # the section's chunks in order (the chunker splits long ones)
    score: float  # retrieval evidence relative to the top hit (1.0), or a fixed prior
    referred_by: Chunk | None = None  # the passage whose text pointed to this procedure
    similarity: float | None = None  # the section's best passage's similarity to the question

    @property
    def heading(self) -> tuple[str, ...]:
        return self.parts[0].section_path


_KEY = 6
"""Characters of a title's start that TitleIndex files it under: titles shorter than this
are never references, so every candidate title has such a key."""


class TitleIndex(Mapping[str, str]):
    """Document titles by id, filed by the first characters of each lowered title, so the
    titles a passage mentions are found by reading the passage once (a dictionary lookup
    per character) instead of searching it for every title in the base: at 100,000 chunks
    that was ~1,200 titles x every referring passage, 40-90 ms a question. Build one per
    set of titles and keep it (kb.retrieve caches one per scope and index generation)."""

    def __init__(self, titles: Mapping[str, str]) -> None:
        self._titles = dict(titles)
        self._by_start: dict[str, list[tuple[str, str]]] = {}
        self._short: list[tuple[str, str]] = []  # lowered shorter than the key (rare)
        for document_id, title in self._titles.items():
            if len(title) < 6:
                continue
            needle = title.lower()
            if len(needle) < _KEY:
                self._short.append((document_id, needle))
            else:
                self._by_start.setdefault(needle[:_KEY], []).append((document_id, needle))

    def __getitem__(self, document_id: str) -> str:
        return self._titles[document_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._titles)

    def __len__(self) -> int:
        return len(self._titles)

    def occurrences(self, lowered: str) -> dict[str, list[int]]:
        """Every start in `lowered` (lower-cased text) of each title, ascending, by id."""
        found: dict[str, list[int]] = {}
        by_start = self._by_start
        for start in range(len(lowered) - _KEY + 1):
            candidates = by_start.get(lowered[start : start + _KEY])
            if candidates:
                for document_id, needle in candidates:
                    if lowered.startswith(needle, start):
                        found.setdefault(document_id, []).append(start)
        for document_id, needle in self._short:
            start = lowered.find(needle)
            while start >= 0:
                found.setdefault(document_id, []).append(start)
                start = lowered.find(needle, start + 1)
        return found


def referenced_documents(
    text: str, titles: Mapping[str, str], exclude: str | None = None, strong_only: bool = False
) -> list[str]:
    """Ids of the documents whose title `text` refers to ("following the X Procedure",
    "see X", "按照《X》"), in order of appearance; a title merely mentioned is not a
    reference, and a document never refers to itself. With `strong_only`, only references
    that hand the work over ("following", "in line with", "按照") count, not "see": a
    procedure that says "(see the PIN FAQ)" for one sub-case is still the procedure.
    `titles` may be a TitleIndex (kept between calls) or any mapping of id to title."""
    index = titles if isinstance(titles, TitleIndex) else TitleIndex(titles)
    referring = _HANDING_OVER if strong_only else _REFERRING
    lowered = text.lower()
    found: list[tuple[int, str]] = []
    for document_id, starts in index.occurrences(lowered).items():
        if document_id == exclude:
            continue
        for start in starts:
            if referring.search(lowered[max(0, start - 40) : start]):
                found.append((start, document_id))
                break
    return [document_id for _, document_id in sorted(found)]


def _distinctive_heading_tokens(options: Sequence[ProcedureOption]) -> list[set[str]]:
    """Each option's last-heading words, minus words every option of its document shares
    ("reporting" in "Reporting by phone" / "Reporting from abroad")."""
    by_document: dict[str, list[set[str]]] = {}
    words = []
    for option in options:
        tokens = set(tokenize(option.heading[-1])) if option.heading else set()
        words.append(tokens)
        by_document.setdefault(option.parts[0].document.document_id, []).append(tokens)
    shared = {
        doc: set.intersection(*sets) if len(sets) > 1 else set()
        for doc, sets in by_document.items()
    }
    return [
        tokens - shared[option.parts[0].document.document_id]
        for option, tokens in zip(options, words, strict=True)
    ]


NAMED_TITLE = 0.5
"""A passage that refers to another procedure gives way to it, unless the agent named the
referring document: at least this share of its title's own words in the situation. "What
do agents have to do under the spoofed fraud line alert?" asks for the alert's own steps,
though the alert says to follow the fraud escalation procedure. Quick harness: golden
answer correct 0.529 -> 0.535 and step recall 0.720 -> 0.749 (en-064), agent-style 0.513 ->
0.519 and 0.824 -> 0.855; two other questions change procedure, neither for the worse
(en-092's steps now come from its gold document); 0.67 and above changed nothing."""
SHARED_START = 5
"""A heading word counts as named when the situation holds a word with the same first five
letters: the light stemmer keeps "registration" apart from "register" and "procedure" from
"process", so "What's the process to register a power of attorney?" got the section listing
the attorney's documents, not "Procedure: registration". Quick harness, all golden and
agent-style questions: 4 change procedure, each to the gold one or one closer to it (en-059,
agent-en-006, -051, -059); golden step recall 0.691 -> 0.720, agent-style 0.764 -> 0.824, no
answer lost. Six letters changed no golden question."""


def _named(heading: set[str], wanted: set[str], starts: set[str]) -> set[str]:
    """The heading's words the situation names, a word counting for another that starts with
    the same SHARED_START letters ("registration" for "register"); `starts` is
    `_starts(wanted)`."""
    return {
        h for h in heading if h in wanted or (len(h) >= SHARED_START and h[:SHARED_START] in starts)
    }


def _starts(words: set[str]) -> set[str]:
    return {w[:SHARED_START] for w in words if len(w) >= SHARED_START}


def _title_fit(option: ProcedureOption, wanted: set[str]) -> float:
    """The share of the option's document title's own words (generic ones aside) the
    situation names."""
    title = set(tokenize(option.parts[0].document.title)) - _GENERIC_TITLE_WORDS
    return len(title & wanted) / len(title) if title else 0.0


def _words_held(option: ProcedureOption, wanted: set[str]) -> float:
    """The share of the situation's distinct words that the section's text holds."""
    if not wanted:
        return 0.0
    held: set[str] = set()
    for part in option.parts:
        held.update(tokenize(part.text))
    return len(wanted & held) / len(wanted)


def choose_procedure(
    options: Sequence[ProcedureOption], situation_tokens: Iterable[str]
) -> ProcedureOption | None:
    """The option to show. A passage that refers to another procedure gives way to it, unless
    the situation names its document (NAMED_TITLE). Then
    the highest evidence, less how far its similarity to the question is below the most
    similar option's, plus a bonus for the share of its heading the situation names and a
    small one for the share of the situation's words its text holds; ties go to the earlier
    option (retrieval order)."""
    wanted = set(situation_tokens)
    referring = {o.referred_by.chunk_id for o in options if o.referred_by is not None}
    options = [
        o
        for o in options
        if not referring & {c.chunk_id for c in o.parts} or _title_fit(o, wanted) >= NAMED_TITLE
    ]
    if not options:
        return None
    starts = _starts(wanted)
    known = [o.similarity for o in options if o.similarity is not None]
    top_similarity = max(known) if known else 0.0
    best, best_score = None, float("-inf")
    for option, heading in zip(options, _distinctive_heading_tokens(options), strict=True):
        fit = len(_named(heading, wanted, starts)) / len(heading) if heading else 0.0
        score = option.score + HEADING_BONUS * fit + WORDS_BONUS * _words_held(option, wanted)
        score += TITLE_BONUS * _title_fit(option, wanted)
        if option.similarity is not None:
            score -= SIMILARITY_SCALE * (top_similarity - option.similarity)
        if score > best_score + 1e-9:
            best, best_score = option, score
    return best


def procedure_sections(chunks: Sequence[Chunk]) -> list[tuple[Chunk, ...]]:
    """A document's procedure chunks grouped by section, in document order."""
    sections: dict[tuple[str, ...], list[Chunk]] = {}
    for chunk in sorted(chunks, key=lambda c: c.position):
        sections.setdefault(chunk.section_path, []).append(chunk)
    return [tuple(parts) for parts in sections.values()]


def title_fits(title: str, situation_tokens: set[str]) -> bool:
    """Whether a referenced document is about the situation at all: its title shares a
    word with the question or the call, generic words ("procedure", "policy") aside. A
    payments procedure's "if it is a scam, follow the Fraud Escalation Procedure" is a side
    branch, not the answer to "how do I send an international payment"."""
    return bool((set(tokenize(title)) - _GENERIC_TITLE_WORDS) & situation_tokens)


def gather_options(
    hits: Sequence[Hit],
    sections_of: Callable[[str], Sequence[tuple[Chunk, ...]]],
    titles: Mapping[str, str],
    situation_tokens: Iterable[str],
) -> list[ProcedureOption]:
    """Every procedure section an answer could show, with its evidence:

    - a procedure passage among the top five hits: its fused score relative to the top hit
      (plus TOP_DOCUMENT_BONUS in the top hit's document);
    - the other sections of the top document (SIBLING_SCORE) and of the other documents
      among the hits (OTHER_DOCUMENT_SHARE of that document's best hit);
    - the sections of a document that the top hit, or a procedure among the hits, refers to
      (REFERENCE_LEAD above the referrer), when its title fits the situation.

    `sections_of(document_id)` gives a current document's procedure sections; `titles`
    holds the documents the asker may read."""
    if not hits:
        return []
    situation = set(situation_tokens)
    top = hits[0]
    top_id = top.chunk.document.document_id
    options: dict[tuple[str, tuple[str, ...]], ProcedureOption] = {}

    def add(parts: tuple[Chunk, ...], score: float, via: Chunk | None = None) -> None:
        key = (parts[0].document.document_id, parts[0].section_path)
        if key not in options or options[key].score < score:
            options[key] = ProcedureOption(parts, score, via)

    def ratio(hit: Hit) -> float:
        return hit.score / top.score if top.score else 0.0

    document_ratio: dict[str, float] = {}
    for hit in hits[:8]:
        document_ratio.setdefault(hit.chunk.document.document_id, ratio(hit))
    referrers: list[tuple[Chunk, float]] = [(top.chunk, 1.0)]
    for hit in hits[:5]:
        chunk = hit.chunk
        if chunk.kind != ChunkKind.PROCEDURE:
            continue
        bonus = TOP_DOCUMENT_BONUS if chunk.document.document_id == top_id else 0.0
        for parts in sections_of(chunk.document.document_id):
            if parts[0].section_path == chunk.section_path:
                add(parts, ratio(hit) + bonus)
        if hit is not top:
            referrers.append((chunk, ratio(hit) + bonus))
    for hit in hits[:5]:
        document_id = hit.chunk.document.document_id
        for parts in sections_of(document_id):
            share = SIBLING_SCORE if document_id == top_id else OTHER_DOCUMENT_SHARE
            add(parts, share * document_ratio[document_id])
    for chunk, score in referrers:
        strong_only = chunk.kind == ChunkKind.PROCEDURE  # a procedure only hands over
        for document_id in referenced_documents(
            chunk.text, titles, exclude=chunk.document.document_id, strong_only=strong_only
        )[:2]:
            if title_fits(titles[document_id], situation):
                for parts in sections_of(document_id):
                    add(parts, score + REFERENCE_LEAD, chunk)
    return list(options.values())
