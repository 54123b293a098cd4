"""The onboarding service layer (kb.onboarding) on a small real knowledge base: generate,
review, a call drill from a real BANKING77 message, a learning path assigned to an agent,
the agent's answers, and what the trainer's dashboard and the audit trail then show."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from kb import onboarding
from kb.access import OPERATOR
from kb.training.errors import ExerciseNotApprovedError, TrainingError
from kb.training.types import DrillPayload, FillPayload, GivenAnswer, OrderPayload, PathItem
from kb.types import DocumentOptions
from tests.conftest import GOOD

pytestmark = pytest.mark.integration
TIA = ("everyone",)  # the trainer's access groups: the documents here are for everyone


@pytest.fixture
def base(services):
    """Three real documents (English procedure with a fee table, English policy PDF with a
    fee table, Chinese procedure PDF), a trainer and two agents."""
    services.ingest_paths([GOOD / "procedure.docx", GOOD / "policy.pdf", GOOD / "zh_procedure.pdf"])
    services.users.add("tia", "trainer")
    services.users.add("ana", "agent")
    services.users.add("bo", "agent")
    return services


def lost_card_message(services) -> str:
    messages = onboarding.customer_messages(services, "lost_or_stolen_card")
    return next(m.text for m in messages if m.text == "My card is lost! What can I do?")


def test_generation_gives_every_kind_traceable_and_is_idempotent(base):
    report = onboarding.generate(base, "tia")
    assert report.kinds["order"] == 3 and report.kinds["fill"] >= 6
    # kb.exercises left some candidates out: the four cut-off times of one sentence are one
    # question, and the best two fee rows of a section are kept.
    assert report.candidates > report.kinds["order"] + report.kinds["fill"]
    assert report.dropped["near_duplicate"] >= 3 and report.dropped["section_cap"] >= 1
    assert report.counts["added"] == report.kinds["order"] + report.kinds["fill"]
    assert report.outdated == ()
    stored = onboarding.exercises(base, groups=TIA)
    assert {e.status for e in stored} == {"draft"}
    for exercise in stored:
        if isinstance(exercise.payload, FillPayload):
            assert exercise.payload.answer in exercise.source_text
        elif isinstance(exercise.payload, OrderPayload):
            assert all(step in exercise.source_text for step in exercise.payload.steps)
    again = onboarding.generate(base, "tia")
    assert again.counts == {"added": 0, "updated": 0, "unchanged": len(stored)}
    fees = onboarding.exercises(base, kind="fill", document_id="procedure", groups=TIA)
    assert "HKD 100" in {e.payload.answer for e in fees}
    events = base.audit.events(user="tia", action="training_change")
    assert [e.details["change"] for e in events] == ["generated", "generated"]


def test_topics_and_readings_come_from_the_current_documents(base):
    topics = onboarding.topics(base, TIA)
    names = {t.name for t in topics}
    # Categories, then documents by title: never a bare section heading ("Fees", "操作步骤").
    assert {
        "Procedures",
        "Reporting a Lost or Stolen Debit Card",
        "借记卡挂失及补卡操作规程",
    } <= names
    assert not names & {"Fees", "操作步骤", "Procedure"}
    blocking = next(
        p for p in onboarding.procedures(base, TIA) if p.section.endswith("Blocking the card")
    )
    read = onboarding.reading(base, PathItem("procedure", blocking.chunk_ids[0], "Blocking"), TIA)
    numbered = [s.text for s in read.steps if s.level == 1 and s.kind == "step"]
    assert numbered[0] == "Verify the caller's identity with two-factor verification."
    assert read.passages[0][0].document_id == "procedure"
    document = onboarding.reading(base, PathItem("document", "policy", "Wire transfers"), TIA)
    assert any("| Payment investigation |" in text for _, text in document.passages)
    assert "Order a replacement card to the address on file." in onboarding.document_steps(
        base, "procedure", TIA
    )


def test_call_drill_from_a_real_customer_message(base):
    assert "lost_or_stolen_card" in onboarding.message_categories(base)
    message = lost_card_message(base)
    suggested = onboarding.suggest_documents(base, message, TIA)
    assert suggested[0] == ("procedure", "Reporting a Lost or Stolen Debit Card")
    drill = onboarding.map_drill(base, message, "procedure", "tia", TIA)
    assert (drill.kind, drill.status) == ("drill", "draft")
    assert isinstance(drill.payload, DrillPayload)
    assert drill.payload.steps[0] == "Verify the caller's identity with two-factor verification."
    assert onboarding.map_drill(base, message, "procedure", "tia", TIA).id == drill.id  # same pair
    [(mapping, stored)] = onboarding.drills(base, TIA)
    assert (mapping.message, stored.id) == (message, drill.id)
    assert onboarding.generate(base, "tia").kinds["drill"] == 1  # regenerated, still one


def test_review_path_attempts_progress_and_weak_topics(base):
    onboarding.generate(base, "tia")
    drill = onboarding.map_drill(base, lost_card_message(base), "procedure", "tia", TIA)
    fees = onboarding.exercises(base, kind="fill", document_id="procedure", groups=TIA)
    express = next(e for e in fees if e.payload.answer == "HKD 100")
    order = next(
        e for e in onboarding.exercises(base, kind="order", document_id="procedure", groups=TIA)
    )
    cut_off = onboarding.exercises(base, kind="fill", document_id="policy", groups=TIA)[0]

    with pytest.raises(ExerciseNotApprovedError, match="not approved"):
        onboarding.create_path(base, "Week 1", [PathItem("exercise", express.id, "")], "tia")
    approved = onboarding.approve(base, [express.id, order.id, drill.id, cut_off.id], "tia")
    assert len(approved) == 4
    assert onboarding.approve(base, [express.id], "tia") == []  # already approved: no change
    onboarding.edit(base, cut_off.id, "tia", accepted=["seventeen"])
    discarded = onboarding.discard(
        base,
        [e.id for e in onboarding.exercises(base, status="draft", kind="fill", groups=TIA)],
        "tia",
    )
    assert discarded and not onboarding.exercises(base, status="draft", kind="fill", groups=TIA)

    choices = onboarding.path_choices(base, TIA)
    assert {item.ref for item, _ in choices.exercises} == {
        express.id,
        order.id,
        drill.id,
        cut_off.id,
    }
    document = next(i for i in choices.readings if i.ref == "procedure")
    path = onboarding.create_path(
        base,
        "Lost cards, week 1",
        [document, *(item for item, _ in choices.exercises)],
        "tia",
    )
    assert onboarding.trainees(base) == ["ana", "bo"]
    onboarding.assign(base, path.id, ["ana", "bo"], "tia")
    with pytest.raises(TrainingError, match="at least one agent"):
        onboarding.assign(base, path.id, [], "tia")
    assert [p.name for p in onboarding.my_paths(base, "ana")] == ["Lost cards, week 1"]

    onboarding.mark_read(base, "ana", path.id, "procedure")
    right, shown = onboarding.submit(base, "ana", path.id, express.id, GivenAnswer(text="100"))
    assert right == 1.0 and shown.source.title == "Reporting a Lost or Stolen Debit Card"
    wrong, _ = onboarding.submit(base, "ana", path.id, cut_off.id, GivenAnswer(text="12"))
    assert wrong == 0.0
    # Blocking the card before verifying the caller is a safety-critical swap: wrong, named.
    steps = order.payload.steps
    unsafe = GivenAnswer(steps=(steps[1], steps[0], *steps[2:]))
    check = onboarding.order_check(order, unsafe)
    assert check is not None and check.score == 0.0
    assert (check.swaps[0].first, check.swaps[0].then) == (steps[0], steps[1])
    # Reading the transactions after ordering the replacement: partial credit.
    swapped = (*steps[:2], steps[3], steps[2], *steps[4:])
    partial, _ = onboarding.submit(base, "ana", path.id, order.id, GivenAnswer(steps=swapped))
    assert 0.8 < partial < 1.0
    with pytest.raises(TrainingError, match="not part of the learning path"):
        onboarding.submit(base, "ana", path.id, "fill:nope", GivenAnswer(text="1"))

    mine = onboarding.trainee_path(base, "ana", path.id)
    assert (mine.progress.done, mine.progress.total) == (4, 5)
    assert mine.latest[express.id].score == 1.0

    board = onboarding.dashboard(base, TIA)
    [report] = board.paths
    rows = {row.trainee: row for row in report.rows}
    assert set(rows) == {"ana", "bo"}
    assert rows["bo"].done == 0 and rows["bo"].mean_score is None
    assert rows["ana"].attempts == 4
    assert rows["ana"].mean_score == pytest.approx((1.0 + 0.0 + partial) / 3)
    weak = {s.topic for s in board.weak}
    assert cut_off.topic in weak and express.topic not in weak
    assert cut_off.topic in {s.topic for s in board.weak_by_trainee["ana"]}
    assert [p.score for p in board.scores] == [1.0, 0.0, partial]

    changes = [e.details["change"] for e in base.audit.events(user="tia", action="training_change")]
    assert {"generated", "drill_mapped", "approved", "edited", "discarded"} <= set(changes)
    assert {"path_created", "assigned"} <= set(changes)
    attempts = base.audit.events(user="ana", action="training_attempt")
    assert len(attempts) == 4 and {e.details.get("score") for e in attempts} >= {1.0, 0.0}


def test_an_expired_document_gives_no_exercises_and_its_old_ones_are_outdated(base):
    onboarding.generate(base, "tia")
    assert onboarding.exercises(base, document_id="policy", groups=TIA)
    yesterday = dt.date.today() - dt.timedelta(days=1)
    base.update_metadata(
        "policy", DocumentOptions(effective_date=dt.date(2020, 1, 1), expiry_date=yesterday),
        reader=OPERATOR,
    )  # fmt: skip
    candidates, selection = onboarding.select(base)
    assert "policy" not in {e.document_id for e in (*candidates, *selection.kept)}
    report = onboarding.generate(base, "tia")
    assert report.outdated and {e.document_id for e in report.outdated} == {"policy"}
    assert "policy" not in {d for t in onboarding.topics(base, TIA) for d, _ in t.documents}


def test_regenerating_discards_untouched_drafts_the_selection_no_longer_keeps(base):
    onboarding.generate(base, "tia")
    kept = onboarding.exercises(base, kind="fill", document_id="procedure", groups=TIA)[0]
    # Two drafts an older generator stored: one untouched, one a trainer edited.
    trivia = replace(kept, id="fill:procedure:v1:4:98")
    edited = replace(kept, id="fill:procedure:v1:4:99")
    base.training.save_generated([trivia, edited])
    onboarding.edit(base, edited.id, "tia", accepted=["one hundred"])
    report = onboarding.generate(base, "tia")
    assert report.retired == 1
    assert onboarding.exercise(base, trivia.id).status == "discarded"
    assert onboarding.exercise(base, edited.id).status == "draft"  # a trainer's work stays
    assert onboarding.exercise(base, kept.id).status == "draft"


def test_approving_is_limited_to_a_page_the_trainer_has_seen(base):
    onboarding.generate(base, "tia")
    ids = [f"fill:made-up:{n}" for n in range(onboarding.REVIEW_PAGE + 1)]
    with pytest.raises(TrainingError, match="at most 20 exercises at a time"):
        onboarding.approve(base, ids, "tia")


def test_outdated_exercises_are_reported_after_a_new_version(base):
    onboarding.generate(base, "tia")
    base.delete("policy", reader=OPERATOR)
    report = onboarding.generate(base, "tia")
    assert report.outdated and {e.source.document_id for e in report.outdated} == {"policy"}
    onboarding.discard(base, [e.id for e in report.outdated], "tia")
    assert onboarding.outdated(base) == []


def test_onboarding_never_shows_a_trainee_a_restricted_document(services):
    from kb.training.errors import TrainingError
    from kb.training.types import PathItem
    from kb.types import DocumentOptions

    services.ingest_paths([GOOD / "procedure.docx"])
    services.ingest_paths([GOOD / "notes.txt"], DocumentOptions(groups=("fraud-team",)))
    onboarding.generate(services, "tess")
    agent = ("everyone",)
    fraud = ("everyone", "fraud-team")
    assert [d for d, _ in onboarding.document_titles(services, agent)] == ["procedure"]
    assert {d for d, _ in onboarding.document_titles(services, fraud)} == {"procedure", "notes"}
    assert all(e.document_id == "procedure" for e in onboarding.exercises(services, groups=agent))
    assert any(e.document_id == "notes" for e in onboarding.exercises(services, groups=fraud))
    listed = {d for t in onboarding.topics(services, agent) for d, _ in t.documents}
    assert listed == {"procedure"}
    with pytest.raises(TrainingError, match="access groups"):
        onboarding.reading(services, PathItem("document", "notes", "Notes"), agent)
    with pytest.raises(TrainingError, match="access groups"):
        onboarding.check_visible(services, "notes", agent)
    assert onboarding.reading(services, PathItem("document", "notes", "Notes"), fraud).passages


def test_a_path_is_edited_and_its_exercises_cannot_be_discarded_while_used(base):
    onboarding.generate(base, "tia")
    fills = onboarding.exercises(base, kind="fill", groups=TIA)[:3]
    onboarding.approve(base, [e.id for e in fills], "tia")
    items = [PathItem("exercise", e.id, "") for e in fills]
    path = onboarding.create_path(base, "Week 1", items[:2], "tia")
    onboarding.assign(base, path.id, ["ana"], "tia")
    score, _ = onboarding.submit(
        base, "ana", path.id, fills[0].id, GivenAnswer(text=fills[0].payload.answer)
    )
    assert score == 1.0

    with pytest.raises(TrainingError, match="Still used by a learning path"):
        onboarding.discard(base, [fills[1].id], "tia")
    assert onboarding.exercise(base, fills[1].id).status == "approved"

    reading = PathItem("document", "procedure", "Reporting a Lost or Stolen Debit Card")
    edited = onboarding.update_path(
        base, path.id, "Week 1: cards", [reading, items[2], items[0]], "tia"
    )
    assert edited.name == "Week 1: cards"
    assert [i.ref for i in edited.items] == ["procedure", fills[2].id, fills[0].id]
    progress = onboarding.trainee_path(base, "ana", path.id).progress
    assert (progress.done, progress.total) == (1, 3)  # the answered exercise still counts
    assert onboarding.discard(base, [fills[1].id], "tia")  # no longer on a path
    change = base.audit.events(user="tia", action="training_change")[0].details
    assert change["change"] == "discarded"
    edit = next(
        e.details
        for e in base.audit.events(user="tia", action="training_change")
        if e.details.get("change") == "path_edited"
    )
    assert edit["removed"] == [fills[1].id] and fills[2].id in edit["added"]
    with pytest.raises(ExerciseNotApprovedError):
        onboarding.update_path(
            base, path.id, "Week 1", [PathItem("exercise", fills[1].id, "")], "tia"
        )
