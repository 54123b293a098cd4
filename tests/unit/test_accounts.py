"""Accounts that resist attack (issue 12): one password policy on every path, lock-out with
back-off that cannot lock the administrator out, demo accounts only on purpose, and files
holding secrets readable by their owner only."""

from __future__ import annotations

import os
import sqlite3
import stat

import pytest

from kb.errors import KBError
from kb.users import UserStore

security = pytest.mark.security


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def users(tmp_path):
    store = UserStore(tmp_path / "users.sqlite")
    yield store
    store.close()


def cli(tmp_path, monkeypatch, *argv: str) -> int:
    from kb.cli import main

    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path / "kb"))
    return main(list(argv))


# ---------------------------------------------------------------- password policy


@security
def test_the_cli_refuses_an_admin_with_a_one_character_password(tmp_path, monkeypatch, capsys):
    """Attack: `kb users add root --role admin --password x` creates an admin with password "x"."""
    assert cli(tmp_path, monkeypatch, "users", "add", "root", "--role", "admin", "--password", "x")
    assert "at least 12 characters" in capsys.readouterr().err
    store = UserStore(tmp_path / "kb" / "users.sqlite")
    assert store.list() == [] and store.authenticate("root", "x") is None
    store.close()


@security
def test_an_account_cannot_get_an_empty_password(users):
    """Attack: create an account whose password is the empty string, then sign in with it."""
    with pytest.raises(KBError, match="at least 12 characters"):
        users.add("eve", "admin", password="")
    assert users.authenticate("eve", "") is None


@security
@pytest.mark.parametrize(
    ("name", "password"),
    [
        ("root", "Password123!"),
        ("root", "passwordpassword"),
        ("root", "qwertyuiop12"),
        ("root", "P@ssw0rd2026!"),
        ("root", "123456789012"),
        ("root", "aaaaaaaaaaaaaaaa"),
        ("mlopez", "mlopez-2026-bank"),
        ("mlopez", "MLOPEZmlopez!!"),
    ],
)
def test_common_and_name_based_passwords_are_refused(users, name, password):
    """Attack: set a password from the top of every cracking list, or the user name padded."""
    users.add(name, "agent")
    with pytest.raises(KBError, match=r"common|user name|digits|repeated"):
        users.set_password(name, password)
    assert users.authenticate(name, password) is None


def test_a_sound_passphrase_and_a_passwordless_account_are_accepted(users):
    users.add("ana", "agent", password="correct horse battery")
    assert users.authenticate("ana", "correct horse battery") is not None
    sso = users.add("li.na@bank.example", "agent")  # identity-provider sign-in only
    assert sso.name == "li.na@bank.example"
    assert users.authenticate("li.na@bank.example", "") is None


def test_the_policy_message_says_what_to_do(users):
    with pytest.raises(KBError) as refused:
        users.add("ana", "agent", password="short")
    assert "at least 12 characters (this one has 5)" in str(refused.value)


# ---------------------------------------------------------------- lock-out


@security
def test_fifty_wrong_passwords_then_the_right_one_does_not_sign_in(users):
    """Attack: 50 wrong passwords in a row, then the right one, from the same browser."""
    users.add("ana", "agent", password="correct horse battery")
    for attempt in range(50):
        assert users.authenticate("ana", f"guess number {attempt}") is None
    assert users.authenticate("ana", "correct horse battery") is None


@security
def test_guessing_cannot_lock_the_administrator_out(users):
    """Attack: guess the admin's password from one machine to lock the real admin out."""
    users.add("root", "admin", password="a long admin passphrase")
    for attempt in range(50):
        assert users.authenticate("root", f"guess {attempt}", "10.0.0.66") is None
    assert users.authenticate("root", "a long admin passphrase", "10.0.0.66") is None
    signed_in = users.authenticate("root", "a long admin passphrase", "10.0.0.7")
    assert signed_in is not None and signed_in.role == "admin"
    assert users.locked_until("root") is not None
    assert users.unlock("root") >= 1
    assert users.authenticate("root", "a long admin passphrase", "10.0.0.66") is not None


def test_the_back_off_grows_and_ends(tmp_path):
    clock = Clock()
    users = UserStore(tmp_path / "users.sqlite", clock=clock)
    users.add("ana", "agent", password="correct horse battery")
    results = [users.sign_in("ana", "wrong guess!", "b") for _ in range(5)]
    assert [r.just_locked for r in results] == [False] * 4 + [True]
    assert results[-1].locked_until == clock.now + 30
    refused = users.sign_in("ana", "correct horse battery", "b")
    assert refused.user is None and refused.locked_until == clock.now + 30
    clock.now += 31
    sixth = users.sign_in("ana", "wrong again!", "b")
    assert sixth.just_locked and sixth.locked_until == clock.now + 60  # doubled
    clock.now += 61
    assert users.authenticate("ana", "correct horse battery", "b") is not None
    assert users.sign_in("ana", "wrong once more", "b").failures == 1  # success reset it
    for _ in range(20):
        clock.now += 10_000
        last = users.sign_in("ana", "wrong", "b")
    assert last.locked_until == clock.now + 900  # capped at 15 minutes
    users.close()


def test_unknown_names_are_locked_alike_and_never_stored(users):
    users.add("ana", "agent", password="correct horse battery")
    for _ in range(5):
        unknown = users.sign_in("4539 1488 0343 6467", "whatever it is", "b")
    assert not unknown.known and unknown.just_locked
    stored = " ".join(
        str(tuple(r)) for r in users.db.execute("SELECT * FROM sign_in_failures").fetchall()
    )
    assert "4539" not in stored


def test_parallel_guesses_all_count(users):
    from concurrent.futures import ThreadPoolExecutor

    users.add("ana", "agent", password="correct horse battery")
    with ThreadPoolExecutor(8) as pool:
        guesses = ["correct horse battery" if i == 20 else f"guess {i}" for i in range(21)]
        results = list(pool.map(lambda g: users.authenticate("ana", g, "b"), guesses))
    assert results[20] is None  # the 21st attempt was past the limit, even in parallel


# ---------------------------------------------------------------- demo accounts, files


@security
def test_demo_accounts_are_off_unless_asked_for(tmp_path, monkeypatch, capsys):
    """Attack: `kb users demo` on a default install creates an admin with a published password."""
    from kb.config import Settings

    monkeypatch.delenv("KB_DEMO_USERS", raising=False)
    assert Settings().demo_users is False
    assert cli(tmp_path, monkeypatch, "users", "demo") == 1
    assert "KB_DEMO_USERS=true" in capsys.readouterr().err
    monkeypatch.setenv("KB_DEMO_USERS", "true")
    assert cli(tmp_path, monkeypatch, "users", "demo") == 0
    shown = capsys.readouterr().out
    assert "admin-demo" not in shown and "password" in shown


@security
def test_demo_accounts_go_when_the_flag_is_off(tmp_path, monkeypatch, capsys):
    """Attack: sign in as admin/admin-demo after the bank has set KB_DEMO_USERS=false."""
    from argon2 import PasswordHasher

    path = tmp_path / "kb" / "users.sqlite"
    monkeypatch.setenv("KB_DEMO_USERS", "true")
    assert cli(tmp_path, monkeypatch, "users", "demo") == 0
    password = (
        capsys.readouterr().out.split("added demo user agent (agent), password ")[1].split()[0]
    )
    # ...and an account an earlier version made with the published password
    legacy = sqlite3.connect(path)
    legacy.execute(
        "UPDATE users SET password_hash = ?, demo = 0 WHERE name = 'admin'",
        (PasswordHasher().hash("admin-demo"),),
    )
    legacy.commit()
    legacy.close()
    assert cli(tmp_path, monkeypatch, "users", "add", "ana", "--password", "correct horse 9") == 0
    monkeypatch.setenv("KB_DEMO_USERS", "false")
    assert cli(tmp_path, monkeypatch, "users", "list") == 0
    listed = capsys.readouterr().out
    assert "ana" in listed and "admin" not in listed and "knowledge" not in listed
    store = UserStore(path)
    assert store.authenticate("admin", "admin-demo") is None
    assert store.authenticate("agent", password) is None
    assert store.authenticate("ana", "correct horse 9") is not None
    store.close()


@security
def test_files_holding_secrets_are_owner_only(tmp_path, monkeypatch):
    """Attack: read users.sqlite / tokens.sqlite / the audit key as another local user."""
    from kb.audit import AuditLog
    from kb.tokens import TokenStore

    old = os.umask(0o022)
    try:
        users = UserStore(tmp_path / "kb" / "users.sqlite")
        users.add("ana", "agent", password="correct horse battery")
        tokens = TokenStore(tmp_path / "kb" / "tokens.sqlite")
        tokens.create("bridge", "assist")
        audit = AuditLog(tmp_path / "kb" / "audit.sqlite")
        audit.record("ana", "sign_in")
    finally:
        os.umask(old)
    for secret in (
        tmp_path / "kb" / "users.sqlite",
        tmp_path / "kb" / "users.sqlite-wal",
        tmp_path / "kb" / "tokens.sqlite",
        tmp_path / "kb.audit-key",
    ):
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600, secret
    users.close()
    tokens.close()
    audit.close()


def test_an_existing_secrets_file_is_narrowed(tmp_path):
    path = tmp_path / "users.sqlite"
    path.touch(mode=0o644)
    path.chmod(0o644)
    UserStore(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# ---------------------------------------------------------------- both backends


def test_accounts_sign_in_lock_out_and_disable_on_both_backends(backend_settings):
    """The same store on SQLite and PostgreSQL: add, sign in, guesses sent to two replicas at
    once all count against one limit, unlock, disable. Lean: eight argon2 runs per backend."""
    from concurrent.futures import ThreadPoolExecutor

    clock = Clock()
    users = UserStore(backend_settings.users_path, clock=clock)
    replica = UserStore(backend_settings.users_path, clock=clock)  # another process's store
    try:
        ana = users.add("ana", "agent", ("cards-team",), password="correct horse battery")
        assert ana == replica.get("ana") and ana.access_groups == ("everyone", "cards-team")
        with pytest.raises(KBError, match="already exists"):
            replica.add("ana", "admin")
        users.add("li.na@bank.example", "knowledge")  # identity-provider sign-in only
        assert [u.name for u in replica.list()] == ["ana", "li.na@bank.example"]
        assert users.update("ana", groups=("fraud-team",)).groups == ("fraud-team",)
        assert users.for_identity({"email": "LI.NA@bank.example"}).role == "knowledge"
        assert users.sign_in("ana", "correct horse battery", "a").user.name == "ana"

        stores = [users, replica] * 3
        with ThreadPoolExecutor(2) as pool:
            guesses = list(pool.map(lambda s: s.sign_in("ana", "a wrong guess", "b"), stores[:5]))
        assert sorted(g.failures for g in guesses) == [1, 2, 3, 4, 5]  # none lost
        assert [g.just_locked for g in guesses if g.failures == 5] == [True]
        refused = replica.sign_in("ana", "correct horse battery", "b")  # refused unread
        assert (refused.user, refused.locked_until) == (None, clock.now + 30)
        assert users.locked_until("ana") == clock.now + 30
        assert replica.unlock("ana") == 1 and users.locked_until("ana") is None

        users.set_disabled("ana")
        assert replica.sign_in("ana", "correct horse battery", "a").user is None
        assert users.demo_accounts() == [] and users.remove_demo_accounts() == []
    finally:
        users.close()
        replica.close()


def test_integration_tokens_on_both_backends(backend_settings):
    """A token made through one replica works on another; revoked through either, it is
    refused by both at once although each remembers having verified it."""
    from kb.tokens import InvalidTokenError, TokenStore

    tokens = TokenStore(backend_settings.data_dir / "tokens.sqlite")
    replica = TokenStore(backend_settings.data_dir / "tokens.sqlite")
    try:
        bridge, token = tokens.create("bridge", "assist", ("cards-team",), rate_per_minute=30)
        assert (bridge.rate_per_minute, bridge.revoked) == (30, False)
        with pytest.raises(KBError, match="already exists"):
            replica.create("bridge", "rpa")
        assert replica.authenticate(token) == bridge == tokens.authenticate(token)
        assert [a.name for a in replica.list()] == ["bridge"]
        assert replica.revoke("bridge").revoked
        for store in (tokens, replica):
            with pytest.raises(InvalidTokenError):
                store.authenticate(token)
        with pytest.raises(InvalidTokenError):
            tokens.authenticate(token.replace("kbt_", "kbx_"))
    finally:
        tokens.close()
        replica.close()
