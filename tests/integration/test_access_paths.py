"""Every read path, enumerated, as people outside a restricted document's group: none of them
shows its title or its text (issue 12: one access rule, kb.access).

`SERVICE_PATHS` exercises each Services method kb.access.READ_PATHS lists (the unit test
tests/unit/test_access.py makes sure every public Services method is listed there or in
NOT_READ_PATHS); `OTHER_PATHS` the onboarding service and the LangChain retriever. The pages
are covered by tests/app/test_access_pages.py; the API's /v1/ask by
tests/integration/test_api.py -k restricted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from ingest.pipeline import Upload
from kb import onboarding
from kb.access import OPERATOR, READ_PATHS, RESTRICTED_READER, Reader
from kb.calls import Caller, NewTurn
from kb.calls.records import Speaker
from kb.errors import DocumentNotFoundError
from kb.publishing import ReviewState
from kb.training.errors import TrainingError
from kb.training.types import GivenAnswer, PathItem
from kb.types import Citation, DocumentOptions, Query
from tests.conftest import GOOD, copy_kb

pytestmark = pytest.mark.integration

SECRET_TEXT = "ZEBRAFISH"
RESTRICTED = b"""Mule Account Ring Playbook

Freezing a lost or stolen debit card used by a mule ring
1. Freeze the lost card and every account in the ring with code ZEBRAFISH-7731.
2. Report the stolen card to the fraud desk on extension 5150.
3. Do not tell the customer that the card is part of an investigation.
"""
QUESTION = "My card is lost! What can I do?"
OUTSIDERS = ("ana", "kim", "tia", "ned")  # agent, knowledge team, trainer, admin


@pytest.fixture(scope="module")
def base_template(tmp_path_factory, embedder):
    """A public lost-card procedure, the fraud team's restricted playbook on the same subject,
    a fraud-team agent who asked about it (logged, marked not helpful), a fraud-team trainer
    whose drill and learning path use it, and outsiders of every role."""
    from kb.config import Settings
    from kb.services import Services
    from kb.store import KnowledgeBase

    settings = Settings(data_dir=tmp_path_factory.mktemp("access") / "kb")
    services = Services(settings, KnowledgeBase(settings, embedder))
    try:
        return settings.data_dir, build_base(services)
    finally:
        services.close()


def build_base(services) -> tuple[str, str, set[str]]:  # type: ignore[no-untyped-def]
    """The base in `services`; returns the restricted document's id, title and topics."""
    services.ingest_paths([GOOD / "procedure.docx"])
    report = services.ingest(
        [Upload("mule-ring.txt", data=RESTRICTED)], DocumentOptions(groups=("fraud-team",))
    )
    restricted = report.files[0].document_id
    users = services.users
    users.add("ana", "agent")
    users.add("kim", "knowledge")
    users.add("tia", "trainer")
    users.add("ned", "admin")
    users.add("fay", "agent", ("fraud-team",))
    users.add("tom", "trainer", ("fraud-team",))
    users.add("rex", "knowledge", (RESTRICTED_READER,))
    fay = users.get("fay").access_groups
    answer = services.ask(Query("what code freezes a mule ring card", groups=fay), user="fay")
    assert restricted in {p.citation.document_id for p in answer.passages}
    services.give_feedback("fay", answer, False, "missing")
    onboarding.generate(services, "tom")
    tom = users.get("tom").access_groups
    drill = onboarding.map_drill(services, QUESTION, restricted, "tom", tom)
    onboarding.approve(services, [drill.id], "tom")
    title = services.document(restricted, reader=OPERATOR).title
    path = onboarding.create_path(
        services,
        "Week 1",
        [PathItem("document", restricted, title), PathItem("exercise", drill.id, "")],
        "tom",
    )
    onboarding.assign(services, path.id, ["ana", "fay"], "tom")
    given = GivenAnswer(document_id=restricted, steps=())
    onboarding.submit(services, "fay", path.id, drill.id, given)  # a score on its topic
    topics = {e.topic for e in services.training.exercises() if e.document_id == restricted}
    assert topics and topics <= {t.topic for t in onboarding.dashboard(services, tom).topics}
    return restricted, title, topics  # topics: section headings of the playbook


@pytest.fixture
def base(request, base_template, settings):
    """A private copy of the module's base (building it, with its questions, drills and
    path, took most of each test's time), with the restricted document's id, title and
    topics."""
    folder, (restricted, title, topics) = base_template
    copy_kb(folder, settings.data_dir)
    services = request.getfixturevalue("services")
    services.restricted_id = restricted
    services.restricted_title = title
    services.restricted_topics = topics
    return services


def refused(call: Callable[[], Any], error: type[Exception] = DocumentNotFoundError) -> str:
    with pytest.raises(error) as raised:
        call()
    return str(raised.value)


def query(groups: tuple[str, ...]) -> Query:
    return Query(QUESTION, groups=groups)


def call_assist(s, groups: tuple[str, ...]) -> Any:
    sessions = s.call_sessions()
    caller = Caller("outsider", None, groups)
    call = sessions.open(caller)
    return sessions.add_turns(call.call_id, caller, [NewTurn(Speaker.CUSTOMER, QUESTION)])


Path = Callable[[Any, Reader, tuple[str, ...]], Any]
SERVICE_PATHS: dict[str, Path] = {
    "documents": lambda s, r, g: s.documents(include_deleted=True, reader=r),
    "document": lambda s, r, g: refused(lambda: s.document(s.restricted_id, reader=r)),
    "document_chunks": lambda s, r, g: refused(
        lambda: s.document_chunks(s.restricted_id, 1, reader=r)
    ),
    "original_file": lambda s, r, g: refused(lambda: s.original_file(s.restricted_id, 1, reader=r)),
    "open_original": lambda s, r, g: refused(
        lambda: s.open_original(
            Citation(s.restricted_id, "", "", "", (), 1, None, f"{s.restricted_id}:v1:0"), reader=r
        )
    ),
    "search": lambda s, r, g: s.search(QUESTION + " mule ring freeze code", 20, reader=r),
    "insights": lambda s, r, g: s.insights(
        dt.date.today() - dt.timedelta(days=1), dt.date.today(), reader=r
    ),
    "restricted_counts": lambda s, r, g: s.restricted_counts(reader=r),
    "retrieve": lambda s, r, g: s.retrieve(query(g)),
    "search_hits": lambda s, r, g: s.search_hits(query(g), s.plan(query(g))),
    "ask": lambda s, r, g: s.ask(query(g)),
    "plan": lambda s, r, g: s.plan(query(g)),
    "confidence_evidence": lambda s, r, g: s.confidence_evidence(query(g)),
    "evidence": lambda s, r, g: s.evidence(QUESTION, s.retrieve(query(g)), query(g)),
    "update_metadata": lambda s, r, g: refused(
        lambda: s.update_metadata(
            s.restricted_id, DocumentOptions(groups=("everyone",)), user="x", reader=r
        )
    ),
    "delete": lambda s, r, g: refused(lambda: s.delete(s.restricted_id, user="x", reader=r)),
    "purge": lambda s, r, g: refused(lambda: s.purge(s.restricted_id, user="x", reader=r)),
    "call_sessions": lambda s, r, g: call_assist(s, g),
    # four-eyes publishing; a restricted draft's listing: tests/integration/test_publishing.py
    "drafts": lambda s, r, g: s.drafts(list(ReviewState), reader=r),
    "version_diff": lambda s, r, g: refused(
        lambda: s.version_diff(s.restricted_id, 1, 1, reader=r)
    ),
    "approve_draft": lambda s, r, g: refused(lambda: s.approve_draft(s.restricted_id, 1, r.name)),
    "reject_draft": lambda s, r, g: refused(
        lambda: s.reject_draft(s.restricted_id, 1, r.name, "x")
    ),
}
OTHER_PATHS: dict[str, Path] = {
    "onboarding.topics": lambda s, r, g: onboarding.topics(s, g),
    "onboarding.procedures": lambda s, r, g: onboarding.procedures(s, g),
    "onboarding.document_titles": lambda s, r, g: onboarding.document_titles(s, g),
    "onboarding.path_choices": lambda s, r, g: onboarding.path_choices(s, g),
    "onboarding.exercises": lambda s, r, g: onboarding.exercises(s, groups=g),
    "onboarding.suggest_documents": lambda s, r, g: onboarding.suggest_documents(s, QUESTION, g),
    "onboarding.drills": lambda s, r, g: onboarding.drills(s, g),
    "onboarding.reading": lambda s, r, g: refused(
        lambda: onboarding.reading(s, PathItem("document", s.restricted_id, "?"), g),
        TrainingError,
    ),
    "onboarding.document_steps": lambda s, r, g: refused(
        lambda: onboarding.document_steps(s, s.restricted_id, g)
    ),
    "onboarding.map_drill": lambda s, r, g: refused(
        lambda: onboarding.map_drill(s, QUESTION, s.restricted_id, "x", g)
    ),
    "onboarding.dashboard": lambda s, r, g: (  # paths are shown by name and numbers only
        (board := onboarding.dashboard(s, g)).topics,
        board.weak,
        board.weak_by_trainee,
        board.scores,
    ),
    "langchain": lambda s, r, g: (
        __import__("kb.langchain_retriever", fromlist=["KnowledgeBaseRetriever"])
        .KnowledgeBaseRetriever(services=s, groups=g, k=8)
        .invoke(QUESTION + " mule ring")
    ),
}


def test_every_classified_read_path_is_exercised():
    assert set(SERVICE_PATHS) == set(READ_PATHS)


@pytest.mark.security
def test_no_read_path_shows_an_outsider_a_restricted_title_or_text(base):
    """Attack: people outside the fraud team (agent, knowledge team, trainer, admin) use every read path; none may show the fraud playbook's title or text."""
    for name in OUTSIDERS:
        user = base.users.get(name)
        reader, groups = Reader.of(user), user.access_groups
        for path, read in {**SERVICE_PATHS, **OTHER_PATHS}.items():
            shown = repr(read(base, reader, groups))
            assert base.restricted_title not in shown, (name, path)
            assert SECRET_TEXT not in shown, (name, path)
            assert not any(topic in shown for topic in base.restricted_topics), (name, path)
    assert base.document(base.restricted_id, reader=OPERATOR).groups == ("fraud-team",)


def test_the_group_and_the_explicit_permission_read_it(base):
    for name in ("fay", "rex"):
        reader = Reader.of(base.users.get(name))
        assert base.restricted_id in {d.document_id for d in base.documents(reader=reader)}
        chunks = base.document_chunks(base.restricted_id, 1, reader=reader)
        assert SECRET_TEXT in " ".join(c.text for c in chunks)
    rex = base.users.get("rex").access_groups
    assert base.restricted_id in {h.chunk.document.document_id for h in base.retrieve(query(rex))}
    assert base.restricted_counts(reader=Reader.of(base.users.get("rex"))) == {}
    assert base.restricted_counts(reader=Reader.of(base.users.get("kim"))) == {"fraud-team": 1}
