"""The records of a call session: turns, suggestions, alerts, the assist snapshot, the summary.

Frozen like kb.types, so the API, the CLI simulator and a Streamlit "Live call" page all see
the same shapes. Every text field of a stored record is masked (kb.pii) before it is stored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from kb.types import Citation, Passage, Step


class Speaker(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    BOT = "bot"


class Verdict(StrEnum):
    USED = "used"
    DISMISSED = "dismissed"


class CallStatus(StrEnum):
    OPEN = "open"
    ENDED = "ended"


@dataclass(frozen=True)
class CallTurnRecord:
    """One turn of a call as stored: `text` is masked, `index` counts from 0."""

    index: int
    speaker: Speaker
    text: str
    at: dt.datetime


@dataclass(frozen=True)
class Suggestion:
    """A procedure or article suggested to the agent, with why it was suggested.

    One suggestion per document: `id` is the document id, so the agent's feedback and the
    screen's layout follow it from one snapshot to the next even when its kind changes (an
    article whose procedure steps the next turn brings in). `why` holds the customer's words
    that occur in the suggestion, `why_turns` the turns they were said in. `strength` is what hysteresis compares: the answer's confidence scaled by
    how this document ranked against the answer's best.
    """

    id: str
    kind: str  # "procedure" or "article"
    document_id: str
    title: str
    steps: tuple[Step, ...]
    passages: tuple[Passage, ...]
    citations: tuple[Citation, ...]
    why: tuple[str, ...]
    why_turns: tuple[int, ...]
    strength: float
    since_turn: int  # the number of turns in the call when it was first shown
    pinned: bool = False  # the agent said they used it: it stays for the rest of the call


@dataclass(frozen=True)
class CallAlert:
    """An escalation alert (kb.escalation) with the turn that triggered it."""

    rule_id: str
    category: str
    severity: str
    action: str
    procedure: str | None
    turn_index: int
    turn_speaker: str
    turn_text: str  # masked
    matched: str
    how: str
    rule_version: int


@dataclass(frozen=True)
class AssistSnapshot:
    """What the agent's screen shows at one moment of the call."""

    call_id: str
    version: int  # grows by one every time the snapshot changes
    turn_count: int
    question: str  # the customer's words searched with (masked)
    status: str  # "waiting" (no customer turn yet), "answered" or "not_covered"
    confidence: float
    suggestions: tuple[Suggestion, ...]
    alerts: tuple[CallAlert, ...]
    notices: tuple[str, ...] = ()


@dataclass(frozen=True)
class CallFeedback:
    call_id: str
    suggestion_id: str
    document_id: str
    verdict: Verdict
    at: dt.datetime
    by: str


@dataclass(frozen=True)
class CallRecord:
    call_id: str
    account: str  # the integration account (or person) that opened it
    acting_for: str | None  # the agent it acts for, whose groups apply
    groups: tuple[str, ...]
    reference: str | None  # the contact centre's own call id (masked)
    status: CallStatus
    opened_at: dt.datetime
    ended_at: dt.datetime | None = None


@dataclass(frozen=True)
class CallSummary:
    """What is kept of a call once it ends. Masked: no customer data, only what it was about."""

    call_id: str
    opened_at: dt.datetime
    ended_at: dt.datetime
    turns: int
    opening: str  # the customer's first words, masked and cut to 200 characters
    topics: tuple[str, ...]  # titles of the documents suggested, in order of first suggestion
    documents_suggested: tuple[str, ...]
    documents_used: tuple[str, ...]
    documents_dismissed: tuple[str, ...]
    alerts: tuple[CallAlert, ...]


@dataclass(frozen=True)
class CallView:
    """A call as stored: its record, its (masked) turns and, once ended, its summary."""

    call: CallRecord
    turns: tuple[CallTurnRecord, ...]
    summary: CallSummary | None = None
