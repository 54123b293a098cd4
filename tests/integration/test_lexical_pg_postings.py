"""The in-memory copy of PostgreSQL's lexical postings (kb.lexical_pg_postings) ranks as the
SQL scores, to the bit, and is used only for the state it was read from.

The base of test_lexical_pg_cut (1,200 generated chunks, common and rare words, lengths that
vary) in PostgreSQL, plus SQLite's FTS5 for the same rows where a test compares with it.
"""

from __future__ import annotations

import datetime as dt

import pytest

from kb import lexical_pg_postings
from kb.access import readable_sql
from kb.config import Settings
from kb.lexical import LexicalIndex, tokenize
from kb.lexical_pg_postings import PgPostings
from kb.registry import Registry
from kb.types import EVERYONE, Category, Chunk, ChunkKind, DocumentInfo
from tests.conftest import drop_postgres, postgres_settings
from tests.integration.test_lexical_pg_cut import QUESTIONS, _fill

pytestmark = pytest.mark.integration

MORE = (*QUESTIONS, "note note card", "account branch", "lost limit note zebra quokka")


@pytest.fixture(scope="module")
def both(tmp_path_factory, database_url):
    root = tmp_path_factory.mktemp("postings")
    postgres = postgres_settings(root / "pg", database_url)
    registries = [Registry(Settings(data_dir=root / "local").registry_path)]
    registries.append(Registry(postgres.registry_path))
    for registry in registries:
        _fill(registry)
    yield registries
    for registry in registries:
        registry.close()
    drop_postgres(postgres)


def _add(registry: Registry, document_id: str, texts: list[str]) -> None:
    document = DocumentInfo(
        document_id=document_id,
        version=1,
        title=document_id,
        source_name=f"{document_id}.md",
        format="md",
        language="en",
        category=Category.PROCEDURE,
        effective_date=dt.date(2026, 1, 1),
        expiry_date=None,
        groups=(EVERYONE,),
    )
    chunks = [
        Chunk(
            chunk_id=f"{document_id}:v1:{n:03d}",
            document=document,
            position=n,
            kind=ChunkKind.TEXT,
            text=text,
            section_path=(document.title,),
            pages=(1,),
            language="en",
            content_hash=f"{document_id}-{n}",
        )
        for n, text in enumerate(texts)
    ]
    with registry.transaction():
        registry.upsert_document(document, document.document_id)
        registry.add_version(
            document,
            f"hash-{document_id}",
            chunks,
            page_count=1,
            byte_size=1,
            original_path=f"{document_id}.md",
            today=dt.date(2026, 6, 1),
        )
        registry.add_terms([(c.chunk_id, " ".join(tokenize(c.text))) for c in chunks])


def test_the_copy_scores_as_the_sql_to_the_bit(both) -> None:
    """Every question's 400 best by the copy equal the SQL's exhaustive scoring: the same
    chunks, the same order (equal scores by chunk id), the same floats."""
    postgres = LexicalIndex(both[1].db)
    postgres.prune = False  # the SQL scores every chunk holding a question word
    postings = PgPostings.read(both[1].db)
    for question in MORE:
        unique = list(dict.fromkeys(tokenize(question)))
        changes, chunks, frequencies = postgres._statistics(unique)
        assert postings.changes == changes and postings.chunks == chunks
        expected = postgres._best(unique, chunks, frequencies)
        assert len(expected) == 400, question
        assert postings.top(frequencies, 400) == expected, question


def test_searches_use_the_copy_and_rank_as_fts5(both) -> None:
    local, postgres = (LexicalIndex(r.db) for r in both)
    condition, params = readable_sql((EVERYONE, "fraud-team"))
    for question in MORE:
        expected = local.search(tokenize(question), 10, condition, params)
        got = postgres.search(tokenize(question), 10, condition, params)
        assert [c for c, _ in got] == [c for c, _ in expected], question
        assert [s for _, s in got] == pytest.approx([s for _, s in expected], rel=1e-9)
    changes = postgres._statistics(["card"])[0]
    assert postgres.mirror._postings is not None
    assert postgres.mirror._postings.changes == changes  # built by the first search


def test_a_change_is_searched_in_its_new_state(both, monkeypatch) -> None:
    """After an ingest the copy of the old state is not used: the new chunk is found at
    once, in SQL while the new copy is built on its own thread, then from the new copy."""
    monkeypatch.setattr(lexical_pg_postings, "SYNC_CHUNKS", 0)  # build on the thread
    postgres = LexicalIndex(both[1].db)
    condition, params = readable_sql((EVERYONE,))
    tokens = tokenize("wombat card")
    assert postgres.search(tokens, 5, condition, params) != []  # "card" only
    postgres.mirror.wait()
    before = postgres.mirror._postings
    assert before is not None and "wombat" not in before.terms
    _add(both[1], "doc-new", ["wombat card wombat", "wombat"])
    found = postgres.search(tokens, 2, condition, params)
    assert [c for c, _ in found] == ["doc-new:v1:000", "doc-new:v1:001"]
    postgres.mirror.wait()
    after = postgres.mirror._postings
    assert after is not None and after.changes > before.changes and "wombat" in after.terms
    postgres._cache.clear()
    assert postgres.search(tokens, 2, condition, params) == found
    postgres.mirrored = False
    postgres._cache.clear()
    assert postgres.search(tokens, 2, condition, params) == found


@pytest.mark.parametrize("groups", [(EVERYONE,), (EVERYONE, "fraud-team")])
def test_scope_verdicts_from_memory_equal_the_sql(both, groups) -> None:
    """search, search_superseded and readable through the copy and the scope's verdicts on
    versions give what the SQL join gives (the fraud-team's documents hold some rare words
    only, so `readable` differs by groups)."""
    memory, sql = LexicalIndex(both[1].db), LexicalIndex(both[1].db)
    sql.mirrored = False
    condition, params = readable_sql(groups)
    words = tokenize("zebra quokka ombudsman chargeback escrow dormant sanction card wombat")
    assert memory.readable(words, condition, params) == sql.readable(words, condition, params)
    assert memory.mirror._postings is not None  # the copy answered
    for question in MORE:
        tokens = tokenize(question)
        for language in (None, "en", "zh"):
            expected = sql.search(tokens, 50, condition, params, language=language)
            assert memory.search(tokens, 50, condition, params, language=language) == expected
        assert memory.search_superseded(tokens, 20, condition, params) == sql.search_superseded(
            tokens, 20, condition, params
        )


def test_a_new_generation_is_judged_again(both) -> None:
    """A version's status changes without any term changing (as a publication does): the
    registry's generation ticks and the verdicts are read again, so the retired version's
    chunks leave the results at once."""
    registry = both[1]
    memory = LexicalIndex(registry.db)
    condition, params = readable_sql((EVERYONE,))
    tokens = tokenize("branch card")
    before = memory.search(tokens, 400, condition, params)
    assert any(c.startswith("doc-01:") for c, _ in before)
    generation = registry.index_generation()
    with registry.transaction():
        registry.db.execute(
            "UPDATE versions SET status = 'superseded' WHERE document_id = 'doc-01'"
        )
        registry.set_index_generation(generation + 1)
    try:
        after = memory.search(tokens, 400, condition, params)
        assert after and not any(c.startswith("doc-01:") for c, _ in after)
        assert "doc-01:v1:001" not in {c for c, _ in after}
        superseded = memory.search_superseded(tokens, 400, condition, params)
        assert any(c.startswith("doc-01:") for c, _, _ in superseded)
    finally:
        with registry.transaction():
            registry.db.execute(
                "UPDATE versions SET status = 'current' WHERE document_id = 'doc-01'"
            )
            registry.set_index_generation(generation + 2)
