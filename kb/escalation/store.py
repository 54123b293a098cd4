"""The escalation rules the knowledge team maintains: versioned in SQLite, every change audited.

Each save or disable appends a row (rule id, version, the rule as JSON, author, time); nothing
is overwritten, so `history` shows every version and who made it. The first use of an empty
store seeds it from the packaged default rules (kb/data/escalation_rules.json). The store's
`version` counts every change; a detector built for one version is rebuilt when it moves.

Every change is also written to the audit trail (kb.audit) as `escalation_rule_change`, with
the rule id, its new version and what changed.

With `KB_STORE=postgres` the rules live in the schema `<prefix>_escalation` (kb.database), so
a change made through one replica reaches every replica's detector (its `version` moves).
The SQL is the same; only the connection differs: on SQLite each operation opens the file
afresh, on PostgreSQL the store keeps one connection and uses it one operation at a time
(a new connection per call would cost a round of authentication on every call turn).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kb.audit import AuditLog
from kb.database import is_postgres, open_database
from kb.escalation.rules import (
    DEFAULT_RULES_PATH,
    EscalationRuleError,
    Rule,
    RuleSet,
    load_rule_set,
    rule_from_dict,
    rule_to_dict,
    validate_rule,
)

AUDIT_ACTION = "escalation_rule_change"
SYSTEM_AUTHOR = "system"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rule_versions (
    change INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    author TEXT NOT NULL,
    at TEXT NOT NULL,
    note TEXT NOT NULL,
    UNIQUE (rule_id, version)
);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class RuleVersion:
    rule: Rule
    version: int
    enabled: bool
    author: str
    at: str
    note: str  # "seeded", "created", "changed: phrases, severity", "disabled"


class RuleStore:
    def __init__(
        self, path: Path, audit: AuditLog | None = None, defaults: Path | None = None
    ) -> None:
        """`audit`: the knowledge base's audit trail; without one, the `audit.sqlite` beside
        `path` (where Settings keeps it) is opened."""
        self.path = Path(path)
        self._audit = audit
        self._defaults = defaults or DEFAULT_RULES_PATH
        self._lock = threading.Lock()
        self._shared: Any = None  # PostgreSQL: the store's one connection
        self._shared_lock = threading.RLock()
        db = open_database(self.path)
        db.executescript(_SCHEMA)
        if is_postgres(db):
            self._shared = db
        else:
            db.close()

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        """The connection for one operation: a fresh one on SQLite (closed after), the
        store's own on PostgreSQL, held by one operation at a time."""
        if self._shared is None:
            with closing(open_database(self.path)) as db:
                yield db
            return
        with self._shared_lock:
            yield self._shared

    def close(self) -> None:
        """Close the PostgreSQL connection (nothing stays open on SQLite)."""
        if self._shared is not None:
            self._shared.close()

    @property
    def audit(self) -> AuditLog:
        if self._audit is None:
            self._audit = AuditLog(self.path.with_name("audit.sqlite"))
        return self._audit

    # ------------------------------------------------------------------ reading

    def version(self) -> int:
        """The number of changes so far (0 before seeding): changes whenever a rule does."""
        self._seed_if_empty()
        with self._connection() as db:
            return int(
                db.execute("SELECT COALESCE(MAX(change), 0) FROM rule_versions").fetchone()[0]
            )

    def current(self) -> RuleSet:
        """Every rule at its latest version (disabled ones included, marked `enabled=False`;
        detectors use only enabled rules), with the store's version."""
        self._seed_if_empty()
        with self._connection() as db:
            rows = db.execute(
                "SELECT rule_id, version, body, enabled, change FROM rule_versions r "
                "WHERE version = (SELECT MAX(version) FROM rule_versions WHERE rule_id = r.rule_id) "
                "ORDER BY rule_id"
            ).fetchall()
            change = int(
                db.execute("SELECT COALESCE(MAX(change), 0) FROM rule_versions").fetchone()[0]
            )
            settings = dict(db.execute("SELECT key, value FROM settings").fetchall())
        rules = tuple(
            replace(rule_from_dict(json.loads(body)), version=version, enabled=bool(enabled))
            for _, version, body, enabled, _ in rows
        )
        return RuleSet(
            rules=rules,
            version=change,
            meaning_threshold=float(settings.get("meaning_threshold", 0.9)),
            meaning_margin=float(settings.get("meaning_margin", 0.0)),
            calibration=settings.get("calibration", ""),
            ordinary=tuple(json.loads(settings.get("ordinary_utterances", "[]"))),
        )

    def history(self, rule_id: str) -> list[RuleVersion]:
        """Every version of one rule, oldest first."""
        self._seed_if_empty()
        with self._connection() as db:
            rows = db.execute(
                "SELECT body, version, enabled, author, at, note FROM rule_versions "
                "WHERE rule_id = ? ORDER BY version",
                (rule_id,),
            ).fetchall()
        if not rows:
            raise EscalationRuleError(f"no escalation rule {rule_id!r} in {self.path}")
        return [
            RuleVersion(
                replace(rule_from_dict(json.loads(body)), version=version, enabled=bool(enabled)),
                version,
                bool(enabled),
                author,
                at,
                note,
            )
            for body, version, enabled, author, at, note in rows
        ]

    # ------------------------------------------------------------------ changing

    def save(self, rule: Rule, author: str) -> int:
        """Store `rule` as the new version of its id (a new rule starts at 1) and return that
        version. Saving a disabled rule enables it again. An identical enabled rule is not
        stored twice: its current version is returned."""
        validate_rule(rule)
        if not author or not author.strip():
            raise EscalationRuleError("a rule change needs an author")
        self._seed_if_empty()
        body = _body(rule)
        with self._lock, self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                latest = db.execute(
                    "SELECT version, body, enabled FROM rule_versions WHERE rule_id = ? "
                    "ORDER BY version DESC LIMIT 1",
                    (rule.id,),
                ).fetchone()
                if latest is not None and latest[1] == body and latest[2]:
                    db.execute("ROLLBACK")
                    return int(latest[0])
                version = 1 if latest is None else int(latest[0]) + 1
                if latest is None:
                    note = "created"
                else:
                    changed = _changed_fields(json.loads(latest[1]), json.loads(body))
                    note = ("enabled; " if not latest[2] else "") + (
                        "changed: " + ", ".join(changed) if changed else "re-enabled"
                    )
                self._insert(db, rule.id, version, body, True, author, note)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        self.audit.record(
            author, AUDIT_ACTION, rule=rule.id, version=version, change=note,
            category=rule.category, severity=rule.severity,
        )  # fmt: skip
        return version

    def disable(self, rule_id: str, author: str) -> int:
        """Switch a rule off as a new version (its history stays); returns that version."""
        if not author or not author.strip():
            raise EscalationRuleError("a rule change needs an author")
        self._seed_if_empty()
        with self._lock, self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                latest = db.execute(
                    "SELECT version, body, enabled FROM rule_versions WHERE rule_id = ? "
                    "ORDER BY version DESC LIMIT 1",
                    (rule_id,),
                ).fetchone()
                if latest is None:
                    raise EscalationRuleError(f"no escalation rule {rule_id!r} to disable")
                if not latest[2]:
                    db.execute("ROLLBACK")
                    return int(latest[0])
                version = int(latest[0]) + 1
                self._insert(db, rule_id, version, latest[1], False, author, "disabled")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        self.audit.record(author, AUDIT_ACTION, rule=rule_id, version=version, change="disabled")
        return version

    # ------------------------------------------------------------------ internals

    @staticmethod
    def _insert(
        db: Any, rule_id: str, version: int, body: str, enabled: bool,
        author: str, note: str,
    ) -> None:  # fmt: skip
        at = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
        db.execute(
            "INSERT INTO rule_versions(rule_id, version, body, enabled, author, at, note) "
            "VALUES (?,?,?,?,?,?,?)",
            (rule_id, version, body, int(enabled), author, at, note),
        )

    def _seed_if_empty(self) -> None:
        with self._connection() as db:
            if db.execute("SELECT 1 FROM rule_versions LIMIT 1").fetchone():
                return
        defaults = load_rule_set(self._defaults)
        with self._lock, self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                if db.execute("SELECT 1 FROM rule_versions LIMIT 1").fetchone():
                    db.execute("ROLLBACK")
                    return
                for rule in defaults.rules:
                    self._insert(db, rule.id, 1, _body(rule), rule.enabled, SYSTEM_AUTHOR, "seeded")
                for key, value in (
                    ("meaning_threshold", str(defaults.meaning_threshold)),
                    ("meaning_margin", str(defaults.meaning_margin)),
                    ("calibration", defaults.calibration),
                    (
                        "ordinary_utterances",
                        json.dumps(list(defaults.ordinary), ensure_ascii=False),
                    ),
                ):
                    db.execute(
                        "INSERT INTO settings(key, value) VALUES (?, ?) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        (key, value),
                    )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        self.audit.record(
            SYSTEM_AUTHOR, AUDIT_ACTION, change="seeded", rules=len(defaults.rules),
            source=self._defaults.name,
        )  # fmt: skip


def _body(rule: Rule) -> str:
    data = rule_to_dict(replace(rule, version=1, enabled=True))
    data.pop("version", None)
    data.pop("enabled", None)
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def _changed_fields(before: dict, after: dict) -> list[str]:  # type: ignore[type-arg]
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
