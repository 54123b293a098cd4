"""Opening a SQLite store waits out another process that holds the new file while switching it
to write-ahead logging (SQLite may answer "database is locked" without its busy handler)."""

from __future__ import annotations

import sqlite3

import pytest

from kb.database import _use_wal, open_database


class _LockedFor:
    """A connection whose journal-mode PRAGMA is refused `times` times, as SQLite does while
    another process switches the same file."""

    def __init__(self, times: int, message: str = "database is locked") -> None:
        self.left, self.message, self.calls = times, message, 0

    def execute(self, sql: str) -> None:
        self.calls += 1
        if self.left:
            self.left -= 1
            raise sqlite3.OperationalError(self.message)


def test_a_briefly_locked_file_is_retried_until_it_switches():
    db = _LockedFor(3)
    _use_wal(db, seconds=5)
    assert db.calls == 4


def test_a_lock_that_outlasts_the_wait_is_reported():
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        _use_wal(_LockedFor(10**6), seconds=0.05)


def test_other_errors_are_not_retried():
    db = _LockedFor(1, "disk I/O error")
    with pytest.raises(sqlite3.OperationalError, match="disk"):
        _use_wal(db, seconds=5)
    assert db.calls == 1


def test_a_store_opens_in_wal_mode(tmp_path):
    db = open_database(tmp_path / "store.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
