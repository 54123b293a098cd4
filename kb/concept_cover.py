"""Which language's document covers what the agent asked: the glossary's concepts, counted.

A bilingual bank keeps some answers in one language only: the mortgage hardship procedure is
English, the Hong Kong service desk's rules are Chinese. The multilingual model ranks any
passage in the question's own language above the one that answers in the other language
(e5-small: a Chinese question about overdraft interest prefers the Chinese fee schedule's
exceptions to the English overdraft sheet), and the other language's best passage only gets
a place among the first five documents (kb.retrieve's `crosslingual_slot`), where the
headline, the steps and the confidence never look.

The glossary names the question's banking concepts in both languages (overdraft = 透支,
interest rate = 利率). When a document in the other language among the hits holds more of
those concepts than the top document does, it is about what was asked and the top one is
not: its passage goes first. Documents are compared whole (a section of the right document
may not repeat "debit card"), and a concept one of whose terms is a stop word ("customer",
dropped from every English search) is left out, since only the Chinese side could hold it.

Pure: the caller gives the hits and each document's search tokens.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from kb.glossary import Glossary, term_tokens
from kb.lexical import tokenize
from kb.types import DocumentInfo, DocumentStatus, Hit

CANDIDATES = 8
"""How far down the hits a passage in the other language may come from (the answer reads
the first eight)."""


def countable_concepts(glossary: Glossary, question: str) -> list[tuple[frozenset[str], ...]]:
    """The question's glossary concepts, each as the search tokens of all its terms (every
    language), leaving out a concept with a term the search drops whole ("customer")."""
    concepts = []
    for terms in glossary.concept_terms(question):
        tokens = [term_tokens(term) for term in terms]
        if all(tokens):
            concepts.append(tuple(frozenset(t) for t in tokens))
    return concepts


def covered(concepts: Sequence[tuple[frozenset[str], ...]], tokens: frozenset[str]) -> int:
    """How many of the concepts the text holds, by any of its terms read whole."""
    return sum(1 for terms in concepts if any(term <= tokens for term in terms))


def covering_language_first(
    hits: Sequence[Hit],
    language: str,
    concepts: Sequence[tuple[frozenset[str], ...]],
    passage_tokens: Callable[[Hit], frozenset[str]],
    document_tokens: Callable[[DocumentInfo], frozenset[str]],
) -> list[Hit]:
    """`hits` with the best passage in the other language first, when its document holds
    more of the question's concepts than the top current hit's document; otherwise as they
    are. The passage is the other language's current hit that holds the most concepts
    itself (the earlier on a tie); it takes the top hit's score, so every score stays at or
    below the first."""
    hits = list(hits)
    if not concepts or language not in ("en", "zh"):
        return hits
    first = next((i for i, h in enumerate(hits) if h.status == DocumentStatus.CURRENT), None)
    if first is None or hits[first].chunk.language not in (language, "mixed"):
        return hits
    top = hits[first]
    others = [
        h
        for h in hits[first + 1 : CANDIDATES]
        if h.status == DocumentStatus.CURRENT and h.chunk.language not in (language, "mixed")
    ]
    if not others:
        return hits
    best = max(others, key=lambda h: covered(concepts, passage_tokens(h)))  # first on ties
    if covered(concepts, document_tokens(best.chunk.document)) <= covered(
        concepts, document_tokens(top.chunk.document)
    ):
        return hits
    rest = [h for h in hits[first:] if h is not best]
    return [*hits[:first], replace(best, score=top.score), *rest]


class TokenCache:
    """Search tokens of document versions and of passages, read once and kept: a version's
    chunks never change, and the same few documents answer most of a contact centre's
    questions (at worst `kept` of each, then the cache starts again)."""

    def __init__(self, read: Callable[[str, int], Sequence[str]], kept: int = 4096) -> None:
        self._read = read  # (document id, version) -> its chunks' texts
        self._kept = kept
        self._documents: dict[tuple[str, int], frozenset[str]] = {}
        self._passages: dict[str, frozenset[str]] = {}
        self._lock = threading.Lock()

    def document(self, info: DocumentInfo) -> frozenset[str]:
        key = (info.document_id, info.version)
        return self._kept_or(
            self._documents, key, lambda: (t for text in self._read(*key) for t in tokenize(text))
        )

    def passage(self, hit: Hit) -> frozenset[str]:
        return self._kept_or(self._passages, hit.chunk.chunk_id, lambda: tokenize(hit.chunk.text))

    def _kept_or(
        self, kept: dict, key: object, tokens: Callable[[], Iterable[str]]
    ) -> frozenset[str]:
        with self._lock:
            found = kept.get(key)
        if found is None:
            found = frozenset(tokens())
            with self._lock:
                if len(kept) >= self._kept:
                    kept.clear()
                kept[key] = found
        return found
