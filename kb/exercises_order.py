"""Checking a trainee's step order: which swaps matter for safety, and what to tell them. Pure.

Why not only kb.training.scoring.score_order: Kendall's tau gives partial credit for every
pair in the right order, so putting "offer an emergency card" before "cancel the card"
in an eleven-step procedure still scores 83 %. On a call that swap leaves a stolen card
usable. A step that protects the customer or the bank (cancel, block, freeze, stop, verify
the caller...) must come before the steps the document puts after it; putting any later
step before it is a safety-critical swap: the answer scores 0 and the trainee is told
which two steps they swapped and which must come first. Other swaps keep partial credit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from kb.training.scoring import score_order

__all__ = [
    "OrderCheck",
    "Swap",
    "alternative_pairs",
    "check_order",
    "is_instruction",
    "is_safety_step",
]

# What agents and teams do in the bank's procedures: an English step that says what someone
# does has one of these (as an imperative, "Cancel the card", or in the third person, "The
# team registers the authority") among its first words.
_ACTIONS = frozenset({
    "accept", "acknowledge", "act", "add", "advise", "agree", "allocate", "apply", "approve",
    "arrange", "ask", "assess", "authenticate", "block", "book", "call", "cancel", "change",
    "check", "choose", "claim", "close", "collect", "complete", "confirm", "consent",
    "consider", "contact", "copy", "create", "credit", "decide", "decline", "delete",
    "discuss", "do", "draft", "email", "end", "enter", "escalate", "explain", "fill", "find",
    "follow", "freeze", "gather", "give", "go", "greet", "help", "hold", "identify", "inform",
    "issue", "keep", "let", "listen", "log", "look", "make", "move", "note", "notify",
    "obtain", "offer", "open", "order", "pass", "pause", "pay", "place", "post", "print",
    "promise", "put", "raise", "read", "receive", "record", "redact", "refer", "refund",
    "register", "reject", "remind", "remove", "reply", "report", "request", "reset", "resolve",
    "respond", "return", "review", "run", "save", "scan", "screen", "search", "select", "send",
    "set", "share", "sign", "signpost", "speak", "start", "stop", "submit", "suggest",
    "switch", "take", "tell", "thank", "transfer", "treat", "try", "unblock", "unlock",
    "update", "use", "verify", "visit", "wait", "warn", "watch", "write",
})  # fmt: skip

_CONDITION = re.compile(
    r"^(?:if|where|when|otherwise|unless)\b"
    r"|^(?:如|若|如果|假如|否则|否則|对于|對於|代码为|代碼為|倘若)",
    re.IGNORECASE,
)


def is_instruction(step: str) -> bool:
    """True when an English step says what someone does (an action among its first six
    words: "Cancel the card", "If the cut-off has passed, schedule…", "The team registers…"),
    False for a list item that only names something ("Proof of identity", "A joint account
    holder…", a quoted question). Steps in Chinese are taken as instructions: the verbs
    there are not separated by spaces, and no rule is better than a wrong one."""
    if re.search(r"[\u3400-\u9fff]", step):
        return True
    words = re.findall(r"[a-z]+", step.casefold())[:6]
    if words and words[0] in _CONDITIONS:
        return True  # "If the cut-off has passed, schedule…": what to do in a case
    return any(stem in _ACTIONS for word in words for stem in _stems(word))


_CONDITIONS = frozenset({"if", "when", "where", "once", "after", "before", "unless"})


def _stems(word: str) -> tuple[str, ...]:
    """The word and what it may be a form of: "checks", "reaches", "added", "cancelled"."""
    stems = [word]
    for ending in ("s", "es", "d", "ed"):
        if word.endswith(ending):
            stems.append(word[: -len(ending)])
    if word.endswith("led"):  # cancelled -> cancel
        stems.append(word[:-3])
    return tuple(stems)


def alternative_pairs(steps: Sequence[str]) -> list[tuple[int, int]]:
    """Index pairs of neighbouring steps that are alternatives ("If the cut-off has not
    passed, submit…", "If the cut-off has passed, schedule…"): only one of them happens, so
    their relative order is not part of the procedure."""
    conditional = [bool(_CONDITION.match(step.strip())) for step in steps]
    return [(i, i + 1) for i in range(len(steps) - 1) if conditional[i] and conditional[i + 1]]


_SAFETY_STEP = re.compile(
    r"\b(?:cancel|cancels|cancelled|block|blocks|blocked|freeze|frozen|stop(?! working)|stops"
    r"|suspend|suspends|verify|verifies|authenticate|authentication|identity|ID&V|never|do not"
    r"|don't|must|immediately|fraud)\b"
    r"|挂失|掛失|冻结|凍結|止付|停用|注销|註銷|核实|核實|核验|核驗|身份|切勿|不得|必须|必須|立即|欺诈|欺詐",
    re.IGNORECASE,
)


def is_safety_step(step: str) -> bool:
    """True for a step that protects the customer or the bank: cancelling or blocking a
    card, stopping a payment, verifying the caller, a "never" or "must" rule, a fraud hand-off."""
    return _SAFETY_STEP.search(step) is not None


@dataclass(frozen=True)
class Swap:
    """`first` is a safety step the document puts before `then`; the trainee put `then`
    before it."""

    first: str
    then: str


@dataclass(frozen=True)
class OrderCheck:
    """A scored ordering answer: 0 with any safety-critical swap, else the share of step
    pairs in the right order; `swaps` lists the safety-critical swaps, worst first (the
    safety step moved furthest)."""

    score: float
    swaps: tuple[Swap, ...]


def check_order(correct: Sequence[str], given: Sequence[str]) -> OrderCheck:
    """Score `given` against `correct`, naming every safety-critical swap.

    Neighbouring alternatives (alternative_pairs) are right in either order. A swap is
    safety-critical when a safety step (is_safety_step) of `correct` is given
    after a step that `correct` puts after it, or is left out while a later step is given.
    """
    given = list(given)
    for a, b in alternative_pairs(correct):  # alternatives count as right either way round
        if correct[a] in given and correct[b] in given:
            i, j = given.index(correct[a]), given.index(correct[b])
            if j < i:
                given[i], given[j] = given[j], given[i]
    position = {step: i for i, step in enumerate(given)}
    swaps: list[tuple[int, Swap]] = []
    for i, first in enumerate(correct):
        if not is_safety_step(first):
            continue
        for then in correct[i + 1 :]:
            if then not in position:
                continue
            if first not in position or position[then] < position[first]:
                moved = position.get(first, len(given)) - position[then]
                swaps.append((moved, Swap(first, then)))
    ordered = tuple(swap for _, swap in sorted(swaps, key=lambda pair: -pair[0]))
    return OrderCheck(0.0 if ordered else score_order(correct, given), ordered)
