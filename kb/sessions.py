"""Signed-in sessions kept on the server, so a reload or a new tab does not sign an agent out
mid-call, and signing out or going idle really ends them.

A session is a random token (`secrets.token_urlsafe(32)`, 256 bits) that the browser keeps in
a cookie; this store (`sessions.sqlite`, created 0600) keeps only its SHA-256, the user name
it belongs to, when it started and when it was last used, and a little UI state that must
survive a reload (the interface language, the call on the Ask page, the Live call page's
call id; the app masks customer data before it is saved here). A plain hash is enough: the
token is random, not a password, so there is nothing to guess from a stolen table.

A session ends:
- when its user signs out (`end`), or an administrator disables the account (`end_user`);
- after `idle_seconds` without use (`touch` refreshes it on every run of the app);
- `max_seconds` after it started, however active (a shift; the cookie expires then too).

The same SQL runs on SQLite and, with `KB_STORE=postgres`, in the schema `<prefix>_sessions`
shared by every replica, so a session started through one replica is live on the others
(nginx's sticky routing is only for Streamlit's websocket). The column `user` is written
`"user"`: PostgreSQL reserves the bare word (it means the current database role).

The store only decides; the app records `session_start` and `session_end` (with the reason:
sign_out, idle, expired, account_disabled) in the audit trail. The clock is injected so
the expiry rules are tested without waiting.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.database import open_database

SIGN_OUT = "sign_out"
IDLE = "idle"
EXPIRED = "expired"
ACCOUNT_DISABLED = "account_disabled"


@dataclass(frozen=True)
class Session:
    """One live session, as the app needs it: who, since when, and the saved UI state."""

    user: str
    started_at: float
    last_seen: float
    expires_at: float  # the absolute end (started_at + the maximum)
    state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Lookup:
    """What a token came to: a live `session`, or None with why (`ended` is IDLE or EXPIRED
    for a session that ran out just now, with its `user`; None for a token the store does not
    know, e.g. one signed out elsewhere)."""

    session: Session | None
    ended: str | None = None
    user: str | None = None


@dataclass(frozen=True)
class Ended:
    """A session the store removed, for the audit trail."""

    user: str
    reason: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore:
    def __init__(
        self,
        path: Path,
        idle_seconds: float,
        max_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if idle_seconds <= 0 or max_seconds <= 0:
            raise ValueError(
                f"session lifetimes must be greater than 0. Currently, idle is {idle_seconds} "
                f"s and the maximum {max_seconds} s"
            )
        self.idle_seconds = idle_seconds
        self.max_seconds = max_seconds
        self._clock = clock
        self.db = open_database(path, rows=True, private=True)
        self.db.executescript(
            "CREATE TABLE IF NOT EXISTS sessions (token_hash TEXT PRIMARY KEY, "
            '"user" TEXT NOT NULL, started_at REAL NOT NULL, last_seen REAL NOT NULL, '
            "state_json TEXT NOT NULL DEFAULT '{}');"
            'CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions("user");'
        )

    def close(self) -> None:
        self.db.close()

    def start(self, user: str) -> tuple[str, Session]:
        """A new session for `user`: the token (give it to the browser, never store or log
        it) and the session."""
        token = secrets.token_urlsafe(32)
        now = self._clock()
        self.db.execute(
            'INSERT INTO sessions(token_hash, "user", started_at, last_seen) VALUES (?,?,?,?)',
            (token_hash(token), user, now, now),
        )
        return token, Session(user, now, now, now + self.max_seconds)

    def _reason(self, row: Any, now: float) -> str | None:
        if now >= row["started_at"] + self.max_seconds:
            return EXPIRED
        if now - row["last_seen"] >= self.idle_seconds:
            return IDLE
        return None

    def touch(self, token: str) -> Lookup:
        """The session of `token`, marked as used now; a session that has run out is removed
        and reported (`Lookup.ended`), so the next use of its token finds nothing."""
        key, now = token_hash(token), self._clock()
        row = self.db.execute("SELECT * FROM sessions WHERE token_hash = ?", (key,)).fetchone()
        if row is None:
            return Lookup(None)
        reason = self._reason(row, now)
        if reason is not None:
            self.db.execute("DELETE FROM sessions WHERE token_hash = ?", (key,))
            return Lookup(None, reason, row["user"])
        self.db.execute("UPDATE sessions SET last_seen = ? WHERE token_hash = ?", (now, key))
        return Lookup(
            Session(
                row["user"],
                row["started_at"],
                now,
                row["started_at"] + self.max_seconds,
                json.loads(row["state_json"]),
            )
        )

    def save_state(self, token: str, state: dict[str, Any]) -> bool:
        """Keep `state` (JSON values) with the session; False if the session is gone."""
        cursor = self.db.execute(
            "UPDATE sessions SET state_json = ? WHERE token_hash = ?",
            (json.dumps(state, ensure_ascii=False), token_hash(token)),
        )
        return cursor.rowcount == 1

    def end(self, token: str) -> str | None:
        """End the session of `token` (sign-out); the user it belonged to, if it existed."""
        key = token_hash(token)
        row = self.db.execute('SELECT "user" FROM sessions WHERE token_hash = ?', (key,)).fetchone()
        self.db.execute("DELETE FROM sessions WHERE token_hash = ?", (key,))
        return row["user"] if row is not None else None

    def end_user(self, user: str) -> int:
        """End every session of `user` (account disabled or removed); how many there were."""
        return self.db.execute('DELETE FROM sessions WHERE "user" = ?', (user,)).rowcount

    def sessions_of(self, user: str) -> int:
        """How many live (not yet run out) sessions `user` has."""
        now = self._clock()
        rows = self.db.execute('SELECT * FROM sessions WHERE "user" = ?', (user,)).fetchall()
        return sum(1 for row in rows if self._reason(row, now) is None)

    def sweep(self) -> list[Ended]:
        """Remove every session that has run out (nobody came back to it), for the audit."""
        now = self._clock()
        ended = []
        for row in self.db.execute("SELECT * FROM sessions").fetchall():
            reason = self._reason(row, now)
            if reason is not None:
                deleted = self.db.execute(
                    "DELETE FROM sessions WHERE token_hash = ?", (row["token_hash"],)
                ).rowcount
                if deleted:  # another process may have been first
                    ended.append(Ended(row["user"], reason))
        return ended
