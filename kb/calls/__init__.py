"""Live call sessions: turns in, suggestions and escalation alerts out, a masked summary kept.

`CallSessions` (kb.calls.service) is the interface; `assist` holds the pure decisions
(what to search, what to suggest, hysteresis, the summary); `store` the SQLite file.
"""

from kb.calls.records import (
    AssistSnapshot,
    CallAlert,
    CallFeedback,
    CallRecord,
    CallStatus,
    CallSummary,
    CallTurnRecord,
    CallView,
    Speaker,
    Suggestion,
    Verdict,
)
from kb.calls.service import Caller, CallSessions, NewTurn
from kb.calls.store import CallAccessError, CallEndedError, CallNotFoundError, CallStore

__all__ = [
    "AssistSnapshot",
    "CallAccessError",
    "CallAlert",
    "CallEndedError",
    "CallFeedback",
    "CallNotFoundError",
    "CallRecord",
    "CallSessions",
    "CallStatus",
    "CallStore",
    "CallSummary",
    "CallTurnRecord",
    "CallView",
    "Caller",
    "NewTurn",
    "Speaker",
    "Suggestion",
    "Verdict",
]
