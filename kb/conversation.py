"""The call as context: what to search for, given the question and the dialogue so far.

In a real call the customer states the situation once ("I'm in Spain and my card was
stolen") and then asks several things about it ("can I get cash?", "how long will the new
card take?"). Searching with the latest question alone loses the situation; searching with
the whole dialogue drags a self-contained new question back to the old topic. So retrieval
runs twice and fuses: once for the question itself, once for the call's context (the
question, then the most recent turns, customer and agent, newest first, and the opening
situation), and the context's weight depends on how much the question stands on its own.

A follow-up is short and leans on the previous question: it starts with a connective ("and",
"what about", "那", "还有"), refers back ("it", "that", "这个"), or has too few words of its
own to search with. Then we search with the previous question's words plus the follow-up's,
and drop the previous words the follow-up replaces ("personal" when it says "business"), so
the new subject wins.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from kb.lexical import tokenize
from kb.phrasing import search_text
from kb.types import Turn

_CONNECTIVE = re.compile(
    r"^\s*(?:(?:and|but|also|so|then|what about|how about|what if|and if|if|or|same for|"
    r"for|in|on|with|without|is that|does that|can they|can i|can we)\b"
    r"|那|那么|还有|如果|要是|另外|以及|和|跟|对于|至于|同样|若是)",
    re.IGNORECASE,
)
_REFERENCE = re.compile(
    r"\b(?:it|its|that|this|those|these|they|them|there|one|ones|same)\b|这个|那个|这些|那些|它|其|该|此",
    re.IGNORECASE,
)
_CJK = re.compile(r"[\u3400-\u9fff]")
_CONTRASTS = (
    ("personal", "business"),
    ("debit", "credit"),
    ("online", "branch"),
    ("online", "phone"),
    ("phone", "branch"),
    ("joint", "sole"),
    ("uk", "abroad"),
    ("lost", "stolen"),
    ("个人", "企业"),
    ("个人", "公司"),
    ("借记卡", "信用卡"),
    ("网上", "柜台"),
    ("境内", "境外"),
)


def is_follow_up(question: str) -> bool:
    words = tokenize(question)
    if not words:
        return True
    if _CONNECTIVE.match(question) and len(words) <= 8:
        return True
    return bool(_REFERENCE.search(question)) and len(words) <= 6


def _replaced(previous_words: list[str], follow_words: set[str]) -> set[str]:
    """Words of the previous question that the follow-up swaps for their counterpart."""
    dropped = set()
    for left, right in _CONTRASTS:
        for old, new in ((left, right), (right, left)):
            if new in follow_words and old in previous_words and old not in follow_words:
                dropped.add(old)
    return dropped


def resolve_question(question: str, history: Sequence[Turn]) -> str:
    """The text to search with: the question itself, or, for a follow-up, the last user
    question it depends on (minus the words it replaces) followed by the follow-up."""
    previous = next(
        (search_text(t.text) for t in reversed(history) if t.role == "user" and t.text.strip()),
        None,
    )
    if previous is None or not is_follow_up(question):
        return question
    follow_words = set(tokenize(question))
    for word in _replaced(tokenize(previous), follow_words):
        pattern = re.escape(word) if _CJK.search(word) else rf"\b{re.escape(word)}\w*"
        previous = re.sub(pattern, " ", previous, flags=re.IGNORECASE)
    previous = re.sub(r"\s+", " ", previous).strip()
    return f"{previous} {question.strip()}"


CONTEXT_MAX_CHARS = 600
"""The context text's budget: e5 reads 512 tokens, and a shorter text embeds faster."""
CONTEXT_WEIGHT_FOLLOW_UP = 1.0
CONTEXT_WEIGHT_STANDALONE = 0.5
"""How much the call's context counts beside the question's own ranking (fused by rank):
as much for a question that leans on the call, half for one that names its own subject, so
a new topic wins over the old one but the situation still breaks ties. Chosen on the golden
set's follow-ups and topic changes (eval/reports/eval.md)."""


@dataclass(frozen=True)
class SearchPlan:
    """What retrieval searches with: the question's own text and, in a call, its context."""

    question: str  # follow-up resolved, agent wrappers and typed numbers removed
    context: str | None = None  # the question, then the call newest first, then its opening
    context_weight: float = 0.0
    follow_up: str = ""  # the question as asked, when the call's earlier turns resolved it


def context_text(question: str, history: Sequence[Turn], max_chars: int = CONTEXT_MAX_CHARS) -> str:
    """The question, then earlier turns newest first, then the first thing the customer said,
    cut to `max_chars`: recent turns matter most, the opening situation is always kept."""
    turns = [search_text(t.text) for t in history if t.text.strip()]
    opening = next(
        (search_text(t.text) for t in history if t.role == "user" and t.text.strip()), ""
    )
    pieces = [question]
    budget = max_chars - len(question) - len(opening)
    for text in reversed(turns):
        if text == opening:
            continue
        if len(text) > budget:
            if budget > 40:
                pieces.append(text[:budget])
            break
        pieces.append(text)
        budget -= len(text) + 1
    if opening and opening != question:
        pieces.append(opening)
    return " ".join(pieces)[: max_chars + len(question)]


def plan_search(question: str, history: Sequence[Turn]) -> SearchPlan:
    """The search plan for a question asked at this point of the call."""
    cleaned = search_text(question)
    resolved = resolve_question(cleaned, history)
    if not any(t.text.strip() for t in history):
        return SearchPlan(resolved)
    follow_up = cleaned if resolved.strip() != cleaned.strip() else ""
    weight = (
        CONTEXT_WEIGHT_FOLLOW_UP
        if is_follow_up(cleaned) or len(set(tokenize(cleaned))) <= 1
        else CONTEXT_WEIGHT_STANDALONE
    )
    return SearchPlan(resolved, context_text(cleaned, history), weight, follow_up)
