"""The access rule (kb.access): its invariants over random users and documents, its SQL form
agreeing with it, every Services method classified, and content shown as text."""

from __future__ import annotations

import inspect
import json
import re
import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kb.access import (
    NOT_READ_PATHS,
    OPERATOR,
    PERMISSION_ROLES,
    READ_PATHS,
    RESTRICTED_READER,
    Reader,
    access_groups,
    can_read,
    readable_sql,
)
from kb.render import literal_markdown
from kb.services import Services
from kb.types import EVERYONE
from kb.users import ROLES, User

GROUPS = ["fraud-team", "complaints-team", "cards-team", "unclassified", RESTRICTED_READER]
roles = st.sampled_from(ROLES)
user_groups = st.lists(st.sampled_from(GROUPS), max_size=4).map(tuple)
document_groups = st.lists(
    st.sampled_from([EVERYONE, *GROUPS[:-1]]), min_size=1, max_size=3, unique=True
).map(tuple)


def expected(role: str, groups: tuple[str, ...], documents: tuple[str, ...]) -> bool:
    """The rule in words: everyone's documents; a group in common; or the explicit
    permission, for the roles it counts for. Nothing else, whatever the role."""
    return (
        EVERYONE in documents
        or bool(set(groups) & set(documents))
        or (RESTRICTED_READER in groups and role in PERMISSION_ROLES)
    )


@given(roles, user_groups, document_groups)
def test_a_document_is_readable_iff_public_shared_group_or_explicit_permission(
    role, groups, documents
):
    reader = Reader.of(User("someone", role, groups))
    assert reader.can_read(documents) == expected(role, groups, documents)
    assert can_read(access_groups(role, groups), documents) == expected(role, groups, documents)


@given(user_groups, document_groups)
def test_the_role_alone_never_grants_reading(groups, documents):
    """Without the permission every role reads exactly the same documents: the knowledge
    team and administrators are not implied readers of restricted documents."""
    plain = tuple(g for g in groups if g != RESTRICTED_READER)
    assert len({Reader.of(User("x", role, plain)).can_read(documents) for role in ROLES}) == 1


@given(roles, user_groups, document_groups, document_groups)
def test_more_groups_never_read_less(role, groups, documents, more):
    if Reader.of(User("x", role, groups)).can_read(documents):
        assert Reader.of(User("x", role, (*groups, *more))).can_read(documents)


@given(roles, user_groups, st.lists(document_groups, min_size=1, max_size=6))
def test_the_sql_form_agrees_with_the_rule(role, groups, documents):
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE documents (document_id TEXT, groups_json TEXT)")
    db.executemany(
        "INSERT INTO documents VALUES (?, ?)",
        [(f"d{i}", json.dumps(list(g))) for i, g in enumerate(documents)],
    )
    held = access_groups(role, groups)
    condition, params = readable_sql(held)
    found = {
        r[0] for r in db.execute(f"SELECT document_id FROM documents d WHERE {condition}", params)
    }
    assert found == {f"d{i}" for i, g in enumerate(documents) if can_read(held, g)}


@pytest.mark.security
def test_the_restricted_reader_group_is_ignored_for_agents_trainers_and_integrations():
    """Attack: an agent, trainer or integration account is given the restricted-reader group; it must read no restricted document."""
    from kb.tokens import IntegrationAccount

    restricted = ("fraud-team",)
    for role in ("agent", "trainer"):
        assert not Reader.of(User("x", role, (RESTRICTED_READER,))).can_read(restricted)
        assert RESTRICTED_READER not in User("x", role, (RESTRICTED_READER,)).access_groups
    robot = IntegrationAccount("id", "bot", "chatbot", (RESTRICTED_READER,), 60, "now")
    assert RESTRICTED_READER not in robot.access_groups
    assert Reader.of(User("k", "knowledge", (RESTRICTED_READER,))).can_read(restricted)
    assert OPERATOR.can_read(restricted)


def test_every_public_services_method_is_classified():
    """A new Services method must say whether it reads documents and how the rule applies:
    it fails here until it is listed in kb.access.READ_PATHS or NOT_READ_PATHS."""
    public = {
        name
        for name, member in inspect.getmembers(Services)
        if not name.startswith("_") and callable(member)
    }
    listed = set(READ_PATHS) | set(NOT_READ_PATHS)
    assert public - listed == set(), "classify these in kb.access"
    assert listed - public == set(), "no longer Services methods"
    assert not set(READ_PATHS) & set(NOT_READ_PATHS)


def test_read_paths_that_take_a_reader_cannot_be_called_without_one():
    for name, how in READ_PATHS.items():
        if how.startswith("reader:"):
            parameter = inspect.signature(getattr(Services, name)).parameters["reader"]
            assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, name
            assert parameter.default is inspect.Parameter.empty, name  # no open default


# ---------------------------------------------------------------- content shown as text

ATTACK = "see [click here](https://evil.example) ![x](https://tracker.example/p.png)"


def test_links_and_images_in_content_are_escaped():
    assert literal_markdown(ATTACK) == (
        "see \\[click here\\](https\\://evil.example) !\\[x\\](https\\://tracker.example/p.png)"
    )


def unescaped(shown: str) -> str:
    """The characters of `shown` that are not backslash-escaped."""
    kept, i = [], 0
    while i < len(shown):
        if shown[i] == "\\":
            i += 2
            continue
        kept.append(shown[i])
        i += 1
    return "".join(kept)


@given(st.text(max_size=200))
def test_no_markup_survives_escaping(text):
    """Whatever the content, no character that starts markup is left unescaped: none of
    these anywhere, no list, heading or rule at a line's start."""
    shown = literal_markdown(text)
    assert not set(unescaped(shown)) & set("[]<*_`#|~$:@&{}"), (text, shown)
    for line in shown.split("\n"):
        start = line.lstrip(" \t")
        assert not re.match(r"[-+=>]|\d+[.)]", start), (text, shown)
    assert not re.search(r"(?i)www\.", shown)


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://intranet.bank.example/cards", True),
        ("https://docs.intranet.bank.example/a?b=1#c", True),
        ("https://evil.example", False),
        ("https://bank.example.evil.example/", False),
        ("https://intranet.bank.example@evil.example/", False),
        ("https://evil.example\\@intranet.bank.example", False),
        ("javascript:alert(1)//intranet.bank.example", False),
    ],
)
def test_only_links_to_allowed_hosts_stay_links(url, kept):
    shown = literal_markdown(f"[open]({url})", ["intranet.bank.example"])
    assert (shown == f"[open]({url})") is kept


def test_an_allowed_image_becomes_a_link_never_an_image():
    shown = literal_markdown("![p](https://intranet.bank.example/p.png)", ["intranet.bank.example"])
    assert shown == "[p](https://intranet.bank.example/p.png)"
