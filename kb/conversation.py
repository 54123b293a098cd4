"""Follow-up questions without an LLM: what does "and for a business account?" mean here?

A follow-up is short and leans on the previous question: it starts with a connective ("and",
"what about", "那", "还有"), refers back ("it", "that", "这个"), or has too few words of its
own to search with. Then we search with the previous question's words plus the follow-up's,
and drop the previous words the follow-up replaces ("personal" when it says "business"), so
the new subject wins.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kb.lexical import tokenize
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
        (t.text for t in reversed(history) if t.role == "user" and t.text.strip()), None
    )
    if previous is None or not is_follow_up(question):
        return question
    follow_words = set(tokenize(question))
    for word in _replaced(tokenize(previous), follow_words):
        pattern = re.escape(word) if _CJK.search(word) else rf"\b{re.escape(word)}\w*"
        previous = re.sub(pattern, " ", previous, flags=re.IGNORECASE)
    previous = re.sub(r"\s+", " ", previous).strip()
    return f"{previous} {question.strip()}"
