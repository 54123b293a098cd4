"""Call sessions: open a call, add turns, suggest, take feedback, end with a masked summary.

The one place the API (and a Streamlit "Live call" page) drives calls through. Retrieval is
`Services.ask` with the whole call as context (kb.calls.assist.call_query); escalation alerts
come from kb.escalation's detector. Everything stored is masked; every change is audited.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from kb.calls.assist import (
    apply_feedback,
    call_alerts,
    call_query,
    same_screen,
    stabilise,
    suggestions_from_answer,
    summarise,
)
from kb.calls.records import (
    AssistSnapshot,
    CallRecord,
    CallStatus,
    CallSummary,
    CallTurnRecord,
    CallView,
    Speaker,
    Verdict,
)
from kb.calls.store import CallAccessError, CallEndedError, CallNotFoundError, CallStore
from kb.errors import KBError
from kb.glossary import default_glossary
from kb.pii import mask

if TYPE_CHECKING:
    from kb.services import Services

logger = logging.getLogger(__name__)

MAX_TURNS_PER_CALL = 2000


@dataclass(frozen=True)
class Caller:
    """Who is driving the call: an integration account (or person), maybe for an agent."""

    account: str
    acting_for: str | None
    groups: tuple[str, ...]

    @property
    def actor(self) -> str:
        """The name the audit trail records: the account, `/AGENT` when acting for one."""
        return f"{self.account}/{self.acting_for}" if self.acting_for else self.account


@dataclass(frozen=True)
class NewTurn:
    speaker: Speaker
    text: str
    at: dt.datetime | None = None


class CallSessions:
    def __init__(self, services: Services, store: CallStore) -> None:
        self.services = services
        self.store = store
        self._snapshots: dict[str, AssistSnapshot] = {}
        self._locks: dict[str, threading.RLock] = {}
        self._locks_guard = threading.Lock()

    def _lock(self, call_id: str) -> threading.RLock:
        """The call's own lock. Each call's turns are processed in order, one at a time;
        different calls run side by side (the search's model and SQLite work release the
        interpreter), so 50 calls are not queued behind one process-wide lock."""
        with self._locks_guard:
            lock = self._locks.get(call_id)
            if lock is None:
                lock = self._locks[call_id] = threading.RLock()
            return lock

    def close(self) -> None:
        self.store.close()

    # ------------------------------------------------------------------ session life

    def open(self, caller: Caller, reference: str | None = None) -> CallRecord:
        call = self.store.open(caller.account, caller.acting_for, caller.groups, reference)
        with self._lock(call.call_id):
            self._refresh(call, [])  # the empty screen, so event streams start at once
        self.services.audit.record(
            caller.actor, "call", event="opened", call=call.call_id,
            acting_for=caller.acting_for, groups=list(call.groups), reference=reference,
        )  # fmt: skip
        return call

    def list_open(self, caller: Caller) -> list[CallRecord]:
        """The open calls this caller may drive, newest first (see `call`): for a person,
        also the calls an integration account opened for them (X-Acting-For)."""
        return [c for c in self.store.open_calls() if _may_drive(c, caller)]

    def call(self, call_id: str, caller: Caller) -> CallRecord:
        """The call, if this caller may drive it: the account that opened it, for the same
        agent, or the agent it was opened for themselves (a person acting for nobody, as on
        the app's Live call page; API accounts are named `api:...`, never an agent's name).
        Another account gets 'not found', so call ids reveal nothing."""
        call = self.store.call(call_id)
        if _may_drive(call, caller):
            return call
        if call.account != caller.account:
            raise CallNotFoundError(f"no call with id '{call_id}'")
        raise CallAccessError(
            f"call '{call_id}' was opened for agent {call.acting_for or '(none)'}; "
            f"this request acts for {caller.acting_for or '(none)'}"
        )

    def add_turns(self, call_id: str, caller: Caller, turns: Sequence[NewTurn]) -> AssistSnapshot:
        """Store the turns (masked) and return the new assist snapshot."""
        call = self.call(call_id, caller)
        if call.status != CallStatus.OPEN:
            raise CallEndedError(f"call '{call_id}' has ended: no more turns can be added")
        if not turns:
            raise KBError("give at least one turn")
        for turn in turns:
            if not turn.text.strip():
                raise KBError("a turn needs some text")
        with self._lock(call_id):
            if len(self.store.turns(call_id)) + len(turns) > MAX_TURNS_PER_CALL:
                raise KBError(f"a call holds at most {MAX_TURNS_PER_CALL} turns")
            stored = self.store.add_turns(call_id, [(t.speaker, t.text, t.at) for t in turns])
            self.services.audit.record(
                caller.actor, "call", event="turns", call=call_id,
                turns=[f"{t.speaker.value}: {t.text}" for t in stored[-len(turns):]],
            )  # fmt: skip
            return self._refresh(call, stored)

    def assist(self, call_id: str, caller: Caller) -> AssistSnapshot:
        """The current suggestions and alerts (computed now if this process has none, or
        if another process, such as the API beside the app, has added turns since)."""
        call = self.call(call_id, caller)
        with self._lock(call_id):
            snapshot = self._snapshots.get(call_id)
            if snapshot is None or snapshot.turn_count != self.store.turn_count(call_id):
                snapshot = self._refresh(call, self.store.turns(call_id))
        return snapshot

    def feedback(
        self, call_id: str, caller: Caller, suggestion_id: str, verdict: Verdict
    ) -> AssistSnapshot:
        """The agent used a suggestion (pinned for the rest of the call) or dismissed it
        (gone for the rest of the call)."""
        call = self.call(call_id, caller)
        if call.status != CallStatus.OPEN:
            raise CallEndedError(f"call '{call_id}' has ended: feedback is closed")
        with self._lock(call_id):
            current = self.assist(call_id, caller)
            found = next((s for s in current.suggestions if s.id == suggestion_id), None)
            if found is None:
                shown = ", ".join(s.id for s in current.suggestions) or "none"
                raise KBError(
                    f"no suggestion '{suggestion_id}' on this call's screen (shown: {shown})"
                )
            self.store.add_feedback(
                call_id, suggestion_id, found.document_id, verdict, caller.actor
            )
            self.services.audit.record(
                caller.actor, "feedback", call=call_id, suggestion=suggestion_id,
                document=found.document_id, verdict=Verdict(verdict).value,
            )  # fmt: skip
            snapshot = replace(
                current,
                version=current.version + 1,
                suggestions=apply_feedback(current.suggestions, suggestion_id, Verdict(verdict)),
            )
            self._publish(call_id, snapshot)
            return snapshot

    def end(self, call_id: str, caller: Caller) -> CallSummary:
        """Close the call and store its masked summary (topics, documents used, alerts)."""
        from kb.render import json_ready

        call = self.call(call_id, caller)
        if call.status != CallStatus.OPEN:
            raise CallEndedError(f"call '{call_id}' has already ended")
        with self._lock(call_id):
            turns = self.store.turns(call_id)
            alerts = self._snapshots[call_id].alerts if call_id in self._snapshots else ()
            if not alerts and turns:
                alerts = self._alerts(turns)
            ended_at = dt.datetime.now(dt.UTC)
            summary = summarise(
                call, turns, self.store.shown(call_id), self.store.feedback(call_id), alerts,
                ended_at,
            )  # fmt: skip
            self.store.end(call_id, json_ready(summary), ended_at)
            self.services.audit.record(
                caller.actor, "call", event="ended", call=call_id, turns=summary.turns,
                documents_used=list(summary.documents_used),
                alerts=[a.rule_id for a in summary.alerts],
            )  # fmt: skip
            self._snapshots.pop(call_id, None)
        with self._locks_guard:
            self._locks.pop(call_id, None)
        return summary

    def view(self, call_id: str, caller: Caller) -> CallView:
        """The call's record, its masked transcript and, once ended, its summary."""
        call = self.call(call_id, caller)
        return CallView(call, tuple(self.store.turns(call_id)), self.store.summary(call_id))

    # ------------------------------------------------------------------ live updates

    def version(self, call_id: str) -> int | None:
        """The version of the call's current snapshot in this process: None once the call
        has ended, 0 when no snapshot has been computed here yet, -1 when another process
        (the app's Live call page beside the API) has added turns since. Takes no lock (two
        small reads of the call store), so an event stream can poll it while a snapshot is
        being computed, and it sees what the page did as well as what the API did."""
        if self.store.call(call_id).status == CallStatus.ENDED:
            return None
        snapshot = self._snapshots.get(call_id)
        if snapshot is None:
            return 0
        if snapshot.turn_count != self.store.turn_count(call_id):
            return -1
        return snapshot.version

    # ------------------------------------------------------------------ handoff

    def warm_up(self) -> None:
        """Load the escalation rules and the models they use now, so the first call does not
        wait for them (building the rules' meaning examples takes a while on 2 cores)."""
        try:
            from kb.escalation import CallTurn
        except ImportError:
            return
        self.services.escalation_detector().detect([CallTurn("customer", "hello")])

    def handoff(self, caller: Caller, turns: Sequence[NewTurn]) -> Any:
        """Whether a human must take over a chatbot conversation, why, and from which turn
        (kb.escalation.handoff_decision). Nothing is stored but the masked audit event."""
        from kb.escalation import CallTurn, handoff_decision

        if not turns:
            raise KBError("give the conversation: at least one turn")
        decision = handoff_decision(
            self.services.escalation_detector(),
            [CallTurn(t.speaker.value, t.text, t.at) for t in turns],
        )
        self.services.audit.record(
            caller.actor, "handoff", turns=len(turns), must_hand_over=decision.must_hand_over,
            from_turn=decision.from_turn, rules=[a.rule_id for a in decision.reasons],
            acting_for=caller.acting_for,
        )  # fmt: skip
        return decision

    # ------------------------------------------------------------------ inside

    def _alerts(self, turns: Sequence[CallTurnRecord]) -> tuple:
        try:
            from kb.escalation import CallTurn
        except ImportError:  # the escalation rules are not installed in this build
            return ()
        detector = self.services.escalation_detector()
        found = detector.detect([CallTurn(t.speaker.value, t.text, t.at) for t in turns])
        return call_alerts(found, turns)

    def _refresh(self, call: CallRecord, turns: Sequence[CallTurnRecord]) -> AssistSnapshot:
        previous = self._snapshots.get(call.call_id)
        alerts = self._alerts(turns) if turns else ()
        if previous is not None and not _customer_spoke(turns[previous.turn_count :]):
            return self._keep_suggestions(call, previous, len(turns), alerts)
        query = call_query(turns, call.groups)
        if query is None:
            status, confidence, question, candidates, notices = "waiting", 0.0, "", (), ()
        else:
            answer = self.services.ask(query)
            status, confidence = answer.status.value, answer.confidence
            question = mask(query.text).text
            candidates = suggestions_from_answer(
                answer, turns, equivalents=default_glossary().equivalents
            )
            notices = answer.notices
        feedback = self.store.feedback(call.call_id)
        dismissed = {f.suggestion_id for f in feedback if f.verdict == Verdict.DISMISSED}
        used = {f.suggestion_id for f in feedback if f.verdict == Verdict.USED}
        before = previous.suggestions if previous else ()
        if previous is None and used:  # rebuilt after a restart: keep what was pinned
            candidates = tuple(replace(c, pinned=c.id in used) for c in candidates)
        suggestions = stabilise(before, candidates, dismissed)
        snapshot = AssistSnapshot(
            call_id=call.call_id,
            version=(previous.version if previous else 0) + 1,
            turn_count=len(turns),
            question=question,
            status=status,
            confidence=round(confidence, 4),
            suggestions=suggestions,
            alerts=alerts,
            notices=tuple(notices),
        )
        if same_screen(previous, snapshot):
            snapshot = replace(snapshot, version=previous.version)  # type: ignore[union-attr]
        self.store.record_shown(
            call.call_id, [(s.document_id, s.title) for s in suggestions], len(turns)
        )
        self._publish(call.call_id, snapshot)
        return snapshot

    def _keep_suggestions(
        self, call: CallRecord, previous: AssistSnapshot, turn_count: int, alerts: tuple
    ) -> AssistSnapshot:
        """After turns with nothing new from the customer (the agent talking, a bot's
        reply): the suggestions stay as they are and only the alerts are brought up to date.

        Suggestions answer what the customer said; the agent's words join the search as
        context at the customer's next turn. Searching again on every agent turn doubled
        the work per call (the search is ~90% of a turn's cost) and reshuffled the screen
        while the agent was reading it out."""
        snapshot = replace(previous, turn_count=turn_count, alerts=alerts)
        if not same_screen(previous, snapshot):
            snapshot = replace(snapshot, version=previous.version + 1)
        self._publish(call.call_id, snapshot)
        return snapshot

    def _publish(self, call_id: str, snapshot: AssistSnapshot) -> None:
        self._snapshots[call_id] = snapshot


def _may_drive(call: CallRecord, caller: Caller) -> bool:
    if caller.acting_for is None and call.acting_for == caller.account:
        return True  # the agent the call was opened for
    return call.account == caller.account and call.acting_for == caller.acting_for


def _customer_spoke(turns: Sequence[CallTurnRecord]) -> bool:
    return any(t.speaker == Speaker.CUSTOMER and t.text.strip() for t in turns)
