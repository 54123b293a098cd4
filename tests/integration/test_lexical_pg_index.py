"""The lexical GIN index of a new PostgreSQL registry writes its entries at once
(`fastupdate = off`, kb.lexical_pg.GIN_INDEX): no pending list for every search to read."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.registry import Registry
from tests.conftest import drop_postgres, postgres_settings

pytestmark = pytest.mark.integration


def test_the_gin_index_has_no_pending_list(tmp_path: Path, database_url: str) -> None:
    settings = postgres_settings(tmp_path / "pg", database_url)
    registry = Registry(settings.registry_path)
    try:
        registry.add_terms([("doc:v1:0", "lost card block"), ("doc:v1:1", "card limit")])
        (options,) = registry.db.execute(
            "SELECT c.reloptions FROM pg_class c WHERE c.oid = to_regclass('chunk_terms_tsv')"
        ).fetchone()
        assert options is not None and "fastupdate=off" in options
        (found,) = registry.db.execute(
            "SELECT count(*) FROM chunk_terms WHERE tsv @@ to_tsquery('simple', 'card')"
        ).fetchone()
        assert found == 2  # the index finds what was just written
    finally:
        registry.close()
        drop_postgres(settings)
