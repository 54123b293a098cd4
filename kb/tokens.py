"""Integration accounts: the contact centre's systems that call the HTTP API, and their tokens.

An account is a system (the speech-to-text bridge, the chatbot, an RPA bot), not a person:
it has a role that says which operations it may call, access groups like a person's, and a
rate limit. Its token is shown once when created and stored only as an argon2 hash. A token
reads `kbt_<account id>_<secret>`: the id finds the row, so each request verifies one hash.
A verified token is remembered in memory (by its SHA-256) so argon2 runs once per process,
while revocation is read from the database on every request: with `KB_STORE=postgres` the
accounts live in the schema `<prefix>_tokens`, so a token revoked through one replica is
refused by every other at its next request, whatever they remember.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kb.access import access_groups
from kb.database import open_database
from kb.errors import KBError
from kb.types import EVERYONE

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "assist": frozenset({"ask", "calls", "handoff"}),  # live call assist (speech-to-text)
    "chatbot": frozenset({"ask", "handoff"}),  # a chatbot handing customers over
    "rpa": frozenset({"ask"}),  # robots that look answers up
}
"""What each integration role may call. Permissions: ask, calls, handoff."""
DEFAULT_RATE_PER_MINUTE = 120


class InvalidTokenError(KBError):
    """Missing, malformed, unknown or revoked token (one message: no hint which)."""


@dataclass(frozen=True)
class IntegrationAccount:
    account_id: str
    name: str
    role: str
    groups: tuple[str, ...]
    rate_per_minute: int
    created_at: str
    revoked_at: str | None = None

    @property
    def access_groups(self) -> tuple[str, ...]:
        """The groups the access rule reads with (kb.access.access_groups): their own, plus
        everyone; the restricted-reader permission only for the roles it counts for."""
        return access_groups(self.role, self.groups)

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def may(self, permission: str) -> bool:
        return permission in ROLE_PERMISSIONS.get(self.role, frozenset())


def acting_groups(account: tuple[str, ...], agent: tuple[str, ...]) -> tuple[str, ...]:
    """The groups a request acting for an agent may read: only those both the account and
    the agent have (everyone always)."""
    return tuple(dict.fromkeys([EVERYONE, *(g for g in account if g in set(agent))]))


class TokenStore:
    def __init__(self, path: Path) -> None:
        self.db = open_database(path, rows=True, private=True)  # token hashes: 0600
        self.db.executescript(
            "CREATE TABLE IF NOT EXISTS accounts (account_id TEXT PRIMARY KEY, "
            "name TEXT NOT NULL UNIQUE, role TEXT NOT NULL, groups_json TEXT NOT NULL, "
            "rate_per_minute INTEGER NOT NULL, token_hash TEXT NOT NULL, "
            "created_at TEXT NOT NULL, revoked_at TEXT)"
        )
        self._verified: dict[str, str] = {}  # sha256(token) -> account id
        self._lock = threading.Lock()

    def close(self) -> None:
        self.db.close()

    def create(
        self,
        name: str,
        role: str,
        groups: tuple[str, ...] = (),
        rate_per_minute: int = DEFAULT_RATE_PER_MINUTE,
    ) -> tuple[IntegrationAccount, str]:
        """A new account and its token (returned once, never stored in clear)."""
        from argon2 import PasswordHasher

        name = name.strip()
        if not name:
            raise KBError("an integration account needs a name")
        if role not in ROLE_PERMISSIONS:
            raise KBError(
                f"role must be one of {', '.join(ROLE_PERMISSIONS)}. Currently, it is {role!r}"
            )
        if rate_per_minute < 1:
            raise KBError(
                f"rate must be at least 1 request per minute. Currently, it is {rate_per_minute}"
            )
        account_id = secrets.token_hex(6)
        token = f"kbt_{account_id}_{secrets.token_urlsafe(32)}"
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        inserted = self.db.execute(
            "INSERT INTO accounts(account_id, name, role, groups_json, rate_per_minute, "
            "token_hash, created_at) VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING "
            "RETURNING account_id",
            (
                account_id,
                name,
                role,
                json.dumps(list(groups)),
                rate_per_minute,
                PasswordHasher().hash(token),
                now,
            ),
        ).fetchone()
        if inserted is None:  # the name is taken (a random id of 48 bits does not collide)
            raise KBError(f"an integration account called '{name}' already exists")
        return self.get(name), token

    def _account(self, row: Any) -> IntegrationAccount:
        return IntegrationAccount(
            row["account_id"],
            row["name"],
            row["role"],
            tuple(json.loads(row["groups_json"])),
            row["rate_per_minute"],
            row["created_at"],
            row["revoked_at"],
        )

    def get(self, name: str) -> IntegrationAccount:
        row = self.db.execute("SELECT * FROM accounts WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise KBError(f"no integration account called '{name}'")
        return self._account(row)

    def list(self) -> list[IntegrationAccount]:
        rows = self.db.execute("SELECT * FROM accounts ORDER BY name").fetchall()
        return [self._account(r) for r in rows]

    def revoke(self, name: str) -> IntegrationAccount:
        account = self.get(name)
        if account.revoked:
            raise KBError(f"the token of '{name}' was already revoked on {account.revoked_at}")
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self.db.execute("UPDATE accounts SET revoked_at = ? WHERE name = ?", (now, name))
        return self.get(name)

    def authenticate(self, token: str) -> IntegrationAccount:
        """The account a token belongs to; InvalidTokenError if it is not a live token."""
        from argon2 import PasswordHasher
        from argon2.exceptions import InvalidHashError, VerificationError

        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != "kbt" or not parts[1] or not parts[2]:
            raise InvalidTokenError("the API token is not valid")
        row = self.db.execute("SELECT * FROM accounts WHERE account_id = ?", (parts[1],)).fetchone()
        if row is None or row["revoked_at"] is not None:
            raise InvalidTokenError("the API token is not valid")
        digest = hashlib.sha256(token.encode()).hexdigest()
        with self._lock:
            known = self._verified.get(digest) == row["account_id"]
        if not known:
            try:
                PasswordHasher().verify(row["token_hash"], token)
            except (VerificationError, InvalidHashError):
                raise InvalidTokenError("the API token is not valid") from None
            with self._lock:
                self._verified[digest] = row["account_id"]
        return self._account(row)
