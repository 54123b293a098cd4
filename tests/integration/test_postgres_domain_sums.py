"""kb.domain on PostgreSQL: a scope's mean vector from the version sums kept per registry
generation (VersionSums) is pgvector's own `avg(embedding)` over that scope, bit for bit, and
the restricted gap's searches side by side (PgVectorIndex.search_many) give the scores of
the searches one at a time.

One base: a public card procedure in English and in Chinese, the fraud team's restricted
playbook, a version not yet in force, then a fee sheet added (a new generation).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pytest

from ingest.pipeline import Upload
from kb.access import RESTRICTED_READER
from kb.domain import (
    DomainSimilarity,
    VersionSums,
    language_gap,
    pgvector_languages,
    pgvector_mean,
)
from kb.retrieve import Scope
from kb.types import EVERYONE, DocumentOptions, Query
from tests.conftest import drop_postgres, postgres_settings

pytestmark = pytest.mark.integration

TODAY = dt.date(2026, 12, 2)
CARDS = b"""Lost or Stolen Debit Card Procedure

1. Confirm the customer's identity with two security questions.
2. Block the lost or stolen debit card at once in the card system.
3. Order a replacement debit card to the address on file.
"""
CARDS_ZH = """借记卡挂失流程

1. 用两个安全问题核实客户身份。
2. 立即在卡系统中冻结丢失或被盗的借记卡。
""".encode()
PLAYBOOK = b"""Mule Account Ring Playbook

Freeze every account in a suspected mule ring and report the transfers to the fraud desk.
"""
RATES = b"""Savings Rates From Next Year

The easy saver pays 3.1 percent from the first of January.
"""
FEES = b"""International Payment Fees

A SWIFT payment costs 15 pounds; a SEPA payment in euros is free of charge.
"""


@pytest.fixture
def services(tmp_path, database_url, embedder):
    from kb.services import Services
    from kb.store import KnowledgeBase

    settings = postgres_settings(tmp_path / "kb", database_url)
    built = Services(settings, KnowledgeBase(settings, embedder))
    built.ingest([Upload("cards.txt", data=CARDS), Upload("cards-zh.txt", data=CARDS_ZH)])
    built.ingest([Upload("playbook.txt", data=PLAYBOOK)], DocumentOptions(groups=("fraud-team",)))
    built.ingest(
        [Upload("rates.txt", data=RATES)],
        DocumentOptions(effective_date=dt.date(2027, 1, 1)),
    )
    yield built
    built.close()
    drop_postgres(settings)


def _scopes() -> list[Scope]:
    return [
        DomainSimilarity.scope_of(Scope.of(Query("x", groups=groups), day))
        for groups in (("everyone",), ("fraud-team",))
        for day in (TODAY, dt.date(2027, 2, 1))
    ]


def _avg(services, scope: Scope) -> np.ndarray | None:  # type: ignore[no-untyped-def]
    condition, params = scope.sql()
    return pgvector_mean(services.kb.index, condition, params)


def test_a_scopes_mean_is_pgvectors_avg_from_the_generations_version_sums(services) -> None:
    domain = services.domain
    means = [domain.mean_vector(scope) for scope in _scopes()]
    kept = domain._version_sums
    assert kept is not None  # computed from the sums, not averaged in SQL
    sums = kept[1]
    assert sums.generation == services.kb.loaded_generation
    assert len(sums.places) == 4 and int(sums.counts.sum()) == len(services.kb.index)
    for scope, mean in zip(_scopes(), means, strict=True):
        expected = _avg(services, scope)
        assert mean is not None and expected is not None
        assert mean.dtype == np.float32 and np.array_equal(mean, expected), scope
    assert sums.languages_of(np.ones(len(sums.places), dtype=bool)) == ("en", "zh")
    for scope in _scopes():  # the languages of what each scope may not read, as in SQL
        inside, inside_params = scope.sql()
        every, every_params = replace(scope, groups=frozenset({EVERYONE, RESTRICTED_READER})).sql()
        outside, params = f"({every}) AND NOT ({inside})", [*every_params, *inside_params]
        found = domain._languages(services.kb.index, sums.generation, outside, params)
        assert found == pgvector_languages(services.kb.index, outside, params)
        assert found == (("en",) if "fraud-team" not in scope.groups else ())
    assert not np.array_equal(means[0], means[1])  # the rates' version from January
    assert not np.array_equal(means[0], means[2])  # the playbook for the fraud team

    services.ingest([Upload("fees.txt", data=FEES)])  # a new generation: the sums again
    grown = domain.mean_vector(_scopes()[0])
    assert domain._version_sums is not None and domain._version_sums[1] is not sums
    assert domain._version_sums[1].generation == services.kb.loaded_generation
    assert grown is not None and np.array_equal(grown, _avg(services, _scopes()[0]))
    assert not np.array_equal(grown, means[0])


def test_sums_read_at_another_generation_are_not_used(services) -> None:
    domain = services.domain
    index = services.kb.index
    generation = services.kb.loaded_generation
    assert domain._version_sums_of(index, generation) is not None
    assert domain._version_sums_of(index, generation - 1) is None  # the base moved on
    scope = _scopes()[0]
    assert np.array_equal(domain._compute(index, scope, generation - 1), _avg(services, scope))
    sums = VersionSums.read(index)
    assert sums.mean(sums.verdicts(["no-such-document"], [1])) is None


def test_the_restricted_gaps_searches_side_by_side_give_each_searchs_score(services) -> None:
    index = services.kb.index
    question = "freeze every account in a mule ring"
    scope = _scopes()[0]
    gap = services.domain.restricted_gap(question, scope)
    vector = services.retriever._query_vector(question)
    inside, inside_params = scope.sql()
    every, every_params = replace(scope, groups=frozenset({EVERYONE, RESTRICTED_READER})).sql()
    outside = f"({every}) AND NOT ({inside})"
    best_out = index.search(vector, 1, outside, [*every_params, *inside_params], "en")
    best_in = index.search(vector, 1, inside, inside_params, "en")
    assert gap > 0.01
    assert gap == language_gap({"en": best_out[0][1]}, {"en": best_in[0][1]}, 0.0)
    assert index._second is not None  # the batch used the index's second connection


def test_the_best_readable_passage_in_force_is_read_off_the_retrievers_rows(services) -> None:
    index = services.kb.index
    domain = services.domain
    question = "easy saver interest rate from January"
    wide = Query(question, as_of=TODAY, include_inactive=True)
    services.retriever.retrieve(wide)  # keeps its language searches' rows
    narrowed = DomainSimilarity.scope_of(Scope.of(wide))
    vector = services.retriever._query_vector(question)
    every, params = replace(narrowed, include_inactive=True).sql()
    rows = index.kept_rows(vector, every, params, "en")
    assert rows and rows[0].document_id == _document(services, "rates.txt")  # not in force
    inside, inside_params = narrowed.sql()
    searched = index.search(vector, 1, inside, inside_params, "en")
    generation = services.kb.loaded_generation
    kept = domain._kept_best(index, generation, narrowed, vector, ("en", "zh"))
    assert kept["en"] == searched[0][1] != rows[0].similarity
    assert kept["zh"] == index.search(vector, 1, inside, inside_params, "zh")[0][1]

    statements = []
    run = index._run
    index._run = lambda lane, statement: statements.append(statement) or run(lane, statement)
    try:
        gap = domain.restricted_gap(question, Scope.of(wide))
    finally:
        del index._run
    assert len(statements) == 1  # the unreadable playbook's search only
    assert gap == language_gap(
        {"en": index.search(vector, 1, *_outside(narrowed), "en")[0][1]}, {"en": kept["en"]}, 0.0
    )


def _document(services, name: str) -> str:  # type: ignore[no-untyped-def]
    row = services.kb.registry.db.execute(
        "SELECT document_id FROM documents WHERE source_name = ?", (name,)
    ).fetchone()
    return row[0]


def _outside(scope: Scope) -> tuple[str, list[object]]:
    inside, inside_params = scope.sql()
    every, every_params = replace(scope, groups=frozenset({EVERYONE, RESTRICTED_READER})).sql()
    return f"({every}) AND NOT ({inside})", [*every_params, *inside_params]
