"""kb.lexical_pg's max-score cut returns FTS5's ranking when common words match most chunks.

One module-scoped base of 1,200 generated chunks, the same rows in SQLite and PostgreSQL:
common words ("card" in half the chunks, "transfer" in a third) beside rare ones, so a
question's best 400 can be found from its rare words first. Each question is asked with
candidate budgets that take the cut through one pass, two passes and no cut at all.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kb import lexical_pg
from kb.access import readable_sql
from kb.config import Settings
from kb.lexical import LexicalIndex, tokenize
from kb.registry import Registry
from kb.types import EVERYONE, Category, Chunk, ChunkKind, DocumentInfo
from tests.conftest import drop_postgres, postgres_settings

pytestmark = pytest.mark.integration

RARE = ("zebra", "quokka", "ombudsman", "chargeback", "escrow", "dormant", "sanction")
QUESTIONS = (
    "card zebra",
    "lost card transfer quokka limit",
    "card transfer limit",
    "dormant escrow card card",
    "chargeback ombudsman transfer sanction",
    "transfer",
)


def _text(n: int) -> str:
    words = ["card"] * (1 + n % 3) if n % 2 == 0 else ["account"]
    if n % 3 == 0:
        words.append("transfer")
    if n % 5 == 0:
        words.append("limit")
    if n % 7 == 0:
        words.append("lost")
    words.append(RARE[n % len(RARE)] if n % 4 == 1 else "branch")
    words.extend(["note"] * (n % 11))  # lengths vary, so BM25's length term matters
    return " ".join(words) + "."


def _fill(registry: Registry) -> None:
    for d in range(12):
        document = DocumentInfo(
            document_id=f"doc-{d:02d}",
            version=1,
            title=f"Document {d}",
            source_name=f"doc-{d:02d}.md",
            format="md",
            language="en",
            category=Category.PROCEDURE,
            effective_date=dt.date(2026, 1, 1),
            expiry_date=None,
            groups=(EVERYONE,) if d % 3 else ("fraud-team",),
        )
        chunks = [
            Chunk(
                chunk_id=f"doc-{d:02d}:v1:{n:03d}",
                document=document,
                position=n,
                kind=ChunkKind.TEXT,
                text=_text(d * 100 + n),
                section_path=(document.title,),
                pages=(1,),
                language="en",
                content_hash=f"doc-{d}-{n}",
            )
            for n in range(100)
        ]
        with registry.transaction():
            registry.upsert_document(document, document.document_id)
            registry.add_version(
                document,
                f"hash-{d}",
                chunks,
                page_count=1,
                byte_size=1,
                original_path=f"doc-{d}.md",
                today=dt.date(2026, 6, 1),
            )
            registry.add_terms([(c.chunk_id, " ".join(tokenize(c.text))) for c in chunks])


@pytest.fixture(scope="module")
def both(tmp_path_factory, database_url):
    root: Path = tmp_path_factory.mktemp("cut")
    postgres = postgres_settings(root / "pg", database_url)
    registries = [Registry(Settings(data_dir=root / "local").registry_path)]
    registries.append(Registry(postgres.registry_path))
    for registry in registries:
        _fill(registry)
    yield registries
    for registry in registries:
        registry.close()
    drop_postgres(postgres)


@pytest.mark.parametrize("budget", [1, 300, 1500])
@pytest.mark.parametrize("groups", [(EVERYONE,), (EVERYONE, "fraud-team")])
def test_the_cut_ranks_as_fts5(both, monkeypatch, budget, groups) -> None:
    monkeypatch.setattr(lexical_pg, "CANDIDATE_BUDGET", budget)
    local, postgres = (LexicalIndex(r.db) for r in both)
    postgres.mirrored = False  # the SQL's cut, not the in-memory postings (their own test)
    condition, params = readable_sql(groups)
    for question in QUESTIONS:
        expected = local.search(tokenize(question), 10, condition, params)
        got = postgres.search(tokenize(question), 10, condition, params)
        assert expected, question
        assert [c for c, _ in got] == [c for c, _ in expected], (question, budget)
        assert [s for _, s in got] == pytest.approx([s for _, s in expected], rel=1e-9)


@pytest.mark.parametrize("candidates", [40, 400])
@pytest.mark.parametrize("budget", [1, 100, 300])
def test_the_cut_keeps_every_candidate_of_the_exhaustive_list(
    both, monkeypatch, candidates, budget
) -> None:
    """The whole list the filters run on (its length lowered, so at this size the cut
    decides which chunks are fetched), equal to scoring every match."""
    monkeypatch.setattr(lexical_pg, "CANDIDATE_BUDGET", budget)
    monkeypatch.setattr(lexical_pg, "_CANDIDATES", candidates)
    monkeypatch.setattr(lexical_pg, "SCORED_LIMIT", 10**9)  # exact: no cap on the second pass
    postgres = LexicalIndex(both[1].db)
    for question in QUESTIONS:
        unique = list(dict.fromkeys(tokenize(question)))
        _, chunks, frequencies = postgres._statistics(unique)
        postgres.prune = True
        cut = postgres._best(unique, chunks, frequencies)
        postgres.prune = False
        assert cut == postgres._best(unique, chunks, frequencies), question


def test_the_cut_scores_fewer_chunks_than_every_match(both, monkeypatch) -> None:
    """ "transfer" (400 chunks) is scored first; "card" (600 of 1,200 chunks) can add almost
    nothing (its IDF is at FTS5's floor), so the first pass settles the best 400 exactly
    without fetching the card chunks."""
    monkeypatch.setattr(lexical_pg, "CANDIDATE_BUDGET", 500)
    postgres = LexicalIndex(both[1].db)
    unique = tokenize("card transfer")
    _, chunks, frequencies = postgres._statistics(unique)
    assert frequencies == {"card": 600, "transfer": 400}
    scored: list[list[str]] = []
    original = postgres._scored

    def counting(unique_terms, matching):  # type: ignore[no-untyped-def]
        scored.append(list(matching))
        return original(unique_terms, matching)

    postgres._scored = counting
    best = postgres._best(list(unique), chunks, frequencies)
    assert scored == [["transfer"]] and len(best) == 400
    postgres.prune = False
    assert best == postgres._best(list(unique), chunks, frequencies)
    assert scored[-1] == ["transfer", "card"]


def test_past_the_limit_only_the_rarest_terms_chunks_are_scored(both, monkeypatch) -> None:
    """ "limit" (240 chunks) fits a limit of 500, "transfer" (400) would not: the list is the
    limit chunks, each with its exact score on all three words, and no chunk without it."""
    monkeypatch.setattr(lexical_pg, "CANDIDATE_BUDGET", 500)
    monkeypatch.setattr(lexical_pg, "SCORED_LIMIT", 500)
    postgres = LexicalIndex(both[1].db)
    unique = tokenize("card transfer limit")
    _, chunks, frequencies = postgres._statistics(unique)
    assert frequencies == {"card": 600, "transfer": 400, "limit": 240}
    capped = postgres._best(list(unique), chunks, frequencies)
    postgres.prune = False
    exact = dict(postgres._best(list(unique), chunks, frequencies))
    holding = {
        r[0]
        for r in both[1].db.execute(
            "SELECT chunk_id FROM chunk_terms WHERE terms LIKE ?", ("%limit%",)
        )
    }
    assert {c for c, _ in capped} == holding and len(holding) == 240
    assert all(exact.get(c) == score for c, score in capped if c in exact)
    assert len(exact) == 400 and set(exact) != holding  # exhaustively, others also enter
