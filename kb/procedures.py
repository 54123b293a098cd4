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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from kb.lexical import tokenize
from kb.types import Chunk

_REFERRING = re.compile(
    r"(?:follow(?:ing|s)?|see|per|under|using|use|in line with|as set out in|according to|"
    r"refer(?:ring)? to|as described in|as in|set out in|in accordance with|covered by|"
    r"按照|参见|参阅|详见|见|依照|依据|根据|按)\W{0,3}(?:the\s+)?(?:our\s+)?[《“\"']?$",
    re.IGNORECASE,
)
HEADING_BONUS = 0.6
"""Added to an option whose own section heading names the situation ("abroad"): enough to
beat the top-ranked section of the same procedure (score 1.0) from a sibling (0.5)."""
REFERENCE_SCORE = 1.2
"""A referenced procedure outranks the passage that pointed to it (at most 1.0)."""
SIBLING_SCORE = 0.5
OTHER_DOCUMENT_SHARE = 0.8
"""A procedure of another document among the hits counts for this share of that document's
best hit (its own passages may not have ranked, though the document did)."""
SIMILARITY_SCALE = 15.0
"""How much the section's own similarity to the question counts: e5's similarities sit
close together, so 0.02 below the most similar option costs 0.3."""


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


def referenced_documents(
    text: str, titles: Mapping[str, str], exclude: str | None = None
) -> list[str]:
    """Ids of the documents whose title `text` refers to ("following the X Procedure",
    "see X", "按照《X》"), in order of appearance; a title merely mentioned is not a
    reference, and a document never refers to itself."""
    lowered = text.lower()
    found: list[tuple[int, str]] = []
    for document_id, title in titles.items():
        if document_id == exclude or len(title) < 6:
            continue
        needle = title.lower()
        start = lowered.find(needle)
        while start >= 0:
            if _REFERRING.search(lowered[max(0, start - 40) : start]):
                found.append((start, document_id))
                break
            start = lowered.find(needle, start + 1)
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


def choose_procedure(
    options: Sequence[ProcedureOption], situation_tokens: Iterable[str]
) -> ProcedureOption | None:
    """The option to show. A passage that refers to another procedure gives way to it. Then
    the highest evidence, less how far its similarity to the question is
    below the most similar option's, plus a bonus when its own heading names the situation;
    ties go to the earlier option (retrieval order)."""
    referring = {o.referred_by.chunk_id for o in options if o.referred_by is not None}
    options = [o for o in options if not referring & {c.chunk_id for c in o.parts}]
    if not options:
        return None
    wanted = set(situation_tokens)
    known = [o.similarity for o in options if o.similarity is not None]
    top_similarity = max(known) if known else 0.0
    best, best_score = None, float("-inf")
    for option, heading in zip(options, _distinctive_heading_tokens(options), strict=True):
        score = option.score + (HEADING_BONUS if heading & wanted else 0.0)
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
