"""Conversation signals: what the shape of a conversation says, beyond any one turn's words.

- `repeated_question`: the customer asks the same thing again (a later customer turn whose
  content words are nearly those of an earlier one): the bot or the agent did not answer it.
- `bot_failure`: the bot's own turns say it did not understand ("Sorry, I didn't get that",
  "抱歉，我不明白"); the rule's phrases and patterns recognise such turns, and its `count`
  says how many make the signal fire (two by default).

Pure functions over turns; the detector turns what they find into alerts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from kb.escalation.match import CompiledRule, normalise

_EN_WORD = re.compile(r"[a-z0-9']+")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "i",
        "i'm",
        "im",
        "me",
        "my",
        "to",
        "is",
        "it",
        "of",
        "and",
        "or",
        "for",
        "on",
        "in",
        "at",
        "you",
        "your",
        "can",
        "could",
        "would",
        "please",
        "hi",
        "hello",
        "hey",
        "ok",
        "okay",
        "so",
        "do",
        "does",
        "did",
        "this",
        "that",
        "what",
        "how",
        "why",
        "when",
        "with",
        "be",
        "am",
        "are",
        "was",
        "just",
        "again",
        "still",
        "yes",
        "no",
    ]
)
_ZH_STOP = frozenset("我的了吗呢吧啊是你们请问一下在这那")
REPEAT_SIMILARITY = 0.6
MIN_CONTENT = 2


@dataclass(frozen=True)
class SignalHit:
    turn_index: int
    matched: str


def content_units(text: str) -> frozenset[str]:
    """English content words and Chinese character bigrams, in the normal form."""
    norm = normalise(text).text
    units = {w.strip("'") for w in _EN_WORD.findall(norm) if w.strip("'") not in _STOP}
    for run in _CJK_RUN.findall(norm):
        chars = [c for c in run if c not in _ZH_STOP]
        units.update(a + b for a, b in pairwise(chars))
        if len(chars) == 1:
            units.add(chars[0])
    return frozenset(u for u in units if u)


def _similarity(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def repeated_question(
    turns: Sequence[tuple[str, str]],
    count: int = 2,
    similarity: float = REPEAT_SIMILARITY,
    same_meaning: Callable[[str, str], bool] | None = None,
) -> SignalHit | None:
    """The first customer turn that makes `count` asks of one question.

    `turns` are (speaker, text) pairs. Two turns ask the same question when their content
    words overlap enough (Jaccard >= `similarity`) or, given `same_meaning` (the detector
    passes an embedding comparison), when it says so. Only customer turns with at least two
    content units count, so "ok thanks" said twice is not a repeated question."""
    asked: list[tuple[frozenset[str], str, int]] = []  # (units, text, times asked)
    for index, (speaker, text) in enumerate(turns):
        if speaker != "customer":
            continue
        units = content_units(text)
        if len(units) < MIN_CONTENT:
            continue
        for position, (earlier, earlier_text, times) in enumerate(asked):
            if _similarity(units, earlier) >= similarity or (
                same_meaning is not None and same_meaning(text, earlier_text)
            ):
                asked[position] = (earlier, earlier_text, times + 1)
                if times + 1 >= count:
                    return SignalHit(index, text)
                break
        else:
            asked.append((units, text, 1))
    return None


def bot_failures(
    turns: Sequence[tuple[str, str]],
    rule: CompiledRule,
    count: int = 2,
    by_meaning: Callable[[str], str | None] | None = None,
) -> SignalHit | None:
    """The bot turn at which the bot has failed `count` times: a bot turn fails when the
    rule's phrases or patterns find it or, given `by_meaning` (the detector passes the rule's
    example fallbacks compared by embedding), when that returns the words that matched."""
    failures = 0
    for index, (speaker, text) in enumerate(turns):
        if speaker != "bot":
            continue
        hits = rule.lexical_hits(normalise(text))
        matched = hits[0].matched if hits else (by_meaning(text) if by_meaning else None)
        if matched:
            failures += 1
            if failures >= count:
                return SignalHit(index, matched)
    return None
