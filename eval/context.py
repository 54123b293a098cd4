"""The call as context, measured both ways, from the golden set.

A follow-up must use the call ("and for a business account?"): the golden set's follow-up
questions measure that. The other side is a new, self-contained question asked later in the
same call: it must not be dragged back to the earlier topic. `topic_changes` makes those
cases from the golden set itself: each standalone answerable question is asked after an
unrelated one (a question of the same language whose gold documents share nothing with its
own), so the earlier turn can only hurt. Deterministic: the pairing depends on order only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from eval.golden import GoldQuestion
from kb.types import Turn

STANDALONE = ("fact", "procedure", "customer")


def topic_changes(questions: Sequence[GoldQuestion], offset: int = 7) -> list[GoldQuestion]:
    """Each standalone question with an unrelated earlier question (and a short agent reply)
    as its history; the id gains a "-after-<earlier id>" suffix."""
    pool = [q for q in questions if q.type in STANDALONE and not q.history and q.gold]
    cases = []
    for i, question in enumerate(pool):
        for step in range(offset, offset + len(pool)):
            earlier = pool[(i + step) % len(pool)]
            if (
                earlier.language == question.language
                and not earlier.gold_documents & question.gold_documents
            ):
                history = (Turn("user", earlier.text), Turn("assistant", "Let me check that."))
                cases.append(
                    replace(question, id=f"{question.id}-after-{earlier.id}", history=history)
                )
                break
    return cases
