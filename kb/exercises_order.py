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

__all__ = ["OrderCheck", "Swap", "alternative_pairs", "check_order", "is_safety_step"]

_CONDITION = re.compile(
    r"^(?:if|where|when|otherwise|unless)\b"
    r"|^(?:如|若|如果|假如|否则|否則|对于|對於|代码为|代碼為|倘若)",
    re.IGNORECASE,
)


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
