"""People who use AnswerDesk: name, role and the access groups retrieval filters by.

Kept in their own database (`users.sqlite`, created 0600), not in the document registry: the
registry is rewritten by every ingest transaction, while users change at other times and for
other reasons. Passwords are hashed with argon2 and never stored or logged in clear.

**One password policy** (`check_password`) on every path that sets a password: the store
itself applies it, so the Admin page, `kb users add|set-password` and any service get the same
rule and message. It follows PCI DSS 4.0 (8.3.6: at least 12 characters) and NIST SP 800-63B
(no composition rules; refuse known-bad choices): 12 to 256 characters, not blank or one
character repeated, not only digits, not containing the user name, not a common password
or one with only digits and symbols added. An account may have no password at all: it then
signs in only through the identity provider (OIDC), never with the password form.

**Lock-out with back-off** (`sign_in`): after 5 failed attempts for one user name from one
source (the browser's address), that name+source is locked for 30 s, then 60, 120 ... up to
15 minutes after each further failure. While locked every attempt is refused *without*
checking the password, so the right password does not get in either, and it does not
prolong the lock. An attempt is counted before the password is checked, so parallel
guesses cannot slip past the limit. Unknown names are locked the same way (no hint which
names exist), and the store keeps only a hash of the typed name.
Why per name+source and capped: a lock per name alone would let anyone lock the
administrator out by guessing their name. Here a guesser delays only their own source, the
delay never exceeds 15 minutes, an administrator can `unlock` a name (Admin page or
`kb users unlock NAME`), and the CLI and the identity provider never go through this form.
The trade-off: a guesser with many addresses gets 5 tries per address per back-off step; a
bank fronting the app with a proxy should also rate-limit there.

**Demo accounts** (one per role) exist only while `KB_DEMO_USERS=true`: they are marked
`demo`, get random passwords shown once, and `remove_demo_accounts` (run at every start-up
with the flag off) deletes them, including accounts left by older versions with the
published `<name>-demo` passwords.

**Both backends** (kb.database): the same SQL runs on SQLite and, with `KB_STORE=postgres`, in
the schema `<prefix>_users` shared by every replica. An attempt is counted under the store's
write lock (`BEGIN IMMEDIATE`, on PostgreSQL an advisory lock), so guesses sent to several
replicas at once count against one limit too.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kb.access import access_groups
from kb.database import is_postgres, open_database
from kb.errors import KBError

ROLES = ("agent", "knowledge", "trainer", "admin")

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 256
COMMON_PASSWORDS = frozenset(
    """password qwerty qwertyuiop qwertz azerty asdfgh asdfghjkl
    zxcvbnm letmein welcome admin administrator root iloveyou monkey dragon football baseball
    sunshine princess trustno abc abcdef abcdefgh master secret changeme default login guest
    test demo bank banking answerdesk summer winter spring autumn shadow superman batman
    michael charlie freedom whatever starwars hello helloworld mypassword newpassword""".split()  # noqa: SIM905
)
"""Bases of the most common passwords (letters only): a password whose letters are one of
these, or one repeated, is refused however many digits and symbols surround it."""

_LEET = str.maketrans("0134@$5!", "oleaassi")

LOCK_AFTER_FAILURES = 5
FIRST_LOCK_SECONDS = 30.0
MAX_LOCK_SECONDS = 900.0

DEMO_ACCOUNTS = (
    ("agent", "agent", ()),
    ("knowledge", "knowledge", ("fraud-team", "complaints-team")),
    ("trainer", "trainer", ()),
    ("admin", "admin", ("fraud-team", "complaints-team")),
)
"""Demo accounts, one per role: name, role, groups (only with KB_DEMO_USERS=true)."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    groups: tuple[str, ...]
    disabled: bool = False

    @property
    def access_groups(self) -> tuple[str, ...]:
        """The groups the access rule reads with (kb.access.access_groups): their own, plus
        everyone; the restricted-reader permission only for the roles it counts for."""
        return access_groups(self.role, self.groups)


class UserNotFoundError(KBError):
    pass


class WeakPasswordError(KBError):
    """A password the policy refuses; the message says which rule and what to do."""


def password_problem(name: str, password: str) -> str | None:
    """What the password policy has against `password` for user `name`, or None."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return (
            f"a password needs at least {PASSWORD_MIN_LENGTH} characters (this one has "
            f"{len(password)}); a passphrase of three or four words is easy to remember"
        )
    if len(password) > PASSWORD_MAX_LENGTH:
        return f"a password may have at most {PASSWORD_MAX_LENGTH} characters"
    if not password.strip() or len(set(password)) == 1:
        return "a password cannot be blank or one character repeated"
    if password.isdigit():
        return "a password cannot be only digits; use words"
    folded = password.casefold()
    login = name.strip().casefold()
    if len(login) >= 3 and (login in folded or login[::-1] in folded):
        return "a password cannot contain the user name"
    core = re.sub(r"^[\W\d_]+|[\W\d_]+$", "", folded)  # "Password123!" -> "password"
    letters = re.sub(r"[^a-z]", "", core.translate(_LEET))
    for word in COMMON_PASSWORDS:
        if (
            letters
            and len(letters) % len(word) == 0
            and letters == word * (len(letters) // len(word))
        ):
            return "this is one of the most common passwords; choose a passphrase of your own"
    return None


def check_password(name: str, password: str) -> None:
    """Raise WeakPasswordError if the policy refuses `password` for user `name`."""
    problem = password_problem(name, password)
    if problem is not None:
        raise WeakPasswordError(problem)


def lock_seconds(failures: int) -> float:
    """How long a name+source stays locked after its `failures`-th failure in a row."""
    if failures < LOCK_AFTER_FAILURES:
        return 0.0
    return min(FIRST_LOCK_SECONDS * 2 ** (failures - LOCK_AFTER_FAILURES), MAX_LOCK_SECONDS)


@dataclass(frozen=True)
class SignInResult:
    """What one sign-in attempt came to. `user` is None unless it succeeded; `locked_until`
    (epoch seconds) is set while the name+source is locked (this attempt was refused unread,
    or this failure started a lock: then `just_locked`); `known` says whether the name is an
    account (for the audit trail; never shown)."""

    user: User | None
    known: bool
    failures: int = 0
    locked_until: float | None = None
    just_locked: bool = False


_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    groups_json TEXT NOT NULL,
    password_hash TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    demo INTEGER NOT NULL DEFAULT 0
);
-- Failed attempts by sha256(typed name) and source: never the typed text itself.
CREATE TABLE IF NOT EXISTS sign_in_failures (
    name_hash TEXT NOT NULL,
    source TEXT NOT NULL,
    failures INTEGER NOT NULL,
    locked_until REAL NOT NULL,
    PRIMARY KEY (name_hash, source)
);
"""


def _attempt_key(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def _demo_password(name: str) -> str:
    while True:
        password = secrets.token_urlsafe(12)
        if password_problem(name, password) is None:
            return password


class UserStore:
    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.db = open_database(path, rows=True, private=True)
        self.db.executescript(_SCHEMA)
        if not is_postgres(self.db):  # a file from before demo accounts were marked
            columns = {r["name"] for r in self.db.execute("PRAGMA table_info(users)")}
            if "demo" not in columns:
                with contextlib.suppress(sqlite3.OperationalError):  # another process was first
                    self.db.execute("ALTER TABLE users ADD COLUMN demo INTEGER NOT NULL DEFAULT 0")
        self._clock = clock
        self._lock = threading.Lock()

    def close(self) -> None:
        self.db.close()

    def add(
        self,
        name: str,
        role: str,
        groups: tuple[str, ...] = (),
        password: str | None = None,
        demo: bool = False,
    ) -> User:
        """A new account; `password` None: no local password (identity-provider sign-in
        only). A password must pass the policy (`check_password`)."""
        name = name.strip()
        if not name:
            raise KBError("a user needs a name")
        if role not in ROLES:
            raise KBError(f"role must be one of {', '.join(ROLES)}. Currently, it is {role!r}")
        password_hash = None
        if password is not None:
            from argon2 import PasswordHasher

            check_password(name, password)
            password_hash = PasswordHasher().hash(password)
        created = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")  # as CURRENT_TIMESTAMP
        inserted = self.db.execute(
            "INSERT INTO users(name, role, groups_json, password_hash, demo, created_at) "
            "VALUES (?,?,?,?,?,?) ON CONFLICT (name) DO NOTHING RETURNING name",
            (name, role, json.dumps(list(groups)), password_hash, int(demo), created),
        ).fetchone()
        if inserted is None:
            raise KBError(f"a user called '{name}' already exists")
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

        self.get(name)
        check_password(name, password)
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

    def authenticate(self, name: str, password: str, source: str = "") -> User | None:
        """The user, if the password is right, the account enabled and the name+source not
        locked; None otherwise (see `sign_in` for why)."""
        return self.sign_in(name, password, source).user

    def sign_in(self, name: str, password: str, source: str = "") -> SignInResult:
        """One sign-in attempt with lock-out and back-off (see the module docstring). The
        same answer for an unknown name, a wrong password and a disabled account, so sign-in
        does not reveal who has an account."""
        from argon2 import PasswordHasher
        from argon2.exceptions import InvalidHashError, VerificationError

        key, now = _attempt_key(name), self._clock()
        row = self.db.execute(
            "SELECT password_hash, disabled FROM users WHERE name = ?", (name,)
        ).fetchone()
        known = row is not None
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                attempt = self.db.execute(
                    "SELECT failures, locked_until FROM sign_in_failures "
                    "WHERE name_hash = ? AND source = ?",
                    (key, source),
                ).fetchone()
                failures = attempt["failures"] if attempt else 0
                if attempt is not None and attempt["locked_until"] > now:
                    self.db.execute("COMMIT")
                    return SignInResult(None, known, failures, attempt["locked_until"])
                # Count the attempt before checking it: parallel guesses all count.
                failures += 1
                wait = lock_seconds(failures)
                locked_until = now + wait if wait else 0.0
                self.db.execute(
                    "INSERT INTO sign_in_failures(name_hash, source, failures, locked_until) "
                    "VALUES (?,?,?,?) ON CONFLICT (name_hash, source) DO UPDATE SET "
                    "failures = excluded.failures, locked_until = excluded.locked_until",
                    (key, source, failures, locked_until),
                )
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        hasher = PasswordHasher()
        right = False
        if row is None or row["password_hash"] is None:
            hasher.hash(password)  # same work either way: no timing hint
        else:
            try:
                right = hasher.verify(row["password_hash"], password)
            except (VerificationError, InvalidHashError):
                right = False
        if right and not row["disabled"]:
            self.db.execute(
                "DELETE FROM sign_in_failures WHERE name_hash = ? AND source = ?", (key, source)
            )
            return SignInResult(self.get(name), known)
        return SignInResult(None, known, failures, locked_until or None, bool(locked_until))

    def locked_until(self, name: str) -> float | None:
        """The latest time any source is locked out of `name`, or None if none is."""
        row = self.db.execute(
            "SELECT max(locked_until) FROM sign_in_failures WHERE name_hash = ?",
            (_attempt_key(name),),
        ).fetchone()
        return row[0] if row and row[0] and row[0] > self._clock() else None

    def unlock(self, name: str) -> int:
        """Forget the failed attempts at `name` from every source; how many sources were
        recorded."""
        cursor = self.db.execute(
            "DELETE FROM sign_in_failures WHERE name_hash = ?", (_attempt_key(name),)
        )
        return cursor.rowcount

    # ------------------------------------------------------------------ demo accounts

    def add_demo_accounts(self) -> list[tuple[User, str]]:
        """The demo accounts not there yet, each with a random password (shown once)."""
        existing = {u.name for u in self.list()}
        added = []
        for name, role, groups in DEMO_ACCOUNTS:
            if name not in existing:
                password = _demo_password(name)
                added.append((self.add(name, role, groups, password, demo=True), password))
        return added

    def demo_accounts(self) -> list[str]:
        """Names of the demo accounts there are (the app shows a banner while any exist)."""
        return [r["name"] for r in self.db.execute("SELECT name FROM users WHERE demo = 1")]

    def remove_demo_accounts(self) -> list[str]:
        """Delete the demo accounts, and any account of a demo name whose password is still
        the one published by earlier versions (`<name>-demo`); the names removed."""
        from argon2 import PasswordHasher
        from argon2.exceptions import InvalidHashError, VerificationError

        removed = self.demo_accounts()
        names = [name for name, _, _ in DEMO_ACCOUNTS]
        marks = ",".join("?" * len(names))
        for row in self.db.execute(
            f"SELECT name, password_hash FROM users WHERE demo = 0 AND name IN ({marks}) "
            "AND password_hash IS NOT NULL",
            names,
        ).fetchall():
            try:
                PasswordHasher().verify(row["password_hash"], f"{row['name']}-demo")
            except (VerificationError, InvalidHashError):
                continue
            removed.append(row["name"])
        for name in removed:
            self.db.execute("DELETE FROM users WHERE name = ?", (name,))
            self.unlock(name)
        return removed
