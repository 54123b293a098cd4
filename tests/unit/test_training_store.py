"""TrainingStore on a real SQLite file and a real PostgreSQL schema: review survives
regeneration, paths use approved exercises only, attempts and drill mappings round-trip.
Rules decided in Python, which no SQL of the other backend changes, run on SQLite only."""

from __future__ import annotations

import dataclasses

import pytest

from kb.errors import KBError
from kb.training.errors import (
    ExerciseNotApprovedError,
    InvalidEditError,
    UnknownExerciseError,
    UnknownPathError,
)
from kb.training.generate import fill_in_exercises, ordering_exercises
from kb.training.scoring import progress, score_answer
from kb.training.store import TrainingStore
from kb.training.types import GivenAnswer, PathItem
from kb.types import ChunkKind
from tests.unit.test_training_generate import PHONE_STEPS, chunk

SQLITE_ONLY = pytest.mark.parametrize("backend_settings", ["local"], indirect=True)


@pytest.fixture
def store(backend_settings):
    """The store on each backend in turn (a folder below the base: a folder is made or bound)."""
    built = TrainingStore(backend_settings.data_dir / "training" / "training.sqlite")
    yield built
    built.close()


@pytest.fixture
def generated():
    procedure = chunk(4, PHONE_STEPS, kind=ChunkKind.PROCEDURE)
    return ordering_exercises([procedure]) + fill_in_exercises([procedure])


def test_saved_exercises_read_back_equal(store, generated):
    assert store.save_generated(generated) == {"added": 3, "updated": 0, "unchanged": 0}
    assert store.exercises() == generated
    assert store.exercise(generated[0].id) == generated[0]
    assert store.exercises(kind="fill") == generated[1:]
    assert store.exercises(document_id="lost-card") == generated
    assert store.exercises(document_id="other") == []


@SQLITE_ONLY
def test_saving_again_is_idempotent(store, generated):
    store.save_generated(generated)
    assert store.save_generated(generated) == {"added": 0, "updated": 0, "unchanged": 3}
    assert len(store.exercises()) == 3


def test_review_survives_regeneration(store, generated):
    order, fill, other_fill = generated
    store.save_generated(generated)
    store.set_status(order.id, "approved")
    store.set_status(other_fill.id, "discarded")
    store.edit(
        fill.id, prompt="Express delivery: the fee is ____.", accepted=["15 pounds"], by="tia"
    )
    store.set_status(fill.id, "approved")
    store.save_generated(generated)
    assert store.exercise(order.id).status == "approved"
    assert store.exercise(other_fill.id).status == "discarded"
    edited = store.exercise(fill.id)
    assert edited.status == "approved"
    assert edited.edited
    assert edited.prompt == "Express delivery: the fee is ____."
    assert edited.payload.accepted == ("15 pounds",)
    assert store.exercises(status="approved") == [store.exercise(order.id), edited]


@SQLITE_ONLY
def test_changed_generation_sends_an_unedited_approval_back_to_draft(store, generated):
    order, fill, _ = generated
    store.save_generated(generated)
    store.set_status(order.id, "approved")
    store.edit(fill.id, prompt="Fee for express delivery: ____")
    store.set_status(fill.id, "approved")
    changed = [dataclasses.replace(e, prompt=e.prompt + " (new wording)") for e in (order, fill)]
    assert store.save_generated(changed)["updated"] == 2
    assert store.exercise(order.id).status == "draft"  # nobody saw the new question yet
    assert store.exercise(order.id).prompt.endswith("(new wording)")
    assert store.exercise(fill.id).status == "approved"  # the trainer's version still applies
    assert store.exercise(fill.id).prompt == "Fee for express delivery: ____"


@SQLITE_ONLY
def test_edit_keeps_the_answer_traceable(store, generated):
    order, fill, _ = generated
    store.save_generated(generated)
    with pytest.raises(InvalidEditError, match="does not appear in the source passage"):
        store.edit(fill.id, answer="£16")
    with pytest.raises(InvalidEditError, match="blank"):
        store.edit(fill.id, prompt="What does express delivery cost?")
    with pytest.raises(InvalidEditError, match="do not appear"):
        store.edit(order.id, answer=["Greet the customer.", "Make tea."])
    assert not store.exercise(fill.id).edited


@SQLITE_ONLY
def test_edit_an_ordering_exercise_reshuffles(store, generated):
    order = generated[0]
    store.save_generated(generated)
    steps = list(order.payload.steps[:3])
    edited = store.edit(order.id, answer=steps)
    assert edited.payload.steps == tuple(steps)
    assert sorted(edited.payload.presented) == sorted(steps)
    assert edited.payload.presented != tuple(steps)


def test_unknown_ids_and_statuses_have_helpful_errors(store):
    with pytest.raises(UnknownExerciseError, match="nope"):
        store.set_status("nope", "approved")
    with pytest.raises(KBError, match="status must be one of"):
        store.exercises(status="maybe")
    with pytest.raises(UnknownPathError):
        store.path(42)


def test_only_approved_exercises_go_into_a_path(store, generated):
    _, fill, _ = generated
    store.save_generated(generated)
    items = [
        PathItem("document", "lost-card", "Lost Card Procedure"),
        PathItem("exercise", fill.id, ""),
    ]
    with pytest.raises(ExerciseNotApprovedError, match="approve it") as raised:
        store.create_path("Cards week 1", items, created_by="tia")
    assert isinstance(raised.value, KBError)
    assert store.paths() == []
    store.set_status(fill.id, "approved")
    path = store.create_path("Cards week 1", items, created_by="tia")
    assert [item.ref for item in path.items] == ["lost-card", fill.id]
    assert path.items[1].title  # filled from the question
    assert store.paths() == [path]
    assert store.path(path.id) == path


def test_assign_attempt_and_progress(store, generated):
    order, fill, _ = generated
    store.save_generated(generated)
    for exercise in (order, fill):
        store.set_status(exercise.id, "approved")
    path = store.create_path(
        "Cards week 1",
        [PathItem("document", "lost-card", "Lost Card Procedure"),
         PathItem("exercise", order.id, "Phone steps"),
         PathItem("exercise", fill.id, "Express fee")],
        created_by="tia",
    )  # fmt: skip
    first = store.assign(path.id, "ana", by="tia")
    assert store.assign(path.id, "ana", by="someone else") == first
    store.assign(path.id, "ben", by="tia")
    assert [a.trainee for a in store.assignments()] == ["ana", "ben"]
    assert [a.path_id for a in store.assignments(trainee="ben")] == [path.id]

    store.record_attempt("ana", "lost-card", None, None, path_id=path.id)
    answer = GivenAnswer(steps=order.payload.presented)
    store.record_attempt("ana", order.id, answer, score_answer(order, answer), path_id=path.id)
    store.record_attempt("ana", fill.id, GivenAnswer(text="£15"), 1.0, path_id=path.id)
    saved = store.attempts(trainee="ana")
    assert [a.item_id for a in saved] == ["lost-card", order.id, fill.id]
    assert saved[1].answer == answer
    assert store.attempts(path_id=path.id + 1) == []

    trainees = [a.trainee for a in store.assignments()]
    ana, ben = progress(store.path(path.id), store.attempts(), trainees)
    assert (ana.done, ana.total) == (3, 3)
    assert ana.mean_score is not None and ana.mean_score < 1.0
    assert (ben.done, ben.mean_score) == (0, None)


@SQLITE_ONLY
def test_attempt_validation(store):
    with pytest.raises(KBError, match="score must be between 0 and 1"):
        store.record_attempt("ana", "fill:x", GivenAnswer(text="1"), 1.5)
    with pytest.raises(UnknownPathError):
        store.record_attempt("ana", "fill:x", GivenAnswer(text="1"), 1.0, path_id=99)


def test_drill_mappings_round_trip(store):
    first = store.add_mapping("  I lost my   card ", "lost-card", by="tia")
    assert first.message == "I lost my card"
    assert store.add_mapping("I lost my card", "lost-card", by="tia") == first
    store.add_mapping("I lost my card", "zh-lost-card", by="tia")
    assert [(m.message, m.document_id) for m in store.mappings()] == [
        ("I lost my card", "lost-card"),
        ("I lost my card", "zh-lost-card"),
    ]
    with pytest.raises(KBError, match="needs both"):
        store.add_mapping("", "lost-card", by="tia")


def test_data_survives_reopening(backend_settings, generated):
    path = backend_settings.data_dir / "training.sqlite"
    first = TrainingStore(path)
    first.save_generated(generated)
    first.set_status(generated[0].id, "approved")
    first.close()
    again = TrainingStore(path)
    try:
        assert again.exercise(generated[0].id).status == "approved"
        assert len(again.exercises()) == len(generated)
    finally:
        again.close()
