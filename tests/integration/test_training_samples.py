"""Onboarding practice generated from the real sample bank (samples/, ingested once), checked
for traceability, then taken through review, a learning path, attempts and the dashboard."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from kb.access import OPERATOR
from kb.training.banking77 import suggest_document
from kb.training.generate import (
    drill_exercises,
    fill_in_exercises,
    ordering_exercises,
    topics,
)
from kb.training.scoring import progress, score_answer, weak_topics
from kb.training.store import TrainingStore
from kb.training.types import Exercise, FillPayload, GivenAnswer, OrderPayload, PathItem
from kb.types import Chunk, ChunkKind

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def chunks_by_document(sample_services) -> dict[str, list[Chunk]]:
    return {
        d.document_id: sample_services.document_chunks(
            d.document_id, d.current_version, reader=OPERATOR
        )
        for d in sample_services.documents(reader=OPERATOR)
    }


@pytest.fixture(scope="module")
def all_chunks(chunks_by_document) -> list[Chunk]:
    return [c for chunks in chunks_by_document.values() for c in chunks]


@pytest.fixture(scope="module")
def orders(all_chunks) -> list[Exercise]:
    return ordering_exercises(all_chunks)


@pytest.fixture(scope="module")
def fills(all_chunks) -> list[Exercise]:
    return fill_in_exercises(all_chunks)


def by_id(chunks: Sequence[Chunk]) -> dict[str, Chunk]:
    return {c.chunk_id: c for c in chunks}


def test_lost_card_procedures_become_ordering_exercises(orders):
    ids = {e.id for e in orders}
    assert "order:lost-stolen-card-procedure:v1:4" in ids
    assert "order:zh-lost-card-procedure:v1:4" in ids
    phone = next(e for e in orders if e.id == "order:lost-stolen-card-procedure:v1:4")
    assert isinstance(phone.payload, OrderPayload)
    steps = phone.payload.steps
    # the chunker split this procedure in two; the exercise holds all eleven steps in order
    assert len(steps) == 11
    assert phone.payload.chunk_ids == (
        "lost-stolen-card-procedure:v1:4",
        "lost-stolen-card-procedure:v1:5",
    )
    assert steps[0].startswith("Greet the customer")
    assert steps.index(next(s for s in steps if s.startswith("Cancel the card in CardView"))) == 3
    assert steps[-1].startswith("Give the card case reference")


def test_every_ordering_exercise_is_traceable(orders, all_chunks):
    chunks = by_id(all_chunks)
    assert len(orders) >= 40
    for exercise in orders:
        payload = exercise.payload
        assert isinstance(payload, OrderPayload)
        assert len(payload.steps) >= 3
        assert payload.presented != payload.steps
        assert sorted(payload.presented) == sorted(payload.steps)
        parts = [chunks[chunk_id] for chunk_id in payload.chunk_ids]
        assert all(part.kind == ChunkKind.PROCEDURE for part in parts)
        assert exercise.source_text == "\n".join(part.text for part in parts)
        for step in payload.steps:
            assert step in exercise.source_text, (exercise.id, step)


def test_every_fill_in_answer_occurs_verbatim_in_its_source_chunk(fills, all_chunks):
    chunks = by_id(all_chunks)
    assert len(fills) >= 200
    for exercise in fills:
        payload = exercise.payload
        assert isinstance(payload, FillPayload)
        source = chunks[exercise.source.chunk_id]
        assert exercise.source_text == source.text
        assert payload.answer in source.text, exercise.id
        assert payload.original in source.text, exercise.id
        assert payload.answer in payload.original, exercise.id
        assert exercise.prompt.count("____") == 1, exercise.id


def test_fill_ins_include_table_values_in_both_languages(fills, all_chunks):
    chunks = by_id(all_chunks)
    from_tables = [e for e in fills if chunks[e.source.chunk_id].kind == ChunkKind.TABLE]
    questions = {e.prompt.splitlines()[-1]: e.payload.answer for e in from_tables}
    assert questions.get("For Express card delivery, Fee is ____.") == "£15"
    assert questions.get("「加急补卡」的收费标准：____/张") == "£15"
    chinese_sentences = [
        e
        for e in fills
        if e.source.document_id == "zh-lost-card-procedure"
        and chunks[e.source.chunk_id].kind != ChunkKind.TABLE
    ]
    assert any(e.payload.answer == "£35" for e in chinese_sentences)


def test_fill_ins_cover_fees_limits_and_deadlines(fills):
    answers = {(e.source.document_id, e.payload.answer) for e in fills}
    assert ("lost-stolen-card-procedure", "£25") in answers  # emergency card fee
    assert ("lost-stolen-card-procedure", "13") in answers  # months to report
    assert ("payment-cutoff-times", "15:30") in answers  # CHAPS online cut-off
    assert ("zh-cross-border-transfer-limits", "£10,000") in answers  # phone banking limit


def test_generation_is_deterministic(all_chunks, orders, fills):
    assert ordering_exercises(all_chunks) == orders
    assert fill_in_exercises(all_chunks) == fills


def test_drills_from_trainer_mappings(chunks_by_document, orders):
    from kb.training.types import DrillMapping

    mapping = DrillMapping(
        1, "I think my card was stolen, what do I do?", "lost-stolen-card-procedure", "tia", ""
    )
    [drill] = drill_exercises([mapping], chunks_by_document)
    phone = next(e for e in orders if e.id == "order:lost-stolen-card-procedure:v1:4")
    assert drill.payload.steps == phone.payload.steps
    answer = GivenAnswer(document_id="lost-stolen-card-procedure", steps=phone.payload.steps)
    assert score_answer(drill, answer) == 1.0


def test_retrieval_suggests_the_lost_card_document(sample_services):
    def search(message: str) -> list[str]:
        return [
            chunk.document.document_id
            for chunk, _ in sample_services.search(message, 10, reader=OPERATOR)
        ]

    suggestions = suggest_document("My card was stolen, how do I report it?", search)
    assert suggestions
    assert {"lost-stolen-card-procedure", "zh-lost-card-procedure"} & set(suggestions)


def test_topics_open_documents_and_procedures(sample_services, all_chunks):
    found = {t.id: t for t in topics(sample_services.documents(reader=OPERATOR), all_chunks)}
    procedures = found["category:procedure"]
    assert ("lost-stolen-card-procedure", "Lost or Stolen Card Reporting Procedure") in (
        procedures.documents
    )
    cards = found["section:card services"]
    assert {p.section_path[-1] for p in cards.procedures} == {
        "Reporting by phone",
        "Reporting from abroad",
    }
    assert "section:card services" in procedures.sections
    assert found["section:银行卡服务"].procedures


def test_store_round_trip_to_the_dashboard(tmp_path, orders, fills):
    store = TrainingStore(tmp_path / "training.sqlite")
    try:
        exercises = orders + fills
        assert store.save_generated(exercises)["added"] == len(exercises)
        assert store.save_generated(exercises)["unchanged"] == len(exercises)

        phone = next(e for e in orders if e.id == "order:lost-stolen-card-procedure:v1:4")
        fee = next(e for e in fills if e.prompt.endswith("For Express card delivery, Fee is ____."))
        limit = next(
            e
            for e in fills
            if e.source.document_id == "zh-cross-border-transfer-limits"
            and e.payload.answer == "£10,000"
        )
        for exercise in (phone, fee, limit):
            store.set_status(exercise.id, "approved")
        store.edit(fee.id, accepted=["15 pounds"], by="tia")
        store.save_generated(exercises)  # regenerating keeps the review
        assert store.exercise(fee.id).status == "approved"
        assert store.exercise(fee.id).payload.accepted == ("15 pounds",)

        path = store.create_path(
            "Cards and payments, week 1",
            [
                PathItem("document", "lost-stolen-card-procedure", "Lost or stolen cards"),
                PathItem("exercise", phone.id, "Reporting a lost card by phone"),
                PathItem("exercise", fee.id, "Express card fee"),
                PathItem("exercise", limit.id, "Telephone banking limit"),
            ],
            created_by="tia",
        )
        store.assign(path.id, "ana", by="tia")
        store.assign(path.id, "ben", by="tia")

        def attempt(trainee: str, exercise: Exercise, given: GivenAnswer) -> None:
            stored = store.exercise(exercise.id)
            store.record_attempt(trainee, exercise.id, given, score_answer(stored, given), path.id)

        store.record_attempt("ana", "lost-stolen-card-procedure", None, None, path.id)
        attempt("ana", phone, GivenAnswer(steps=phone.payload.steps))
        attempt("ana", fee, GivenAnswer(text="15 pounds"))
        attempt("ana", limit, GivenAnswer(text="£25,000"))
        attempt("ben", fee, GivenAnswer(text="£15"))

        trainees = [a.trainee for a in store.assignments()]
        ana, ben = progress(store.path(path.id), store.attempts(), trainees)
        assert (ana.done, ana.total, ana.attempts) == (4, 4, 4)
        assert ana.mean_score == pytest.approx(2 / 3)
        assert (ben.done, ben.mean_score) == (1, 1.0)

        weak = weak_topics(store.attempts(trainee="ana"), store.exercises(status="approved"))
        assert [w.topic for w in weak] == [limit.topic]
        assert weak[0].mean_score == 0.0
    finally:
        store.close()
