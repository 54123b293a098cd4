"""kb.pg_version_kinds: a scope condition judged on the kinds of version passes exactly the
versions it passes when run over every version, and only at the generation it was read at.

The base of test_lexical_pg_cut (1,200 generated chunks) in PostgreSQL, with one document's
groups and dates changed so that the kinds differ in what the conditions read.
"""

from __future__ import annotations

import pytest

from kb import lexical_pg_postings
from kb.access import readable_sql
from kb.lexical import LexicalIndex, tokenize
from kb.pg_version_kinds import KindsByBase, VersionKinds
from kb.registry import Registry
from kb.types import EVERYONE
from tests.conftest import drop_postgres, postgres_settings
from tests.integration.test_lexical_pg_cut import _fill

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def registry(tmp_path_factory, database_url):
    settings = postgres_settings(tmp_path_factory.mktemp("kinds"), database_url)
    registry = Registry(settings.registry_path)
    _fill(registry)
    with registry.transaction():
        registry.db.execute(
            "UPDATE documents SET groups_json = '[\"fraud-team\"]' WHERE document_id = 'doc-02'"
        )
        registry.db.execute(
            "UPDATE versions SET expiry_date = '2026-03-01' WHERE document_id = 'doc-03'"
        )
        registry.set_index_generation(registry.index_generation() + 1)
    yield registry
    registry.close()
    drop_postgres(settings)


def _over_versions(db, condition: str, params: list[object]) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    rows = db.execute(
        "SELECT v.document_id, v.version FROM versions v "
        f"JOIN documents d ON d.document_id = v.document_id WHERE {condition}",
        params,
    ).fetchall()
    return sorted((r[0], int(r[1])) for r in rows)


@pytest.mark.parametrize("groups", [(EVERYONE,), (EVERYONE, "fraud-team")])
def test_kinds_pass_what_the_versions_pass(registry, groups) -> None:
    db = registry.db
    generation = registry.index_generation()
    readable, params = readable_sql(groups)
    kinds = KindsByBase()
    assert len(VersionKinds.read(db).values) < len(_over_versions(db, "1 = 1", []))
    for condition, bound in [
        (readable, params),
        (f"{readable} AND v.status = 'current' AND d.category = ?", [*params, "procedure"]),
        (
            f"{readable} AND (v.expiry_date IS NULL OR v.expiry_date >= ?) "
            "AND (v.replaced_on IS NULL OR v.replaced_on > ?)",
            [*params, "2026-06-01", "2026-06-01"],
        ),
        (f"d.current_version IS NOT NULL AND NOT ({readable})", params),
    ]:
        found = kinds.passing(db, generation, condition, bound)
        assert found is not None
        assert sorted(zip(*found, strict=True)) == _over_versions(db, condition, bound)
    assert kinds.passing(db, generation, "v.document_id = ?", ["doc-01"]) is None  # not a kind
    assert kinds.passing(db, generation + 1, readable, params) is None  # not there yet


def test_the_lexical_scope_masks_are_judged_by_kind(registry, monkeypatch) -> None:
    """ScopeMasks asks the kinds, and its searches give what the SQL join gives."""
    asked: list[str] = []
    kinds = KindsByBase()
    passing = kinds.passing

    def recording(db, generation, condition, params, changes=None):  # type: ignore[no-untyped-def]
        asked.append(condition)
        return passing(db, generation, condition, params, changes)

    monkeypatch.setattr(kinds, "passing", recording)
    monkeypatch.setattr(lexical_pg_postings, "KINDS", kinds)
    memory, sql = LexicalIndex(registry.db), LexicalIndex(registry.db)
    sql.mirrored = False
    condition, params = readable_sql((EVERYONE,))
    tokens = tokenize("branch card note")
    assert memory.search(tokens, 50, condition, params) == sql.search(tokens, 50, condition, params)
    assert asked
