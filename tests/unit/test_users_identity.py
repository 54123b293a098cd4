"""Mapping an OpenID Connect identity to the bank's own account (role and groups)."""

from __future__ import annotations

from kb.users import UserStore


def test_identity_maps_to_the_account_named_by_its_verified_email(tmp_path):
    users = UserStore(tmp_path / "users.sqlite")
    users.add("ana.li@bank.example", "agent", ("cards-team",))
    users.add("ops-7f3a", "knowledge")
    users.add("gone@bank.example", "agent")
    users.set_disabled("gone@bank.example")

    ana = users.for_identity({"email": "Ana.Li@Bank.example", "email_verified": True, "sub": "x"})
    assert ana is not None and (ana.role, ana.groups) == ("agent", ("cards-team",))
    by_subject = users.for_identity({"sub": "ops-7f3a"})
    assert by_subject is not None and by_subject.role == "knowledge"
    assert users.for_identity({"email": "ana.li@bank.example", "email_verified": False}) is None
    assert users.for_identity({"email": "stranger@bank.example", "sub": "s"}) is None
    assert users.for_identity({"email": "gone@bank.example"}) is None
    users.close()
