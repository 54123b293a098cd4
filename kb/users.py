"""People who use AnswerDesk: name, role and the access groups retrieval filters by.

Kept in their own database (`users.sqlite`), not in the document registry: the registry is
rewritten by every ingest transaction, while users change at other times and for other
reasons. Passwords are hashed with argon2 and never stored or logged in clear.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from kb.database import open_database
from kb.errors import KBError
from kb.types import EVERYONE

ROLES = ("agent", "knowledge", "trainer", "admin")


@dataclass(frozen=True)
class User:
    name: str
    role: str
    groups: tuple[str, ...]
    disabled: bool = False

    @property
    def access_groups(self) -> tuple[str, ...]:
        """The groups retrieval may show documents of: the user's own, plus everyone."""
        return tuple(dict.fromkeys((EVERYONE, *self.groups)))


class UserNotFoundError(KBError):
    pass


class UserStore:
    def __init__(self, path: Path) -> None:
        self.db = open_database(path, rows=True)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, role TEXT NOT NULL, "
            "groups_json TEXT NOT NULL, password_hash TEXT, disabled INTEGER NOT NULL DEFAULT 0, "
            "created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
        )

    def close(self) -> None:
        self.db.close()

    def add(
        self, name: str, role: str, groups: tuple[str, ...] = (), password: str | None = None
    ) -> User:
        name = name.strip()
        if not name:
            raise KBError("a user needs a name")
        if role not in ROLES:
            raise KBError(f"role must be one of {', '.join(ROLES)}. Currently, it is {role!r}")
        password_hash = None
        if password is not None:
            from argon2 import PasswordHasher

            password_hash = PasswordHasher().hash(password)
        try:
            self.db.execute(
                "INSERT INTO users(name, role, groups_json, password_hash) VALUES (?,?,?,?)",
                (name, role, json.dumps(list(groups)), password_hash),
            )
        except sqlite3.IntegrityError as e:
            raise KBError(f"a user called '{name}' already exists") from e
        return self.get(name)

    def get(self, name: str) -> User:
        row = self.db.execute("SELECT * FROM users WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise UserNotFoundError(f"no user called '{name}'")
        return User(
            row["name"], row["role"], tuple(json.loads(row["groups_json"])), bool(row["disabled"])
        )

    def list(self) -> list[User]:
        rows = self.db.execute("SELECT name FROM users ORDER BY name").fetchall()
        return [self.get(r["name"]) for r in rows]

    def set_password(self, name: str, password: str) -> None:
        from argon2 import PasswordHasher

        if len(password) < 8:
            raise KBError("a password needs at least 8 characters")
        self.get(name)
        self.db.execute(
            "UPDATE users SET password_hash = ? WHERE name = ?",
            (PasswordHasher().hash(password), name),
        )

    def set_disabled(self, name: str, disabled: bool = True) -> None:
        self.get(name)
        self.db.execute("UPDATE users SET disabled = ? WHERE name = ?", (int(disabled), name))

    def update(
        self, name: str, role: str | None = None, groups: tuple[str, ...] | None = None
    ) -> User:
        user = self.get(name)
        if role is not None and role not in ROLES:
            raise KBError(f"role must be one of {', '.join(ROLES)}. Currently, it is {role!r}")
        self.db.execute(
            "UPDATE users SET role = ?, groups_json = ? WHERE name = ?",
            (role or user.role, json.dumps(list(user.groups if groups is None else groups)), name),
        )
        return self.get(name)

    def for_identity(self, claims: dict[str, object]) -> User | None:
        """The enabled local account an OpenID Connect identity maps to, or None.

        The identity provider says who someone is; the bank's own account list says what they
        may do. The account is found by the verified e-mail address (case-insensitive), then
        by the subject identifier, so an administrator provisions people by e-mail."""
        email = claims.get("email")
        verified = claims.get("email_verified", True)
        candidates = []
        if isinstance(email, str) and email and verified is not False:
            candidates.append(email.strip().lower())
        if isinstance(claims.get("sub"), str):
            candidates.append(str(claims["sub"]))
        for candidate in candidates:
            row = self.db.execute(
                "SELECT name FROM users WHERE lower(name) = lower(?)", (candidate,)
            ).fetchone()
            if row is not None:
                user = self.get(row["name"])
                return None if user.disabled else user
        return None

    def authenticate(self, name: str, password: str) -> User | None:
        """The user, if the password is right and the account enabled; None otherwise (the
        same answer for an unknown name, so sign-in does not reveal who has an account)."""
        from argon2 import PasswordHasher
        from argon2.exceptions import InvalidHashError, VerificationError

        row = self.db.execute(
            "SELECT password_hash, disabled FROM users WHERE name = ?", (name,)
        ).fetchone()
        hasher = PasswordHasher()
        if row is None or row["password_hash"] is None:
            hasher.hash(password)  # same work either way: no timing hint
            return None
        try:
            hasher.verify(row["password_hash"], password)
        except (VerificationError, InvalidHashError):
            return None
        return None if row["disabled"] else self.get(name)
