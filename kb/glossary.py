"""A bilingual banking glossary that lets a lexical search cross languages.

BM25 only matches words that are there: a Chinese question about 透支 never matches the
English overdraft sheet. The glossary (kb/data/glossary.tsv: English, Simplified and
Traditional Chinese, synonyms separated by "|") adds the other languages' words for every
banking term found in a question. A knowledge team can extend the file; it is read once.

Chinese matching is script-insensitive: terms and questions are both converted to Simplified
(kb.script) before they are compared, so 帳戶, 帐户 and 账户 find the same entry, and the search
tokens of every term are Simplified like those of the index. The Traditional column is still
worth filling where Taiwan or Hong Kong use other words (網路銀行, 提款卡, 存摺), not only
other characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from kb.lexical import tokenize
from kb.script import to_simplified

GLOSSARY_PATH = Path(__file__).parent / "data" / "glossary.tsv"
_CJK = re.compile(r"[\u3400-\u9fff]")
# One Chinese character (卡, 扣, 钱) matches half the Chinese base: never added as an equivalent.
_SINGLE_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9&+-]*")
# Words too general to expand: they would pull in half the base.
_TOO_BROAD = frozenset(
    {"reset", "reference", "points", "terms", "clearing", "app", "charge", "fee", "account"}
)


@dataclass(frozen=True)
class Glossary:
    english: tuple[tuple[str, re.Pattern[str], int], ...]  # term, its pattern -> concept
    chinese: tuple[tuple[str, int], ...]  # Simplified term -> concept, longest first
    concepts: tuple[tuple[str, ...], ...]  # every term of each concept
    # _concepts_in's answers by question (the terms above never change)
    found: dict[str, tuple[int, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def equivalents(self, question: str) -> dict[str, set[str]]:
        """For each search token of a glossary term found in the question, the tokens of
        all that concept's terms (English, Simplified and Traditional Chinese, synonyms)."""
        out: dict[str, set[str]] = {}
        for concept in self._concepts_in(question):
            tokens = {t for term in self.concepts[concept] for t in _term_tokens(term)}
            for token in tokens:
                out.setdefault(token, set()).update(tokens)
        return out

    def expand(self, question: str, into: str | None = None) -> list[str]:
        """Search tokens of every glossary term equivalent to one found in the question;
        with `into` ("en" or "zh"), only the terms in that language."""
        tokens: list[str] = []
        for concept in sorted(self._concepts_in(question)):
            for term in self.concepts[concept]:
                chinese = bool(_CJK.search(term))
                if into is None or (into == "zh") == chinese:
                    tokens += [t for t in _term_tokens(term) if not _SINGLE_CJK.fullmatch(t)]
        # Both Chinese columns often give the same Simplified tokens: list each once.
        return list(dict.fromkeys(tokens))

    def concept_terms(self, question: str) -> list[tuple[str, ...]]:
        """Every term (all languages, synonyms) of each concept the question holds."""
        return [self.concepts[concept] for concept in sorted(self._concepts_in(question))]

    def synonym_groups(self, question: str, language: str) -> list[tuple[frozenset[str], ...]]:
        """For each concept found in the question, the search tokens of each of its terms in
        `language` ("en" or "zh"): the ways of saying the same thing ("charged twice",
        "duplicate transaction"). A term is read whole ("bank card" is not "bank"), a term
        that loses a word to the stopwords ("money in") is left out, and so is a concept
        whose words in the question are part of a longer concept's ("credit" in "credit
        card")."""
        asked = set(tokenize(question))
        found = []
        for concept in sorted(self._concepts_in(question)):
            terms = {
                frozenset(tokens)
                for term in self.concepts[concept]
                if bool(_CJK.search(term)) == (language == "zh")
                for tokens in (_term_tokens(term),)
                if tokens and (language == "zh" or len(tokens) == len(term.split()))
            }
            named = frozenset().union(*(t for t in terms if t <= asked))
            if len(terms) > 1 and named:
                found.append((named, tuple(sorted(terms, key=sorted))))
        return [terms for named, terms in found if not any(named < other for other, _ in found)]

    def translate(self, question: str, into: str) -> str:
        """The question's banking terms in the other language ("en" or "zh"): the first term
        of each concept found, plus the question's Latin words (ATM, CHAPS, App) when going
        into English. A keyword rendering, not a translation: it lets the dense model compare
        the question with the other language's passages on that language's own scale (a
        multilingual model scores passages in the question's language higher, whatever they
        say). Empty when no term is known."""
        terms = []
        for concept in sorted(self._concepts_in(question)):
            wanted = [t for t in self.concepts[concept] if bool(_CJK.search(t)) == (into == "zh")]
            terms += wanted[:1]
        latin = _LATIN_WORD.findall(question) if into == "en" and _CJK.search(question) else []
        unique: dict[str, str] = {}
        for word in latin + terms:
            unique.setdefault(word.lower(), word)
        return " ".join(unique.values())

    def _concepts_in(self, question: str) -> tuple[int, ...]:
        """The concepts whose terms the question holds; kept for the last questions (one
        ask looks a question up four or five times, ~1,000 patterns each: 3-5 ms a time)."""
        found = self.found.get(question)
        if found is None:
            found = self._find_concepts(question)
            if len(self.found) > 4096:
                self.found.clear()
            self.found[question] = found
        return found

    def _find_concepts(self, question: str) -> tuple[int, ...]:
        found: set[int] = set()
        lowered = question.lower()
        for term, pattern, concept in self.english:
            # The term's own text is in any text its pattern matches: a substring test
            # (C speed) skips ~1,000 regular expressions to the few worth running.
            if term in lowered and pattern.search(lowered):
                found.add(concept)
        remaining = to_simplified(question)
        for term, concept in self.chinese:
            if term in remaining:
                found.add(concept)
                remaining = remaining.replace(term, " ")
        return tuple(found)  # in the set's order, as this method returned it before


@lru_cache(maxsize=8192)
def _term_tokens(term: str) -> tuple[str, ...]:
    """A glossary term's search tokens (tokenize is pure; terms are few and asked often)."""
    return tuple(tokenize(term))


def term_tokens(term: str) -> tuple[str, ...]:
    """A glossary term's search tokens, as the index holds them (empty for a stop word)."""
    return _term_tokens(term)


def load_glossary(path: Path = GLOSSARY_PATH) -> Glossary:
    english: list[tuple[str, re.Pattern[str], int]] = []
    chinese: dict[tuple[str, int], None] = {}  # ordered set: scripts often give one term
    concepts: list[tuple[str, ...]] = []
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    for line in lines:
        cells = line.split("\t")
        if len(cells) != 3:
            continue
        terms = tuple(t.strip() for cell in cells for t in cell.split("|") if t.strip())
        concept = len(concepts)
        concepts.append(terms)
        for term in terms:
            if _CJK.search(term):
                if len(term) >= 2:
                    chinese[(to_simplified(term), concept)] = None
            elif len(term) >= 3 and term.lower() not in _TOO_BROAD:
                # A plural finds its term too ("scams", "cheques", "fees").
                plural = r"(?:s|es)?" if term[-1].isalpha() else ""
                lowered = term.lower()
                english.append((lowered, re.compile(rf"\b{re.escape(lowered)}{plural}\b"), concept))
    longest_first = sorted(chinese, key=lambda pair: -len(pair[0]))
    return Glossary(tuple(english), tuple(longest_first), tuple(concepts))


@lru_cache(maxsize=1)
def default_glossary() -> Glossary:
    return load_glossary()
