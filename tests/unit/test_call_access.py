"""Who may drive a call: the account that opened it for the same agent, or the agent it was
opened for, in person (the app's Live call page); `list_open` lists exactly those calls."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from kb.audit import AuditLog
from kb.calls import CallAccessError, Caller, CallNotFoundError, CallSessions, CallStore


@pytest.fixture
def sessions(tmp_path):
    services = SimpleNamespace(audit=AuditLog(tmp_path / "audit.sqlite"))
    built = CallSessions(services, CallStore(tmp_path / "calls.sqlite"))  # type: ignore[arg-type]
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
