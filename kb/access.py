"""The access rule: who may read which document. Every read path asks this module.

**The rule.** A document lists the access groups that may read it (`EVERYONE` for all). A
reader holds access groups: their own plus `EVERYONE`. The reader may read the document iff

- `EVERYONE` is one of the document's groups, or
- one of the reader's groups is one of the document's groups, or
- the reader holds the explicit permission `RESTRICTED_READER`.

The role never grants reading by itself: a knowledge-team member, a trainer or an
administrator outside a document's groups cannot read it, exactly like an agent. Reading
(and so editing, replacing or deleting in the Library) restricted documents of groups one is
not in is the separate, explicit permission `RESTRICTED_READER`, given as a group membership
(`kb users add NAME knowledge --groups restricted-reader`, or the Admin page) so that it is
granted, listed and audited the way every other access change is. It counts only for the
roles that curate the base (`PERMISSION_ROLES`: knowledge and admin): given to an agent,
a trainer or an integration account it is ignored. Administrators get no implied reading
either: they can grant it to themselves, and that grant is a `user_change` in the audit trail.

**One decision, three forms.** `can_read` decides for one document; `readable_sql` is the
same rule as a SQL condition on the documents table (retrieval's lexical search, FAISS
selectors and scope go through `kb.retrieve.Scope`, which calls both); `Reader` is what the
services take on every read path (`READ_PATHS` lists them and tests/unit/test_access.py
checks that every public `Services` method is classified).

**What an outsider sees of a restricted document: nothing**, not its title (titles such as
"Fraud investigations playbook: mule accounts" are themselves sensitive), not its id (made
from its path), only how many restricted documents exist in each group they are not in (the
Library says so, so the knowledge team knows to ask for the permission).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from kb.types import EVERYONE

RESTRICTED_READER = "restricted-reader"
"""The explicit permission to read every restricted document, held as a group membership."""

PERMISSION_ROLES = frozenset({"knowledge", "admin"})
"""Roles for which RESTRICTED_READER counts; for any other role it is ignored."""


class Account(Protocol):
    """A person (kb.users.User) or an integration (kb.tokens.IntegrationAccount)."""

    @property
    def role(self) -> str: ...

    @property
    def groups(self) -> tuple[str, ...]: ...


def access_groups(role: str, groups: Iterable[str]) -> tuple[str, ...]:
    """The groups someone with `role` and these memberships reads with: EVERYONE, their
    groups, and RESTRICTED_READER only for the roles it counts for."""
    kept = (g for g in groups if g != RESTRICTED_READER or role in PERMISSION_ROLES)
    return tuple(dict.fromkeys((EVERYONE, *kept)))


def can_read(groups: Iterable[str], document_groups: Iterable[str]) -> bool:
    """The access rule: may someone holding access `groups` (as `access_groups` gives them)
    read a document restricted to `document_groups`?"""
    held = {EVERYONE, *groups}
    return RESTRICTED_READER in held or not held.isdisjoint(document_groups)


def readable_sql(groups: Iterable[str], table: str = "d") -> tuple[str, list[object]]:
    """`can_read` as a SQL condition on the documents table `table` (its groups_json).

    One condition for both engines: SQLite's `json_each` reads the JSON array, and the
    registry's PostgreSQL schema has a `json_each(text)` of its own that does the same
    (kb.registry), so the filter runs inside the SQL on either backend, never after it."""
    held = sorted({EVERYONE, *groups})
    if RESTRICTED_READER in held:
        return "1 = 1", []
    condition = (
        f"EXISTS (SELECT 1 FROM json_each({table}.groups_json) g WHERE g.value IN "
        f"({','.join('?' * len(held))}))"
    )
    return condition, list(held)


@dataclass(frozen=True)
class Reader:
    """Who is reading, as the services need it: the access groups the rule applies to.

    Build it with `Reader.of(user)` (applies the role to the permission) or, for the command
    line run by an operator on the server, `OPERATOR`. Services methods that return document
    titles or text take one and show only what `can_read` allows."""

    groups: tuple[str, ...]
    name: str = ""

    @classmethod
    def of(cls, account: Account, name: str | None = None) -> Reader:
        return cls(
            access_groups(account.role, account.groups), name or getattr(account, "name", "")
        )

    @property
    def restricted_reader(self) -> bool:
        return RESTRICTED_READER in self.groups

    def can_read(self, document_groups: Iterable[str]) -> bool:
        return can_read(self.groups, document_groups)


OPERATOR = Reader((EVERYONE, RESTRICTED_READER), "operator")
"""The command line (`kb docs`, `kb search`, `kb insights`) and offline jobs such as
generating exercises: run on the server by someone who holds its files anyway."""


READ_PATHS: dict[str, str] = {
    # Services methods that return document titles or text, and how each applies the rule.
    "documents": "reader: only documents the reader may read",
    "document": "reader: DocumentAccessError for a document the reader may not read",
    "document_chunks": "reader: DocumentAccessError, as document",
    "original_file": "reader: DocumentAccessError, as document",
    "open_original": "reader: DocumentAccessError, as document (the rule of original_file)",
    "search": "reader: restricted chunks excluded in the search (Scope)",
    "insights": "reader: document health and gaps only for readable documents",
    "restricted_counts": "reader: numbers of unreadable documents per group, never titles",
    "retrieve": "Query.groups (the reader's access groups), filtered inside retrieval",
    "search_hits": "Query.groups, as retrieve",
    "ask": "Query.groups, as retrieve; notices and related articles from the same hits",
    "plan": "the question only, typos corrected against the whole base's words (known gap: "
    "a correction can spell a word only a restricted document holds)",
    "confidence_evidence": "Query.groups, as retrieve; numbers only",
    "evidence": "Query.groups (Scope.sql for the words), numbers only",
    "update_metadata": "reader: DocumentAccessError unless readable (editing is reading)",
    "delete": "reader: DocumentAccessError unless readable",
    "purge": "reader: DocumentAccessError unless readable",
    "drafts": "reader: only drafts submitted with groups the reader may read (kb.publishing)",
    "version_diff": "reader: DocumentAccessError, as document",
    "approve_draft": "the reviewer's own account (Reader.of): DocumentNotFoundError unless "
    "readable; the four-eyes rule (kb.publishing.check_reviewer)",
    "reject_draft": "as approve_draft",
    "call_sessions": "each call keeps the groups of who opened it (kb.calls); assist uses them",
}
"""Every public Services method that returns or changes document content, and how it applies
the rule. Methods that touch no document content are listed in NOT_READ_PATHS; the unit
test fails for a method in neither, so a new method has to be classified."""

NOT_READ_PATHS: dict[str, str] = {
    "ingest": "writes documents; the ingest report names only the uploaded files",
    "ingest_paths": "writes documents, as ingest",
    "groups_of": "a user's groups, no document",
    "check_question": "the length of a question, no document",
    "give_feedback": "writes an agent's verdict on an answer they were shown",
    "close": "closes stores",
    "integration_accounts": "API accounts, no document",
    "close_api_stores": "closes stores",
    "escalation_rules": "the knowledge team's rules; a rule names a document id, titles via documents(reader)",
    "escalation_detector": "matches utterances against rules, no document",
    "may_preview": "a user's role, no document (drafts then answer through Query.preview)",
    "ingest_jobs": "writes documents as ingest; jobs list uploaded file names, to the "
    "knowledge team and admins who may read the job's groups (kb.ingest_jobs)",
}
