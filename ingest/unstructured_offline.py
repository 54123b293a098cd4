"""Make `unstructured` work with no network, in every process that parses.

unstructured 0.27 classifies text with a spaCy model that it downloads from GitHub the first
time it is needed; offline that raises (or, for PDFs, silently yields nothing). We give it a
blank multilingual spaCy pipeline with a sentencizer instead, and replace its part-of-speech
"contains a verb" test, which a blank pipeline cannot answer, with a small lexical one.
Without that replacement plain sentences ("Thank you for calling.") come out as titles.

`prepare()` is idempotent and cheap after the first call; `ingest.load` calls it before each
parse, so the CLI, the app's upload path and the tests all get the same behaviour.
"""

from __future__ import annotations

import os
import re
import threading
from functools import cache

_lock = threading.Lock()
_prepared = False

# Words that make a short English line read as a sentence rather than a heading.
_VERB_WORDS = frozenset(
    [
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "has",
        "have",
        "had",
        "do",
        "does",
        "did",
        "can",
        "could",
        "will",
        "would",
        "shall",
        "should",
        "may",
        "might",
        "must",
        "need",
        "needs",
        "let",
        "lets",
        "get",
        "gets",
        "got",
        "make",
        "makes",
        "made",
        "take",
        "takes",
        "took",
        "give",
        "gives",
        "gave",
        "call",
        "calls",
        "called",
        "ask",
        "asks",
        "asked",
        "tell",
        "tells",
        "told",
        "check",
        "checks",
        "checked",
        "confirm",
        "confirms",
        "send",
        "sends",
        "sent",
        "keep",
        "keeps",
        "use",
        "uses",
        "used",
        "go",
        "goes",
        "went",
        "see",
        "sees",
        "saw",
        "pay",
        "pays",
        "paid",
        "apply",
        "applies",
        "applied",
        "contact",
        "contacts",
        "follow",
        "follows",
        "include",
        "includes",
        "explain",
        "explains",
        "record",
        "records",
        "report",
        "reports",
        "reported",
        "verify",
        "verifies",
        "verified",
        "open",
        "opens",
        "close",
        "closes",
        "block",
        "blocks",
        "cancel",
        "cancels",
        "cancelled",
        "refer",
        "refers",
        "referred",
        "escalate",
        "escalates",
        "escalated",
        "offer",
        "offers",
        "provide",
        "provides",
        "provided",
        "arrive",
        "arrives",
        "receive",
        "receives",
        "received",
        "allow",
        "allows",
        "allowed",
    ]
)
_VERB_SUFFIX = re.compile(r"[a-z]{3,}(?:ed|ing|es)$")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def contains_verb(text: str) -> bool:
    """A dictionary-and-suffix stand-in for unstructured's POS-tagger verb test."""
    if _CJK.search(text):
        # Chinese has no inflection to go by; a line with sentence punctuation or of some length
        # is running text, a short unpunctuated one is more likely a heading.
        return bool(re.search(r"[。！？；，]", text)) or len(text) > 20
    words = re.findall(r"[a-z']+", text.lower())
    return any(w in _VERB_WORDS or _VERB_SUFFIX.match(w) for w in words)


@cache
def _blank_pipeline():  # type: ignore[no-untyped-def]
    import spacy

    nlp = spacy.blank("xx")
    nlp.add_pipe("sentencizer")
    return nlp


def prepare() -> None:
    """Configure unstructured for offline use in this process (idempotent, thread-safe)."""
    global _prepared
    if _prepared:
        return
    with _lock:
        if _prepared:
            return
        # Both must be set before unstructured is imported: it reports usage on import.
        os.environ.setdefault("DO_NOT_TRACK", "1")
        os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

        from unstructured.nlp import tokenize
        from unstructured.partition import text_type

        tokenize._get_nlp = _blank_pipeline  # type: ignore[attr-defined]
        text_type.contains_verb = contains_verb
        _prepared = True
