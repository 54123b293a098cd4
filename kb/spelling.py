"""Typos typed mid-call, corrected against the knowledge base's own words. Pure.

"express delivry", "emeregncy cash": the dense model shrugs most typos off, but BM25 finds
nothing for a word no passage contains, and the confidence's word coverage counts it as
missing. A word is corrected only when it is not in the knowledge base's vocabulary and one
edit (a letter dropped, added, changed or two swapped) turns it into a word that is; among
several, the most frequent wins. Short words, numbers and Chinese are left alone: the
risk of turning one real word into another is highest there.

Lookup uses the deletion trick (SymSpell): every vocabulary word is indexed under itself
and each string one deletion away, so a candidate is found with a few dictionary probes
instead of comparing with every word.
"""

from __future__ import annotations

import re
from collections.abc import Container, Mapping

from kb.lexical import _stem  # the same stems the index holds
from kb.lexicon import common_words

_WORD = re.compile(r"[A-Za-z]{4,}")
MIN_LENGTH = 7
"""Shorter words are corrected only when they are not words at all (SHORT_LENGTH): one edit
turns too many real words into other real words ("bread" into "read", "round" into
"pound")."""
SHORT_LENGTH = 5
"""Words of five or six letters are corrected when the language does not have them either
(kb.lexicon.common_words): "pyone", "papdr", "crwdit", "lmit" are slips, "bread" is not.
Agents' typos fall on short words as often as on long ones ("phoen", "limut", "deblt")."""


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _one_edit(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance of exactly one (the candidates come from deletions,
    which also admit two-edit pairs that share a deletion)."""
    if a == b:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        if len(diff) != 2:
            return False
        i, j = diff
        return j == i + 1 and a[i] == b[j] and a[j] == b[i]
    if abs(len(a) - len(b)) != 1:
        return False
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


class SpellFix:
    """Corrects words of a question against a vocabulary of stems and their frequencies."""

    def __init__(
        self,
        vocabulary: Mapping[str, int],
        min_frequency: int = 2,
        known: Container[str] | None = None,
    ) -> None:
        """`known`: words the language has (default kb.lexicon.common_words); a short word
        among them is never corrected."""
        self.vocabulary = {w: n for w, n in vocabulary.items() if n >= min_frequency}
        # Any word the base holds is a word, however rare: "unblock" (once, in "Unblock
        # PIN") is not a slip for "unlock". Only a correction must be frequent to be trusted.
        self.present = frozenset(vocabulary)
        self.known = common_words() if known is None else known
        self._index: dict[str, list[str]] = {}
        for word in self.vocabulary:
            if len(word) >= SHORT_LENGTH - 1 and word.isascii() and word.isalpha():
                for key in {word, *_deletes(word)}:
                    self._index.setdefault(key, []).append(word)

    def correct_word(self, word: str) -> str | None:
        """The vocabulary stem one edit away from `word`, or None if it is known or has none."""
        lowered = word.lower()
        stem = _stem(lowered)
        if len(lowered) < SHORT_LENGTH or stem in self.present or lowered in self.present:
            return None
        if len(lowered) < MIN_LENGTH and (lowered in self.known or stem in self.known):
            return None
        if any(lowered[:n] in self.vocabulary for n in range(4, len(lowered) - 1)):
            return None  # a form of a known word ("scammed" beside "scam"), not a typo
        candidates: set[str] = set()
        # The stem is looked up too: "complaning" is two edits from "complain", its stem
        # "complan" one.
        keys = {lowered, *_deletes(lowered)}
        if stem != lowered:
            keys |= {stem, *_deletes(stem)}
        for key in keys:
            candidates.update(self._index.get(key, ()))
        found = [c for c in candidates if _one_edit(lowered, c) or _one_edit(stem, c)]
        if not found:
            return None
        best = max(found, key=lambda c: (self.vocabulary[c], c))
        if not _one_edit(lowered, best) and lowered.startswith(stem):
            # Found through the stem ("complaning" -> "complan" -> "complain"): the word's
            # own ending goes back on, so the agent reads "complaining", not a stem.
            ending = lowered[len(stem) :]
            if best.endswith("e") and ending[:1] in ("e", "i"):
                best = best[:-1]  # "ignore" + "ing" is "ignoring"
            return None if best + ending == lowered else best + ending
        return best

    def correct(self, text: str) -> str:
        """`text` with each misspelt word replaced by its correction (other text untouched)."""

        def fix(match: re.Match[str]) -> str:
            return self.correct_word(match.group()) or match.group()

        return _WORD.sub(fix, text)
