"""What the API reads: request bodies, validated here so bad input gets a 422 that says what
is wrong. Responses are the kb records themselves (frozen dataclasses), or the same JSON
record `kb ask --json` prints."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kb.config import QUESTION_MAX_CHARS
from kb.types import Category

_TEXT = Field(min_length=1, max_length=4000)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


class HistoryTurn(_Strict):
    role: Literal["user", "assistant"] = "user"
    text: str = _TEXT

    _check = field_validator("text")(_not_blank)


class AskRequest(_Strict):
    question: str = Field(
        min_length=1,
        max_length=QUESTION_MAX_CHARS,
        description=f"at most {QUESTION_MAX_CHARS} characters: ask about one thing at a time",
    )
    history: list[HistoryTurn] = Field(default_factory=list, max_length=100)
    category: Category | None = None
    as_of: dt.date | None = Field(default=None, description="documents in force on this date")
    include_inactive: bool = False

    _check = field_validator("question")(_not_blank)


class OpenCallRequest(_Strict):
    reference: str | None = Field(
        default=None, max_length=200, description="the contact centre's own id for the call"
    )


class CallOpened(BaseModel):
    call_id: str
    acting_for: str | None
    opened_at: dt.datetime


class TurnIn(_Strict):
    speaker: Literal["customer", "agent", "bot"]
    text: str = _TEXT
    at: dt.datetime | None = Field(default=None, description="when it was said (default: now)")

    _check = field_validator("text")(_not_blank)


class TurnsRequest(_Strict):
    turns: list[TurnIn] = Field(min_length=1, max_length=100)


class FeedbackRequest(_Strict):
    suggestion_id: str = Field(min_length=1, max_length=300)
    verdict: Literal["used", "dismissed"]


class HandoffRequest(_Strict):
    turns: list[TurnIn] = Field(min_length=1, max_length=500)


class HandoffReason(BaseModel):
    rule_id: str
    category: str
    severity: str
    action: str
    procedure: str | None
    turn_index: int
    matched: str
    how: str
    rule_version: int


class HandoffResponse(BaseModel):
    must_hand_over: bool
    reasons: list[HandoffReason]
    from_turn: int | None


class ErrorResponse(BaseModel):
    detail: str


class Problem(BaseModel):
    loc: list[str]
    msg: str
    type: str | None = None


class ValidationErrorResponse(BaseModel):
    detail: str = Field(description="every problem in one sentence")
    errors: list[Problem]
