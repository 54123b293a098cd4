"""Four-eyes publishing: who publishes directly, who reviews, and what a draft is. Pure.

A bank does not let one person change what agents tell customers. With `Settings.four_eyes`
on (the default), a document or new version a person uploads in the Library is a *draft*:
stored, indexed and listed, but never answered, until a second person with the reviewer
right approves it; a rejection keeps the version in force and records why. The operator on
the server (`kb ingest`, `make run` building the sample base) publishes directly: they hold
the knowledge base's files anyway. `Services.ingest` publishes directly unless its caller
says the upload comes through a reviewed path (`as_draft=True`, what the Library passes).

A draft is a version in a "not live" state, like a version scheduled for a later date
(kb.validity): the registry keeps it out of every status='current' path (answers, the
timeline, the lexical search), and only a *preview* (`Query.preview`, reviewer roles only)
lets it answer, in place of the version it would replace.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from kb.errors import KBError

REVIEWER_ROLES = frozenset({"knowledge", "admin"})
"""Roles with the reviewer right (and the right to preview drafts in answers)."""

OPERATOR_UPLOADER = "cli"
"""The name `kb ingest` records uploads under: the operator, who publishes directly."""


class ReviewState(StrEnum):
    DRAFT = "draft"  # awaiting review
    APPROVED = "approved"  # published: the version went live
    REJECTED = "rejected"  # a reviewer said no; the version in force stays
    WITHDRAWN = "withdrawn"  # a newer draft or a directly published version replaced it


class ReviewError(KBError):
    """A review the rules do not allow: the uploader reviewing their own draft, a role
    without the reviewer right, a version that is not awaiting review."""


@dataclass(frozen=True)
class Draft:
    """A version submitted for review and what became of it."""

    document_id: str
    version: int
    title: str
    source_name: str
    submitted_by: str
    submitted_at: str
    state: ReviewState
    live_version: int | None  # the version in force it would replace (None: a new document)
    effective_date: dt.date | None = None
    chunk_count: int = 0
    reviewer: str | None = None
    comment: str | None = None
    decided_at: str | None = None
    groups: tuple[str, ...] = ()  # the access groups it is submitted with (kb.access)


@dataclass(frozen=True)
class ReviewDecision:
    """What an approval or rejection did, for the page, the command line and the audit."""

    document_id: str
    version: int
    state: ReviewState
    reviewer: str
    comment: str
    retired_version: int | None = None  # the version the approval replaced at once
    scheduled_from: dt.date | None = None  # approved, but effective later (kb.validity)


def needs_review(four_eyes: bool, uploader: str | None, reviewed_path: bool) -> bool:
    """Is an upload a draft? Yes when it comes through a reviewed path (the Library) from a
    person while four-eyes is on; the operator (`kb ingest`) publishes directly."""
    return four_eyes and reviewed_path and uploader not in (None, OPERATOR_UPLOADER)


def may_preview(role: str) -> bool:
    """May someone with `role` see drafts in answers (the Ask page's preview)?"""
    return role in REVIEWER_ROLES


def check_reviewer(name: str, role: str, disabled: bool, draft: Draft) -> None:
    """The four-eyes rule for one decision: an enabled account with the reviewer right,
    other than the person who submitted the draft, on a draft still awaiting review."""
    if draft.state != ReviewState.DRAFT:
        raise ReviewError(
            f"version {draft.version} of {draft.document_id} is not awaiting review "
            f"(it is {draft.state.value})"
        )
    if disabled or role not in REVIEWER_ROLES:
        raise ReviewError(
            f"{name} may not review drafts (role {role}{', disabled' if disabled else ''}); "
            f"it takes an enabled {' or '.join(sorted(REVIEWER_ROLES))} account"
        )
    if name == draft.submitted_by:
        raise ReviewError(
            f"{name} submitted version {draft.version} of {draft.document_id}: a second "
            "person must review it (four-eyes publishing)"
        )


def require_comment(comment: str, rejecting: bool) -> str:
    """A rejection says why (the uploader must know what to fix); an approval may be brief."""
    comment = comment.strip()
    if rejecting and not comment:
        raise ReviewError("say why the draft is rejected: the comment is what its author reads")
    return comment
