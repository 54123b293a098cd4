"""The onboarding page's service layer: one function per thing a trainer or trainee does.

Why a layer between ui/onboarding.py and kb.training: the training package is pure parts
(generators, scorers) and a store; every action on the page needs several of them together
with the knowledge base (current documents and their chunks), retrieval (suggesting the
document for a call drill) and the audit trail. Doing that wiring here keeps the page a
description of the screen, lets the same actions be tested without Streamlit, and makes sure
every change a trainer makes and every answer a trainee gives is audited the same way.

Every function takes the Services first and, when it changes something, the acting user's
name; trainer actions are audited as "training_change" (with `change` saying which), trainee
answers and read marks as "training_attempt".
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kb.access import OPERATOR, Reader
from kb.answer import citation_for, parse_steps
from kb.exercises import Selection, importance, select_exercises
from kb.exercises_order import OrderCheck, check_order
from kb.retrieve import document_status
from kb.services import Services
from kb.training import generate as generators
from kb.training.banking77 import SPLITS, CustomerMessage, load_messages, suggest_document
from kb.training.errors import TrainingError
from kb.training.scoring import WEAK_BELOW, progress, score_answer, topic_scores, weak_topics
from kb.training.types import (
    EXERCISE_KINDS,
    Assignment,
    Attempt,
    DrillMapping,
    Exercise,
    GivenAnswer,
    LearningPath,
    OrderPayload,
    PathItem,
    ProcedureRef,
    Progress,
    Topic,
    TopicScore,
)
from kb.types import Category, Chunk, Citation, DocumentRecord, DocumentStatus, Step
from kb.validity import version_status

logger = logging.getLogger(__name__)

__all__ = [
    "REVIEW_PAGE",
    "Dashboard",
    "Generation",
    "PathChoices",
    "PathReport",
    "Reading",
    "ScorePoint",
    "TraineePath",
    "approve",
    "assign",
    "assigned",
    "check_visible",
    "create_path",
    "customer_messages",
    "dashboard",
    "discard",
    "document_steps",
    "document_titles",
    "drills",
    "edit",
    "exercise",
    "exercises",
    "generate",
    "map_drill",
    "mark_read",
    "message_categories",
    "my_paths",
    "order_check",
    "outdated",
    "path_choices",
    "paths",
    "procedures",
    "reading",
    "review",
    "select",
    "submit",
    "suggest_documents",
    "topics",
    "trainee_path",
    "trainees",
    "update_path",
]


# ---------------------------------------------------------------- records


@dataclass(frozen=True)
class Generation:
    """What one run of the generators did.

    `counts` is the store's added / updated / unchanged; `kinds` how many exercises of each
    kind the knowledge base gives now; `outdated` the stored exercises (not discarded) whose
    source is no longer a version in force, for the trainer to discard. `candidates` is how
    many the generators found in the documents in force, `dropped` how many of those
    kb.exercises left out, by reason (unanswerable, near-duplicate, low value, caps...);
    `retired` how many untouched drafts of an earlier generation were discarded because the
    selection no longer keeps them.
    """

    counts: dict[str, int]
    kinds: dict[str, int]
    outdated: tuple[Exercise, ...]
    candidates: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    retired: int = 0


@dataclass(frozen=True)
class Reading:
    """The text behind a "document" or "procedure" path item, with where each part is from.

    `passages` are (citation, verbatim chunk text) in reading order; `steps` are the parsed
    lines of a procedure (empty for a document), so the page can show them as a list.
    """

    item: PathItem
    passages: tuple[tuple[Citation, str], ...]
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True)
class PathChoices:
    """What a trainer may put on a learning path: documents and procedures to read, and the
    approved exercises (with the item each one becomes)."""

    readings: tuple[PathItem, ...]
    exercises: tuple[tuple[PathItem, Exercise], ...]


@dataclass(frozen=True)
class TraineePath:
    """One trainee's view of an assigned path: the items, progress, and the latest attempt on
    each item (so the page can show the last score and the answer again after a reload)."""

    path: LearningPath
    progress: Progress
    latest: dict[str, Attempt]


@dataclass(frozen=True)
class PathReport:
    """A path with one progress row per assigned trainee (also those who have not started)."""

    path: LearningPath
    rows: tuple[Progress, ...]


@dataclass(frozen=True)
class ScorePoint:
    """One scored attempt: the trainee's `number`-th scored attempt, for a score trend."""

    trainee: str
    number: int
    item_id: str
    score: float
    at: str


@dataclass(frozen=True)
class Dashboard:
    """The trainer's overview: progress per path, how well each topic is known (all
    trainees), the weak topics overall and per trainee, and every score in order."""

    paths: tuple[PathReport, ...]
    topics: tuple[TopicScore, ...]
    weak: tuple[TopicScore, ...]
    weak_by_trainee: dict[str, tuple[TopicScore, ...]]
    scores: tuple[ScorePoint, ...]
    weak_below: float = WEAK_BELOW


# ---------------------------------------------------------------- knowledge base helpers


def _reader(groups: Sequence[str]) -> Reader:
    return Reader(tuple(groups))


def _visible(services: Services, groups: Sequence[str]) -> list[DocumentRecord]:
    """Current documents someone with access `groups` may read (kb.access, the rule every
    read path applies; OPERATOR.groups for generating). Onboarding must not show a trainee
    or a trainer a restricted document, title or procedure the Ask page would not show."""
    return [d for d in services.documents(reader=_reader(groups)) if d.current_version is not None]


def check_visible(services: Services, document_id: str, groups: Sequence[str]) -> None:
    """Raise TrainingError unless the document may be shown to someone in `groups`."""
    if document_id not in {d.document_id for d in _visible(services, groups)}:
        raise TrainingError(
            "This item comes from a document your access groups do not include; ask your "
            "trainer to change the learning path."
        )


def _chunks_by_document(services: Services, groups: Sequence[str]) -> dict[str, list[Chunk]]:
    """The chunks of each document's current version: what exercises are generated from."""
    reader = _reader(groups)
    return {
        d.document_id: services.document_chunks(d.document_id, d.current_version, reader=reader)
        for d in _visible(services, groups)
        if d.current_version is not None
    }


def _in_force(info_status: DocumentStatus) -> bool:
    return info_status == DocumentStatus.CURRENT


def _in_force_chunks(services: Services, groups: Sequence[str]) -> dict[str, list[Chunk]]:
    """Chunks of the versions in force today (kb.validity): what exercises are generated
    from. An expired offer, a superseded version or one not in force yet would teach an
    answer that is wrong on today's calls."""
    today = dt.date.today()
    return {
        document_id: chunks
        for document_id, chunks in _chunks_by_document(services, groups).items()
        if chunks and _in_force(document_status(chunks[0].document, today))
    }


def _titles(services: Services, groups: Sequence[str]) -> dict[str, str]:
    return {d.document_id: d.title for d in services.documents(reader=_reader(groups))}


def document_titles(services: Services, groups: Sequence[str]) -> list[tuple[str, str]]:
    """(document id, title) of the current documents, by title: for filters and call drills."""
    current = _visible(services, groups)
    return [(d.document_id, d.title) for d in sorted(current, key=lambda d: d.title.casefold())]


def _audit_change(services: Services, user: str, change: str, **details: object) -> None:
    services.audit.record(user, "training_change", change=change, **details)


# ---------------------------------------------------------------- topics


_CATEGORY_NAMES = {
    Category.PROCEDURE: "Procedures",
    Category.POLICY: "Policies",
    Category.FAQ: "FAQs",
    Category.PRODUCT_SHEET: "Product sheets",
}


def topics(services: Services, groups: Sequence[str]) -> list[Topic]:
    """Ways into the knowledge base for a newcomer: one per category (Procedures, Policies
    ...), then one per document, named by its title, with its procedures.

    Not by section heading: "Purpose", "About" or "Fees" name nothing on their own and
    gather unrelated documents; a document title says what a newcomer will read."""
    today = dt.date.today()
    documents = sorted(
        (
            d
            for d in _visible(services, groups)
            if _in_force(version_status(d.effective_date, d.expiry_date, None, today))
        ),
        key=lambda d: d.title.casefold(),
    )
    chunks = _chunks_by_document(services, groups)
    procedures_of = {
        d.document_id: tuple(
            ProcedureRef(d.document_id, d.title, parts[0].section_path,
                         tuple(p.chunk_id for p in parts))
            for parts in generators.procedure_groups(chunks.get(d.document_id, []))
        )
        for d in documents
    }  # fmt: skip
    found: list[Topic] = []
    for category in Category:
        members = [d for d in documents if d.category == category]
        if members:
            found.append(
                Topic(
                    id=f"category:{category.value}",
                    name=_CATEGORY_NAMES.get(category, category.value),
                    kind="category",
                    documents=tuple((d.document_id, d.title) for d in members),
                    procedures=tuple(p for d in members for p in procedures_of[d.document_id]),
                    sections=tuple(f"document:{d.document_id}" for d in members),
                )
            )
    found += [
        Topic(
            id=f"document:{d.document_id}",
            name=d.title,
            kind="document",
            documents=((d.document_id, d.title),),
            procedures=procedures_of[d.document_id],
        )
        for d in documents
    ]
    return found


def procedures(services: Services, groups: Sequence[str]) -> list[ProcedureRef]:
    """Every procedure of the current documents, by document title then position."""
    titles = _titles(services, groups)
    found: list[ProcedureRef] = []
    for document_id, chunks in sorted(
        _chunks_by_document(services, groups).items(), key=lambda kv: titles[kv[0]].casefold()
    ):
        for parts in generators.procedure_groups(chunks):
            found.append(
                ProcedureRef(
                    document_id,
                    titles[document_id],
                    parts[0].section_path,
                    tuple(p.chunk_id for p in parts),
                )
            )
    return found


def _procedure_parts(services: Services, chunk_id: str, groups: Sequence[str]) -> tuple[Chunk, ...]:
    """The parts of the procedure starting at `chunk_id`, from the document's current version
    when it still has a procedure under the same heading (a re-ingest renumbers chunk ids),
    else from the version the path was built on."""
    found = services.kb.registry.chunks_by_id([chunk_id]).get(chunk_id)
    if found is None:
        raise TrainingError(
            f"The procedure {chunk_id} is no longer in the knowledge base; ask your trainer "
            "to update the learning path."
        )
    reader = _reader(groups)
    document = services.document(found.document.document_id, reader=reader)
    versions = [found.document.version]
    if document.current_version is not None and document.current_version != versions[0]:
        versions.insert(0, document.current_version)
    for version in versions:
        chunks = services.document_chunks(found.document.document_id, version, reader=reader)
        for parts in generators.procedure_groups(chunks):
            if parts[0].section_path == found.section_path:
                return parts
    return (found,)


def reading(services: Services, item: PathItem, groups: Sequence[str]) -> Reading:
    """The text to read for a "document" item (its current version, every passage) or a
    "procedure" item (all its parts, and its steps), if `groups` may read it."""
    if item.kind == "procedure":
        found = services.kb.registry.chunks_by_id([item.ref]).get(item.ref)
        if found is not None:
            check_visible(services, found.document.document_id, groups)
    elif item.kind == "document":
        check_visible(services, item.ref, groups)
    if item.kind == "document":
        record = services.document(item.ref, reader=_reader(groups))
        if record.current_version is None:
            raise TrainingError(
                f"“{item.title}” has been deleted from the knowledge base; ask your trainer "
                "to update the learning path."
            )
        chunks = services.document_chunks(item.ref, record.current_version, reader=_reader(groups))
        return Reading(item, tuple((citation_for(c), c.text) for c in chunks))
    if item.kind == "procedure":
        parts = _procedure_parts(services, item.ref, groups)
        return Reading(
            item,
            tuple((citation_for(c), c.text) for c in parts),
            tuple(parse_steps(parts, {})),
        )
    raise TrainingError(f"A {item.kind} item has nothing to read; answer it instead.")


def document_steps(services: Services, document_id: str, groups: Sequence[str]) -> list[str]:
    """The top-level steps of every procedure in a document's current version, in order:
    what a trainee picks from in a call drill once they chose this document (one `groups`
    may read)."""
    reader = _reader(groups)
    record = services.document(document_id, reader=reader)
    if record.current_version is None:
        return []
    steps: list[str] = []
    chunks = services.document_chunks(document_id, record.current_version, reader=reader)
    for parts in generators.procedure_groups(chunks):
        for step in parse_steps(parts, {}):
            if step.level == 1 and step.kind == "step" and step.text not in steps:
                steps.append(step.text)
    return steps


# ---------------------------------------------------------------- generating and reviewing


def outdated(services: Services) -> list[Exercise]:
    """Exercises (not discarded) whose source is not in force: the document was deleted,
    has a newer version, has expired, or is not in force yet (kb.validity)."""
    live = [e for e in services.training.exercises() if e.status != "discarded"]
    documents = services.documents(reader=OPERATOR)
    stale = {e.id for e in generators.outdated_exercises(live, documents)}
    today = dt.date.today()
    not_in_force = {
        d.document_id
        for d in documents
        if not _in_force(version_status(d.effective_date, d.expiry_date, None, today))
    }
    return [e for e in live if e.id in stale or e.document_id in not_in_force]


def _select(chunks_by_document: dict[str, list[Chunk]]) -> tuple[list[Exercise], Selection]:
    chunks = [c for parts in chunks_by_document.values() for c in parts]
    candidates = [*generators.ordering_exercises(chunks), *generators.fill_in_exercises(chunks)]
    return candidates, select_exercises(candidates)


def select(services: Services) -> tuple[list[Exercise], Selection]:
    """What `generate` would store, without storing it: the ordering and fill-in candidates
    of the documents in force, and what kb.exercises keeps of them (eval/exercises.py
    measures this)."""
    return _select(_in_force_chunks(services, OPERATOR.groups))


def generate(services: Services, user: str) -> Generation:
    """Generate ordering and fill-in exercises from every document in force, keep those
    worth a trainer's time (kb.exercises: answerable, ranked, no near-duplicates, capped per
    section and document), add the call drills from the trainers' mappings, and store them
    for review (new ones as drafts).

    Idempotent: a second run with nothing changed reports everything "unchanged". Audited
    with the counts, so the trail shows when the question bank changed and by whom.
    """
    chunks_by_document = _in_force_chunks(services, OPERATOR.groups)  # shown filtered
    candidates, selection = _select(chunks_by_document)
    generated = [
        *selection.kept,
        *generators.drill_exercises(services.training.mappings(), chunks_by_document),
    ]
    counts = services.training.save_generated(generated)
    kinds = {kind: sum(1 for e in generated if e.kind == kind) for kind in EXERCISE_KINDS}
    dropped = selection.counts()
    retired = _retire_left_out_drafts(services, {e.id for e in generated}, user)
    stale = tuple(outdated(services))
    _audit_change(
        services, user, "generated", **counts, **kinds, outdated=len(stale),
        candidates=len(candidates), dropped=dropped, retired=retired,
    )  # fmt: skip
    logger.info(
        "Generated exercises: %s (%s) from %d candidates; dropped %s; %d outdated",
        counts, kinds, len(candidates), dropped, len(stale),
    )  # fmt: skip
    return Generation(counts, kinds, stale, len(candidates), dropped, retired)


def _retire_left_out_drafts(services: Services, generated: set[str], user: str) -> int:
    """Discard the drafts an earlier generation stored that the selection no longer keeps
    (the thousand-odd trivia of generations before kb.exercises), so the review queue holds
    what is worth reviewing. Only untouched ones: never reviewed, never edited, from a
    document still in force (those of a document gone or expired are `outdated`, for the
    trainer to see). A trainer can set one back to draft; audited as "discarded"."""
    in_force = set(_in_force_chunks(services, OPERATOR.groups))
    left_out = [
        e.id
        for e in services.training.exercises(status="draft")
        if e.kind in ("order", "fill")
        and not e.edited
        and e.id not in generated
        and e.document_id in in_force
    ]
    if left_out:
        changed = [
            services.training.set_status(exercise_id, "discarded") for exercise_id in left_out
        ]
        _audit_change(
            services, user, "discarded", exercises=[e.id for e in changed], count=len(changed),
            reason="left out by the selection (kb.exercises)",
        )  # fmt: skip
    return len(left_out)


def exercise(services: Services, exercise_id: str) -> Exercise:
    """One exercise as trainees see it (a trainer's edits applied)."""
    return services.training.exercise(exercise_id)


def exercises(
    services: Services,
    status: str | None = None,
    kind: str | None = None,
    document_id: str | None = None,
    *,
    groups: Sequence[str],
    best_first: bool = False,
) -> list[Exercise]:
    """The exercises under review, optionally filtered (None: any), only those from
    documents `groups` may read; with `best_first`, the most important first
    (kb.exercises.importance), so a trainer reviewing a page at a time reads those first."""
    found = services.training.exercises(status=status, document_id=document_id, kind=kind)
    visible = {d.document_id for d in _visible(services, groups)}
    shown = [e for e in found if e.document_id in visible]
    if best_first:
        shown.sort(key=lambda e: -importance(e).score)  # stable: ties keep the store's order
    return shown


REVIEW_PAGE = 20
"""The most exercises approved in one action: a page the trainer has read, not the bank."""


def review(
    services: Services, exercise_ids: Sequence[str], status: str, user: str
) -> list[Exercise]:
    """Set the status ("approved", "discarded" or back to "draft") of one or many exercises,
    audited as one change listing them. Exercises already in that status are left alone.

    At most REVIEW_PAGE are approved at once: approving is a trainer vouching for each
    question, which one click over a thousand is not. An exercise a learning path uses
    stays approved: trainees would otherwise meet a question nobody vouches for. The
    trainer takes it out of the path first."""
    if status == "approved" and len(dict.fromkeys(exercise_ids)) > REVIEW_PAGE:
        raise TrainingError(
            f"Approve at most {REVIEW_PAGE} exercises at a time (the page you have read); "
            f"{len(dict.fromkeys(exercise_ids))} were chosen."
        )
    if status != "approved":
        in_use = [
            (exercise_id, path.name)
            for exercise_id in dict.fromkeys(exercise_ids)
            for path in services.training.paths_using(exercise_id)
        ]
        if in_use:
            listed = "; ".join(f"{e} in “{name}”" for e, name in in_use[:3])
            more = f" and {len(in_use) - 3} more" if len(in_use) > 3 else ""
            raise TrainingError(
                f"Still used by a learning path: {listed}{more}. Take it out of the path "
                "(Learning paths > Edit a path) first."
            )
    changed = [
        services.training.set_status(exercise_id, status)
        for exercise_id in dict.fromkeys(exercise_ids)
        if services.training.exercise(exercise_id).status != status
    ]
    if changed:
        _audit_change(services, user, status, exercises=[e.id for e in changed], count=len(changed))
    return changed


def approve(services: Services, exercise_ids: Sequence[str], user: str) -> list[Exercise]:
    return review(services, exercise_ids, "approved", user)


def discard(services: Services, exercise_ids: Sequence[str], user: str) -> list[Exercise]:
    return review(services, exercise_ids, "discarded", user)


def edit(
    services: Services,
    exercise_id: str,
    user: str,
    *,
    prompt: str | None = None,
    answer: str | Sequence[str] | None = None,
    accepted: Sequence[str] | None = None,
) -> Exercise:
    """A trainer's correction of the question or answer (the store checks that the answer is
    still quoted from the source); kept over later regenerations, and audited."""
    edited = services.training.edit(
        exercise_id, prompt=prompt, answer=answer, accepted=accepted, by=user
    )
    _audit_change(services, user, "edited", exercise=exercise_id)
    return edited


# ---------------------------------------------------------------- call drills


@functools.lru_cache(maxsize=4)
def _messages(folder: Path) -> tuple[CustomerMessage, ...]:
    """Read once per folder: the test split alone is 3,080 rows, and the page asks on every
    rerun. Only the splits whose file exists are read (AnswerDesk ships test.csv only); with
    none, load_messages raises the error that names the missing file."""
    splits = [s for s in SPLITS if (folder / f"{s}.csv").is_file()] or list(SPLITS)
    return tuple(load_messages(folder, splits))


def customer_messages(services: Services, category: str | None = None) -> list[CustomerMessage]:
    """Real customer messages (BANKING77), all or those of one intent category."""
    messages = _messages(services.settings.customer_messages_dir)
    return [m for m in messages if category is None or m.category == category]


def message_categories(services: Services) -> list[str]:
    """The intent categories that have messages, sorted by name (the data set spells one
    with a capital letter)."""
    return sorted({m.category for m in customer_messages(services) if m.category}, key=str.casefold)


def suggest_documents(
    services: Services, message: str, groups: Sequence[str], limit: int = 3
) -> list[tuple[str, str]]:
    """(document id, title) of the current documents `groups` may read that the knowledge
    base's own search finds for a customer message, best first, so the trainer confirms a
    document rather than hunts."""
    titles = dict(document_titles(services, groups))
    reader = _reader(groups)

    def search(text: str) -> list[str]:
        return [c.document.document_id for c, _ in services.search(text, 20, reader=reader)]

    found = suggest_document(message, search, limit)
    return [(d, titles[d]) for d in found if d in titles]


def drills(services: Services, groups: Sequence[str]) -> list[tuple[DrillMapping, Exercise | None]]:
    """Each trainer mapping to a document `groups` may read, with the drill exercise made
    from it (None when its document is gone and the drill could not be generated)."""
    stored = {e.id: e for e in services.training.exercises(kind="drill")}
    readable = {
        d.document_id for d in services.documents(include_deleted=True, reader=_reader(groups))
    }
    return [
        (m, stored.get(f"drill:{m.id}"))
        for m in services.training.mappings()
        if m.document_id in readable
    ]


def map_drill(
    services: Services, message: str, document_id: str, user: str, groups: Sequence[str]
) -> Exercise:
    """Record that `document_id` (one `groups` may read) answers the customer `message` and
    make the call drill from it at once (a draft, reviewed like any other exercise). Mapping
    the same pair again returns the existing drill unchanged."""
    reader = _reader(groups)
    record = services.document(document_id, reader=reader)
    if record.current_version is None:
        raise TrainingError(f"“{record.title}” has been deleted; choose a current document.")
    mapping = services.training.add_mapping(message, document_id, user)
    chunks = {
        document_id: services.document_chunks(document_id, record.current_version, reader=reader)
    }
    [drill] = generators.drill_exercises([mapping], chunks)
    services.training.save_generated([drill])
    _audit_change(
        services, user, "drill_mapped", mapping=mapping.id, document=document_id, exercise=drill.id
    )
    return services.training.exercise(drill.id)


# ---------------------------------------------------------------- learning paths


def _exercise_title(exercise: Exercise) -> str:
    return exercise.prompt.strip().splitlines()[-1][:120]


def path_choices(services: Services, groups: Sequence[str]) -> PathChoices:
    """Documents, procedures and approved exercises (those `groups` may read), each as the
    path item it would become."""
    readings = [
        PathItem("document", d.document_id, d.title)
        for d in sorted(_visible(services, groups), key=lambda d: d.title.casefold())
    ]
    readings += [
        PathItem("procedure", p.chunk_ids[0], f"{p.title} > {p.section}")
        for p in procedures(services, groups)
    ]
    approved = exercises(services, status="approved", groups=groups)
    return PathChoices(
        tuple(readings),
        tuple((PathItem("exercise", e.id, _exercise_title(e)), e) for e in approved),
    )


def create_path(
    services: Services, name: str, items: Sequence[PathItem], user: str
) -> LearningPath:
    """A new learning path of `items` in order. Raises TrainingError (a message for the
    trainer) for a missing name, no items, or an exercise that is not approved."""
    path = services.training.create_path(name, items, user)
    _audit_change(
        services, user, "path_created", path=path.id, name=path.name, items=[i.ref for i in items]
    )
    return path


def update_path(
    services: Services, path_id: int, name: str, items: Sequence[PathItem], user: str
) -> LearningPath:
    """Rename a path and set its items (reordered, added or removed), audited."""
    before = services.training.path(path_id)
    path = services.training.update_path(path_id, name, items)
    _audit_change(
        services, user, "path_edited", path=path_id, name=path.name,
        added=[i.ref for i in path.items if i not in before.items],
        removed=[i.ref for i in before.items if i not in path.items],
    )  # fmt: skip
    return path


def paths(services: Services) -> list[LearningPath]:
    return services.training.paths()


def assigned(services: Services) -> dict[int, list[str]]:
    """Path id -> the trainees it is assigned to, in the order they were assigned."""
    names: dict[int, list[str]] = {}
    for assignment in services.training.assignments():
        names.setdefault(assignment.path_id, []).append(assignment.trainee)
    return names


def trainees(services: Services) -> list[str]:
    """Names of the accounts a path can be assigned to: active agents."""
    assert services.users is not None
    return [u.name for u in services.users.list() if u.role == "agent" and not u.disabled]


def assign(
    services: Services, path_id: int, trainee_names: Sequence[str], user: str
) -> list[Assignment]:
    """Assign a path to each trainee (assigning again keeps the first record), audited."""
    if not trainee_names:
        raise TrainingError("Choose at least one agent to assign the learning path to.")
    done = [services.training.assign(path_id, name, user) for name in trainee_names]
    _audit_change(services, user, "assigned", path=path_id, trainees=list(trainee_names))
    return done


# ---------------------------------------------------------------- trainees


def my_paths(services: Services, trainee: str) -> list[LearningPath]:
    """The paths assigned to `trainee`, in the order they were assigned."""
    return [services.training.path(a.path_id) for a in services.training.assignments(trainee)]


def trainee_path(services: Services, trainee: str, path_id: int) -> TraineePath:
    """A trainee's path with their progress and latest attempt per item."""
    path = services.training.path(path_id)
    attempts = services.training.attempts(trainee=trainee, path_id=path_id)
    [mine] = progress(path, attempts, [trainee])
    latest: dict[str, Attempt] = {}
    for attempt in attempts:  # in id order: the last one wins
        if attempt.score is not None or attempt.item_id not in latest:
            latest[attempt.item_id] = attempt
    return TraineePath(path, mine, latest)


def _item(services: Services, path_id: int, item_id: str) -> PathItem:
    path = services.training.path(path_id)
    for item in path.items:
        if item.ref == item_id:
            return item
    raise TrainingError(f"“{item_id}” is not part of the learning path “{path.name}”.")


def submit(
    services: Services, trainee: str, path_id: int, item_id: str, given: GivenAnswer
) -> tuple[float, Exercise]:
    """Score a trainee's answer to an exercise of their path, record and audit it. Returns
    the score and the exercise, whose answer and source the page then shows."""
    item = _item(services, path_id, item_id)
    if item.kind != "exercise":
        raise TrainingError(f"“{item.title}” is to be read, not answered.")
    exercise = services.training.exercise(item_id)
    if isinstance(exercise.payload, OrderPayload):
        score = check_order(exercise.payload.steps, given.steps).score
    else:
        score = score_answer(exercise, given)
    services.training.record_attempt(trainee, item_id, given, score, path_id)
    services.audit.record(
        trainee,
        "training_attempt",
        path=path_id,
        exercise=item_id,
        kind=exercise.kind,
        score=round(score, 3),
    )
    return score, exercise


def order_check(exercise: Exercise, given: GivenAnswer) -> OrderCheck | None:
    """For an ordering exercise, the score and the safety-critical swaps in `given` (what
    the page tells the trainee); None for other kinds."""
    if not isinstance(exercise.payload, OrderPayload):
        return None
    return check_order(exercise.payload.steps, given.steps)


def mark_read(services: Services, trainee: str, path_id: int, item_id: str) -> Attempt:
    """Record that a trainee read a document or procedure of their path, audited."""
    item = _item(services, path_id, item_id)
    if item.kind == "exercise":
        raise TrainingError(f"“{item.title}” is an exercise: answer it to complete it.")
    attempt = services.training.record_attempt(trainee, item_id, None, None, path_id)
    services.audit.record(trainee, "training_attempt", path=path_id, read=item_id)
    return attempt


# ---------------------------------------------------------------- dashboard


def dashboard(services: Services, groups: Sequence[str]) -> Dashboard:
    """Progress on every path for everyone assigned, topic scores and weak topics (overall
    and per trainee, from the latest score on each exercise), and all scores in order.

    Topics and scores only of exercises from documents `groups` may read: a topic can be a
    restricted document's title or section. Path progress counts every item (numbers)."""
    store = services.training
    every_attempt = store.attempts()
    readable = {
        d.document_id for d in services.documents(include_deleted=True, reader=_reader(groups))
    }
    known = [e for e in store.exercises() if e.document_id in readable]
    shown = {e.id for e in known}
    attempts = [a for a in every_attempt if a.item_id in shown]
    trainees_of = assigned(services)
    reports = tuple(
        PathReport(path, tuple(progress(path, every_attempt, trainees_of.get(path.id, []))))
        for path in store.paths()
    )
    names = sorted({a.trainee for a in attempts if a.score is not None})
    by_trainee = {
        name: tuple(weak_topics([a for a in attempts if a.trainee == name], known))
        for name in names
    }
    counters: dict[str, int] = {}
    points: list[ScorePoint] = []
    for attempt in attempts:
        if attempt.score is None:
            continue
        counters[attempt.trainee] = counters.get(attempt.trainee, 0) + 1
        points.append(
            ScorePoint(
                attempt.trainee,
                counters[attempt.trainee],
                attempt.item_id,
                attempt.score,
                attempt.at,
            )
        )
    return Dashboard(
        paths=reports,
        topics=tuple(topic_scores(attempts, known)),
        weak=tuple(weak_topics(attempts, known)),
        weak_by_trainee={name: scores for name, scores in by_trainee.items() if scores},
        scores=tuple(points),
    )
