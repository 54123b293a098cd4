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
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
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
