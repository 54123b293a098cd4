"""The server-side session store (kb.sessions) with an injected clock, and the typed-record
codec (kb.plain) that keeps the Ask page's call with a session."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import stat

import pytest

from kb.plain import PlainError, from_plain, to_plain
from kb.sessions import EXPIRED, IDLE, Lookup, SessionStore, token_hash
from kb.types import (
    Answer,
    AnswerStatus,
    ChunkKind,
    Citation,
    Highlighted,
    Passage,
    Step,
    Turn,
)

MINUTE, HOUR = 60.0, 3600.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(backend_settings, clock):
    """The store on each backend in turn: a SQLite file, then a PostgreSQL schema."""
    sessions = SessionStore(backend_settings.sessions_path, 30 * MINUTE, 12 * HOUR, clock)
    yield sessions
    sessions.close()


def test_only_a_hash_of_the_token_is_stored(tmp_path, clock):
    store = SessionStore(tmp_path / "sessions.sqlite", 30 * MINUTE, 12 * HOUR, clock)
    token, _ = store.start("ana")
    assert len(token) >= 40
    raw = (tmp_path / "sessions.sqlite").read_bytes() + b"".join(
        p.read_bytes() for p in tmp_path.glob("sessions.sqlite-*")
    )
    assert token.encode() not in raw
    rows = sqlite3.connect(tmp_path / "sessions.sqlite").execute("SELECT * FROM sessions")
    assert [r[:2] for r in rows] == [(token_hash(token), "ana")]
    assert stat.S_IMODE((tmp_path / "sessions.sqlite").stat().st_mode) == 0o600
    store.close()


def test_a_session_started_on_one_replica_lives_on_the_others(store, backend_settings, clock):
    other = SessionStore(backend_settings.sessions_path, 30 * MINUTE, 12 * HOUR, clock)
    try:
        token, _ = store.start("ana")
        assert other.save_state(token, {"language": "zh"})
        assert store.touch(token).session.state == {"language": "zh"}
        assert other.sessions_of("ana") == 1 and other.end(token) == "ana"
        assert store.touch(token) == Lookup(None)  # signed out elsewhere: unknown here
    finally:
        other.close()


def test_use_keeps_a_session_alive_and_idleness_ends_it(store, clock):
    token, _ = store.start("ana")
    for _ in range(4):  # 2 hours of work, a click every 29 minutes
        clock.now += 29 * MINUTE
        assert store.touch(token).session.user == "ana"
    clock.now += 30 * MINUTE
    lookup = store.touch(token)
    assert (lookup.session, lookup.ended, lookup.user) == (None, IDLE, "ana")
    assert store.touch(token).ended is None  # removed: the token is now simply unknown


def test_a_session_ends_at_its_maximum_however_active(store, clock):
    token, session = store.start("ana")
    assert session.expires_at == clock.now + 12 * HOUR
    for _ in range(12 * 4 - 1):
        clock.now += 15 * MINUTE
        assert store.touch(token).session is not None
    clock.now += 15 * MINUTE
    assert store.touch(token).ended == EXPIRED


def test_sign_out_deletes_the_session_on_the_server(store):
    token, _ = store.start("ana")
    other, _ = store.start("ana")  # another browser
    assert store.end(token) == "ana"
    assert store.touch(token).session is None
    assert store.end(token) is None
    assert store.touch(other).session is not None


def test_disabling_an_account_ends_all_its_sessions(store):
    tokens = [store.start("ana")[0] for _ in range(2)]
    kept, _ = store.start("kim")
    assert store.sessions_of("ana") == 2
    assert store.end_user("ana") == 2
    assert [store.touch(t).session for t in tokens] == [None, None]
    assert store.touch(kept).session.user == "kim"


def test_a_session_keeps_its_ui_state(store):
    token, _ = store.start("ana")
    assert store.touch(token).session.state == {}
    assert store.save_state(token, {"language": "zh", "live_call": "c-1"})
    assert store.touch(token).session.state == {"language": "zh", "live_call": "c-1"}
    store.end(token)
    assert not store.save_state(token, {"language": "en"})


def test_sweep_reports_sessions_nobody_came_back_to(store, clock):
    store.start("ana")
    clock.now += 11 * HOUR
    fresh, _ = store.start("kim")
    store.touch(fresh)
    clock.now += 1.5 * HOUR  # ana idle and past 12 h; kim idle
    ended = sorted((e.user, e.reason) for e in store.sweep())
    assert ended == [("ana", EXPIRED), ("kim", IDLE)]
    assert store.sweep() == []


def test_lifetimes_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match=r"greater than 0\. Currently, idle is 0"):
        SessionStore(tmp_path / "s.sqlite", 0, 60)


# ---------------------------------------------------------------------- kb.plain


def citation(n: int) -> Citation:
    return Citation(
        f"doc-{n}", "Lost cards", "lost.docx", "Blocking", (2, 3), 1, dt.date(2026, 1, 1), f"c{n}"
    )


def test_an_answer_survives_json_and_back():
    answer = Answer(
        question="card 4539 1488 0343 6467 lost",
        resolved_question="card lost",
        status=AnswerStatus.ANSWERED,
        confidence=0.91,
        sentences=((Highlighted("Block the card.", ((0, 5),)), citation(1)),),
        steps=(Step("Verify the caller.", "1", 1, "step", citation(1)),),
        passages=(Passage(Highlighted("Block it."), citation(2), 0.5, ChunkKind.PROCEDURE),),
        related=(),
        notices=("conflict",),
        advice=None,
    )

    stored = json.loads(json.dumps(to_plain(answer)))
    assert from_plain(Answer, stored) == answer
    assert from_plain(Turn, to_plain(Turn("user", "hello"))) == Turn("user", "hello")


def test_stored_data_that_does_not_fit_is_refused():
    with pytest.raises(PlainError):
        from_plain(Turn, {"role": "user"})  # text missing, no default
    with pytest.raises(PlainError):
        from_plain(Citation, {**to_plain(citation(1)), "pages": "2"})
    stored = to_plain(Turn("user", "hi"))
    assert from_plain(Turn, {**stored, "unknown": 1}) == Turn("user", "hi")  # newer field
