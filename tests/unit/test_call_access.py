"""Who may drive a call: the account that opened it for the same agent, or the agent it was
opened for, in person (the app's Live call page); `list_open` lists exactly those calls.
The call store itself is checked on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from kb.audit import AuditLog
from kb.calls import CallAccessError, Caller, CallNotFoundError, CallSessions, CallStore
from kb.calls.records import CallStatus, Speaker, Verdict


@pytest.fixture
def sessions(backend_settings):
    data = backend_settings.data_dir  # SQLite files, then PostgreSQL schemas
    services = SimpleNamespace(audit=AuditLog(data / "audit.sqlite"))
    built = CallSessions(services, CallStore(data / "calls.sqlite"))  # type: ignore[arg-type]
    yield built
    built.close()
    services.audit.close()


def test_the_agent_a_call_was_opened_for_may_drive_it_and_sees_it_listed(sessions):
    bridge_for_ana = Caller("api:stt", "ana", ("cards",))
    for_ana = sessions.open(bridge_for_ana)
    for_bob = sessions.open(Caller("api:stt", "bob", ()))
    ana = Caller("ana", None, ("cards",))
    own = sessions.open(ana)

    assert [c.call_id for c in sessions.list_open(ana)] == [own.call_id, for_ana.call_id]
    assert sessions.call(for_ana.call_id, ana).acting_for == "ana"
    with pytest.raises(CallNotFoundError):
        sessions.call(for_bob.call_id, ana)
    assert [c.call_id for c in sessions.list_open(bridge_for_ana)] == [for_ana.call_id]
    with pytest.raises(CallAccessError):  # the same account acting for someone else
        sessions.call(for_ana.call_id, Caller("api:stt", "bob", ()))
    with pytest.raises(CallNotFoundError):  # the agent's own call is not the bridge's
        sessions.call(own.call_id, Caller("api:stt", None, ()))

    sessions.end(own.call_id, ana)
    assert [c.call_id for c in sessions.list_open(ana)] == [for_ana.call_id]


def test_only_a_customer_turn_searches_again_the_agent_s_turns_keep_the_screen(tmp_path):
    """Suggestions answer what the customer said: an agent turn brings the alerts up to date
    and leaves the suggestions (and the search) alone; the next customer turn searches with
    the agent's words as context."""
    from kb.calls import NewTurn, Speaker
    from kb.types import Answer, AnswerStatus, Query

    asked: list[Query] = []

    def ask(query: Query) -> Answer:
        asked.append(query)
        return Answer(query.text, query.text, AnswerStatus.NOT_COVERED, 0.1)

    detector = SimpleNamespace(detect=lambda turns: [])
    services = SimpleNamespace(
        audit=AuditLog(tmp_path / "audit.sqlite"), ask=ask, escalation_detector=lambda: detector
    )
    sessions = CallSessions(services, CallStore(tmp_path / "calls.sqlite"))  # type: ignore[arg-type]
    caller = Caller("api:stt", None, ())
    call = sessions.open(caller)
    try:
        first = sessions.add_turns(
            call.call_id, caller, [NewTurn(Speaker.CUSTOMER, "my card was stolen in Spain")]
        )
        after_agent = sessions.add_turns(
            call.call_id, caller, [NewTurn(Speaker.AGENT, "I am sorry, let me block it now")]
        )
        assert len(asked) == 1
        assert (after_agent.turn_count, after_agent.question) == (2, first.question)
        assert sessions.assist(call.call_id, caller) == after_agent  # nothing stale
        sessions.add_turns(call.call_id, caller, [NewTurn(Speaker.CUSTOMER, "can I get cash?")])
        assert len(asked) == 2
        assert [t.text for t in asked[1].history] == [
            "my card was stolen in Spain",
            "I am sorry, let me block it now",
        ]
    finally:
        sessions.close()
        services.audit.close()


def test_the_call_store_keeps_turns_verdicts_and_suggestions_across_replicas(backend_settings):
    """Two stores on one base, as two replicas the speech-to-text bridge may reach: turns are
    numbered in one sequence and masked, the first showing of a suggestion is kept in order."""
    one = CallStore(backend_settings.data_dir / "calls.sqlite")
    two = CallStore(backend_settings.data_dir / "calls.sqlite")
    try:
        call = one.open("api:stt", "ana", ("cards",), reference="card 4539 1488 0343 6467")
        assert two.call(call.call_id) == call and "4539" not in (call.reference or "")
        one.add_turns(call.call_id, [(Speaker.CUSTOMER, "my card 4539 1488 0343 6467", None)])
        turns = two.add_turns(call.call_id, [(Speaker.AGENT, "let me block it", None)])
        assert [(t.index, t.speaker) for t in turns] == [(0, "customer"), (1, "agent")]
        assert "4539" not in turns[0].text and one.turn_count(call.call_id) == 2

        two.record_shown(call.call_id, [("lost", "Lost cards"), ("fees", "Fees")], 0)
        one.record_shown(call.call_id, [("abroad", "Abroad"), ("lost", "Lost (again)")], 1)
        assert one.shown(call.call_id) == [
            ("lost", "Lost cards"),
            ("fees", "Fees"),
            ("abroad", "Abroad"),
        ]
        verdict = one.add_feedback(call.call_id, "s1", "lost", Verdict.USED, "ana")
        assert two.feedback(call.call_id) == [verdict]

        ended = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)
        assert [c.call_id for c in two.open_calls()] == [call.call_id]
        one.end(call.call_id, {"call_id": call.call_id}, ended)
        assert two.call(call.call_id).status == CallStatus.ENDED and two.open_calls() == []
        assert two.call(call.call_id).ended_at == ended
    finally:
        one.close()
        two.close()
