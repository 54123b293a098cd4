"""Records of the onboarding feature: exercises, learning paths, assignments, attempts, scores.

Every exercise carries the Citation and the verbatim text its answer comes from, so a trainer
reviewing it, and a trainee told they were wrong, can always open the passage and check: the
answer is never something a generator made up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from kb.types import Citation

BLANK: Final = "____"
"""What stands for the missing value in a fill-in question."""

EXERCISE_KINDS: Final = ("order", "fill", "drill")
STATUSES: Final = ("draft", "approved", "discarded")
ITEM_KINDS: Final = ("document", "procedure", "exercise")


@dataclass(frozen=True)
class OrderPayload:
    """Put a procedure's top-level steps back in order.

    `steps` is the correct order, as written in the document; `presented` is the same texts in
    the deterministic shuffled order the trainee first sees (never the correct order).
    `chunk_ids` lists every part of the procedure when the chunker split a long one.
    """

    steps: tuple[str, ...]
    presented: tuple[str, ...]
    chunk_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if sorted(self.steps) != sorted(self.presented):
            raise ValueError(
                "presented must hold exactly the same step texts as steps. "
                f"Currently, steps is {self.steps!r} and presented is {self.presented!r}."
            )


@dataclass(frozen=True)
class FillPayload:
    """A key fact (amount, fee, limit, deadline) blanked out of a sentence or a table row.

    `original` is the sentence or table row exactly as the document has it; `answer` occurs in
    it verbatim. `accepted` lists other wordings that also count as right (the value with its
    unit, say); scoring.score_fill also forgives currency symbols, commas, case and width.
    """

    original: str
    answer: str
    accepted: tuple[str, ...] = ()


@dataclass(frozen=True)
class DrillPayload:
    """A real customer message, mapped by a trainer to the document that answers it.

    The trainee must find `document_id` and the steps to follow; `steps` are the top-level
    steps of that document's first procedure (empty when the document has none, and then
    finding the document is the whole task).
    """

    message: str
    document_id: str
    steps: tuple[str, ...]
    mapping_id: int


Payload = OrderPayload | FillPayload | DrillPayload
_PAYLOAD_OF_KIND: Final[dict[str, type]] = {
    "order": OrderPayload,
    "fill": FillPayload,
    "drill": DrillPayload,
}


@dataclass(frozen=True)
class Exercise:
    """One practice question with its answer and where that answer comes from.

    Ids are stable across regeneration ("order:{chunk_id}", "fill:{chunk_id}:{n}",
    "drill:{mapping id}") so a trainer's review survives it. `source_text` is the verbatim
    text of the chunk(s) the answer comes from; `topic` is the section label the exercise
    counts towards on the trainer's dashboard. `edited` is True once a trainer changed the
    generated prompt or answer.
    """

    id: str
    kind: str
    prompt: str
    payload: Payload
    source: Citation
    source_text: str
    topic: str
    status: str = "draft"
    edited: bool = False

    def __post_init__(self) -> None:
        if self.kind not in EXERCISE_KINDS:
            raise ValueError(
                f"kind must be one of {EXERCISE_KINDS}. Currently, kind is {self.kind!r}."
            )
        if self.status not in STATUSES:
            raise ValueError(
                f"status must be one of {STATUSES}. Currently, status is {self.status!r}."
            )
        expected = _PAYLOAD_OF_KIND[self.kind]
        if not isinstance(self.payload, expected):
            raise ValueError(
                f"A {self.kind!r} exercise needs a {expected.__name__}. "
                f"Currently, payload is a {type(self.payload).__name__}."
            )

    @property
    def document_id(self) -> str:
        return self.source.document_id


@dataclass(frozen=True)
class DrillMapping:
    """A trainer's statement that `document_id` answers the customer message `message`."""

    id: int
    message: str
    document_id: str
    created_by: str
    at: str


@dataclass(frozen=True)
class PathItem:
    """One step of a learning path: read a document, read a procedure, or do an exercise.

    `ref` is a document id, the chunk id of a procedure's first part, or an exercise id.
    """

    kind: str
    ref: str
    title: str

    def __post_init__(self) -> None:
        if self.kind not in ITEM_KINDS:
            raise ValueError(f"kind must be one of {ITEM_KINDS}. Currently, kind is {self.kind!r}.")
        if not self.ref:
            raise ValueError("A path item needs a ref (document, procedure or exercise id).")


@dataclass(frozen=True)
class LearningPath:
    id: int
    name: str
    items: tuple[PathItem, ...]
    created_by: str
    created_at: str


@dataclass(frozen=True)
class Assignment:
    path_id: int
    trainee: str  # a user name
    assigned_by: str
    at: str


@dataclass(frozen=True)
class GivenAnswer:
    """What a trainee answered; which fields matter depends on the exercise kind.

    fill: `text`; order: `steps` in the trainee's order; drill: `document_id` and `steps`.
    Marking a document or procedure as read records an attempt with an empty answer.
    """

    text: str = ""
    steps: tuple[str, ...] = ()
    document_id: str | None = None


@dataclass(frozen=True)
class Attempt:
    """One try at a path item. `item_id` is an exercise id, or a document / procedure ref
    for "read" marks (score None). `path_id` is None for practice outside any path."""

    id: int
    trainee: str
    item_id: str
    path_id: int | None
    answer: GivenAnswer
    score: float | None
    at: str


@dataclass(frozen=True)
class Progress:
    """One trainee on one path: items done, the mean of their latest scores, attempts made."""

    trainee: str
    path_id: int
    done: int
    total: int
    mean_score: float | None  # None until an exercise of the path has been scored
    attempts: int
    done_items: tuple[str, ...] = field(default=())
    last_at: str | None = None

    @property
    def completion(self) -> float:
        return self.done / self.total if self.total else 0.0


@dataclass(frozen=True)
class TopicScore:
    """How well a topic is known: the mean of the latest score on each exercise tried."""

    topic: str
    mean_score: float
    exercises: int  # distinct exercises with a score
    attempts: int  # all scored attempts counted


@dataclass(frozen=True)
class ProcedureRef:
    """A procedure as a topic lists it: open `chunk_ids` (all its parts) to show it."""

    document_id: str
    title: str  # the document's title
    section_path: tuple[str, ...]
    chunk_ids: tuple[str, ...]

    @property
    def section(self) -> str:
        return " > ".join(self.section_path)


@dataclass(frozen=True)
class Topic:
    """A way into the knowledge base for a newcomer.

    kind "category": every document of one category (Procedures, Policies...), with the ids
    of the section topics inside it in `sections`. kind "section": one top-level section label
    (say "Card services") and the documents and procedures under it.
    """

    id: str
    name: str
    kind: str
    documents: tuple[tuple[str, str], ...]  # (document id, title)
    procedures: tuple[ProcedureRef, ...]
    sections: tuple[str, ...] = ()
