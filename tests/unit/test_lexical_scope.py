"""kb.lexical_scope against the join it replaced (kb.lexical.in_scope): for every scope, the
same rows in the same order, on a registry with every kind of version a scope must judge."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from kb import lexical_scope
from kb.lexical import in_scope
from kb.lexical_scope import ChunkOwners
from kb.registry import Registry
from kb.retrieve import Scope
from kb.types import Category

DAYS = [None, "2025-01-01", "2025-06-01", "2026-01-01", "2026-06-01"]
STATUSES = ["current", "current", "superseded", "draft", "rejected", "withdrawn"]
GROUPS = [["everyone"], ["retail"], ["fraud"], ["retail", "fraud"], ["restricted"]]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    """80 documents with 1-3 versions each: statuses, dates, groups, categories and chunk
    languages drawn at random (seeded), written with plain SQL."""
    reg = Registry(Path(tmp_path_factory.mktemp("scope")) / "registry.sqlite")
    rng = np.random.default_rng(5)
    db, now = reg.db, "2026-01-01T00:00:00"
    for d in range(80):
        doc = f"doc-{d:03d}"
        versions = int(rng.integers(1, 4))
        db.execute(
            "INSERT INTO documents(document_id, source_key, title, source_name, format, "
            "language, category, effective_date, expiry_date, groups_json, current_version, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, 'txt', 'en', ?, NULL, NULL, ?, ?, ?, ?)",
            (
                doc,
                doc,
                f"Title {d}",
                f"{doc}.txt",
                str(rng.choice(list(Category))),
                json.dumps(GROUPS[int(rng.integers(len(GROUPS)))]),
                None if d % 9 == 0 else versions,
                now,
                now,
            ),
        )
        for version in range(1, versions + 1):
            db.execute(
                "INSERT INTO versions(document_id, version, content_hash, source_name, format, "
                "status, ingested_at, chunk_count, byte_size, effective_date, expiry_date, "
                "replaced_on) VALUES (?, ?, 'h', 'x.txt', 'txt', ?, ?, 3, 10, ?, ?, ?)",
                (
                    doc,
                    version,
                    STATUSES[int(rng.integers(len(STATUSES)))],
                    now,
                    DAYS[int(rng.integers(len(DAYS)))],
                    DAYS[int(rng.integers(len(DAYS)))],
                    DAYS[int(rng.integers(len(DAYS)))],
                ),
            )
            for position in range(3):
                chunk = f"{doc}:v{version}:{position}"
                db.execute(
                    "INSERT INTO chunks(chunk_id, document_id, version, position, kind, text, "
                    "section_path_json, pages_json, language, content_hash, table_rows_json) "
                    "VALUES (?, ?, ?, ?, 'text', 't', '[]', '[]', ?, 'h', '[]')",
                    (chunk, doc, version, position, ["en", "zh", "mixed"][int(rng.integers(3))]),
                )
    db.commit()
    return reg


def _scopes() -> list[Scope]:
    scopes = []
    for groups in (frozenset({"everyone"}), frozenset({"everyone", "retail"}), frozenset()):
        for day in (dt.date(2025, 3, 1), dt.date(2026, 1, 1), dt.date(2027, 1, 1)):
            for inactive in (False, True):
                for preview in (False, True):
                    scopes.append(Scope(groups | {"everyone"}, None, day, inactive, preview))
    scopes.append(Scope(frozenset({"everyone"}), Category.FAQ, dt.date(2026, 1, 1), False))
    scopes.append(Scope(frozenset({"restricted-reader"}), None, dt.date(2026, 1, 1), True))
    return scopes


@pytest.mark.parametrize("language", [None, "en", "zh", "fr"])
def test_same_rows_in_the_same_order_as_the_join(registry: Registry, language: str | None):
    owners = ChunkOwners(registry.db)
    every = [r[0] for r in registry.db.execute("SELECT chunk_id FROM chunks")]
    rng = np.random.default_rng(len(language or ""))
    candidates = [*rng.choice(every, 150, replace=False).tolist(), "not-a-chunk"]
    checked = 0
    for scope in _scopes():
        condition, params = scope.sql()
        for live in ("v.status = 'current'", "v.status IN ('current', 'draft')"):
            version_condition = f"{live} AND ({condition})"
            joined = in_scope(
                registry.db,
                candidates,
                f"{version_condition} AND (? IS NULL OR c.language = ?)",
                [*params, language, language],
            )
            ours = owners.in_scope(candidates, version_condition, params, language)
            assert ours == [(r[0], r[1]) for r in joined], (scope, live)
            checked += len(ours)
    # The scopes let a fair share through (the comparison means something); no chunk is
    # in French.
    assert checked == 0 if language == "fr" else checked > 100


def test_superseded_condition_and_cache(registry: Registry) -> None:
    """The condition kb.lexical.search_superseded uses (on `d` and `v` only), and a second
    call answered from the cache."""
    owners = ChunkOwners(registry.db)
    every = [r[0] for r in registry.db.execute("SELECT chunk_id FROM chunks")]
    condition, params = Scope(frozenset({"everyone"}), None, dt.date(2026, 1, 1), True).sql(
        versions=False
    )
    superseded = (
        "d.current_version IS NOT NULL AND (v.status = 'superseded' OR (v.status = 'current' "
        f"AND v.replaced_on IS NOT NULL AND v.replaced_on <= ?)) AND ({condition})"
    )
    joined = in_scope(registry.db, every, superseded, ["2026-01-01", *params])
    assert joined
    assert owners.in_scope(every, superseded, ["2026-01-01", *params]) == [tuple(r) for r in joined]
    assert owners.in_scope(every, superseded, ["2026-01-01", *params]) == [tuple(r) for r in joined]
    assert len(owners._allowed) == 1


def _plain(owners: ChunkOwners, condition: str, params: list) -> frozenset[int]:
    """The versions `condition` lets through, judged version by version by SQLite."""
    rows = owners.db.execute(
        "SELECT v.document_id, v.version FROM versions v "
        f"JOIN documents d ON d.document_id = v.document_id WHERE {condition}",
        params,
    ).fetchall()
    return frozenset(owners.versions[(r[0], r[1])] for r in rows if (r[0], r[1]) in owners.versions)


def test_kinds_of_version_get_the_verdicts_of_their_versions(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Judged on one version of each kind (the share limit lifted: this small registry's
    versions are nearly all of different kinds), every scope lets the same versions through
    as the statement over every version; the preview's condition reads `v.document_id` and
    is left to that statement."""
    monkeypatch.setattr(lexical_scope, "_KIND_SHARE", 1.0)
    owners = ChunkOwners(registry.db)
    judged = let_through = 0
    for scope in _scopes():
        condition, params = scope.sql()
        for live in ("v.status = 'current'", "v.status IN ('current', 'draft')"):
            version_condition = f"{live} AND ({condition})"
            by_kind = owners._by_kind(version_condition, params)
            if scope.preview:
                assert by_kind is None
                continue
            assert by_kind == _plain(owners, version_condition, params), (scope, live)
            judged += 1
            let_through += len(by_kind)
    superseded = "d.current_version IS NOT NULL AND v.status = 'superseded'"
    assert owners._by_kind(superseded, []) == _plain(owners, superseded, [])
    assert judged == 40 and let_through > 100


def test_many_kinds_are_left_to_the_statement_over_versions(registry: Registry) -> None:
    owners = ChunkOwners(registry.db)
    kinds, _ = owners.kinds()
    assert len(kinds) > lexical_scope._KIND_SHARE * len(owners.versions)
    assert owners._by_kind("v.status = 'current'", []) is None
