"""The `domain` evidence (kb.domain): a question's mean similarity to every passage its asker
may read, from a mean vector kept per index generation and scope, on both stores.

One test per backend (`backend_settings`): a public card procedure in English and in
Chinese, the fraud team's restricted playbook, then a fee sheet added and deleted again (two
new generations)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from ingest.pipeline import Upload
from kb.access import OPERATOR
from kb.retrieve import Scope
from kb.types import DocumentOptions, Query

pytestmark = pytest.mark.integration

TODAY = dt.date(2026, 12, 2)
CARDS = b"""Lost or Stolen Debit Card Procedure

1. Confirm the customer's identity with two security questions.
2. Block the lost or stolen debit card at once in the card system.
3. Order a replacement debit card to the address on file.

Reporting from abroad
The customer can call the card line from abroad; an emergency card can be sent.
"""
PLAYBOOK = b"""Mule Account Ring Playbook

Freeze every account in a suspected mule ring and report the transfers to the fraud desk.
Do not tell the customer that their account is part of an investigation.
"""
CARDS_ZH = """借记卡挂失流程

1. 用两个安全问题核实客户身份。
2. 立即在卡系统中冻结丢失或被盗的借记卡。
3. 按档案地址补寄新卡。
""".encode()
FEES = b"""International Payment Fees

A SWIFT payment costs 15 pounds; a SEPA payment in euros is free of charge.
"""


def _scope(*groups: str) -> Scope:
    return Scope.of(Query("x", groups=groups), TODAY)


def _mean_by_hand(services, text: str, prefixes: tuple[str, ...]) -> float:  # type: ignore[no-untyped-def]
    """The mean similarity over the chunks of the given documents, chunk by chunk."""
    ids = [cid for cid in services.kb.index.ids if cid.startswith(prefixes)]
    found = services.retriever.similarity(text, ids)
    assert len(found) == len(ids) > 0
    return float(np.mean(list(found.values())))


def test_domain_is_the_mean_similarity_to_what_the_asker_may_read(backend_settings, embedder):
    from kb.services import Services
    from kb.store import KnowledgeBase

    services = Services(backend_settings, KnowledgeBase(backend_settings, embedder))
    try:
        cards, cards_zh = (
            f.document_id
            for f in services.ingest(
                [Upload("cards.txt", data=CARDS), Upload("cards-zh.txt", data=CARDS_ZH)]
            ).files
        )
        mule = "freeze every account in a mule ring"
        assert services.domain.restricted_gap(mule, _scope("everyone")) == 0.0  # none restricted
        playbook = (
            services.ingest(
                [Upload("playbook.txt", data=PLAYBOOK)], DocumentOptions(groups=("fraud-team",))
            )
            .files[0]
            .document_id
        )
        everyone, fraud_team = _scope("everyone"), _scope("fraud-team")

        near = services.confidence_evidence(
            Query("customer lost their debit card abroad", as_of=TODAY)
        )
        far = services.confidence_evidence(Query("best sourdough bread recipe", as_of=TODAY))
        assert 0.0 < far.domain < near.domain

        question = "how do I freeze a mule account"
        assert services.domain.similarity(question, everyone) == pytest.approx(
            _mean_by_hand(services, question, (f"{cards}:", f"{cards_zh}:")), abs=1e-4
        )  # the playbook, outside the scope, does not count
        assert services.domain.similarity(question, fraud_team) == pytest.approx(
            _mean_by_hand(services, question, (f"{cards}:", f"{cards_zh}:", f"{playbook}:")),
            abs=1e-4,
        )
        # The restricted gap: the playbook (unreadable to everyone) is nearer than the cards.
        gap = services.domain.restricted_gap(mule, everyone)
        by_hand = services.retriever.similarity(mule, services.kb.index.ids)
        best = {
            p: max(v for c, v in by_hand.items() if c.startswith(f"{p}:"))
            for p in (cards, playbook)
        }
        assert gap == pytest.approx(best[playbook] - best[cards], abs=2e-3) and gap > 0.01
        # Asked in Chinese, the English playbook is compared with the English cards only,
        # never with the Chinese procedure e5 puts nearer to any Chinese question.
        mule_zh = "如何冻结钱骡账户"
        by_hand = services.retriever.similarity(mule_zh, services.kb.index.ids)
        best = {
            p: max(v for c, v in by_hand.items() if c.startswith(f"{p}:"))
            for p in (cards, cards_zh, playbook)
        }
        gap_zh = services.domain.restricted_gap(mule_zh, everyone)
        assert gap_zh == pytest.approx(best[playbook] - best[cards], abs=2e-3) and gap_zh > 0.01
        assert best[cards_zh] > best[playbook]  # compared across languages, no gap at all
        assert services.domain.restricted_gap(mule, fraud_team) == 0.0  # reads everything here
        assert services.domain.restricted_gap("block a lost debit card", everyone) == 0.0
        assert services.confidence_evidence(
            Query(mule, as_of=TODAY)
        ).restricted_gap == pytest.approx(gap)

        first = services.domain.mean_vector(everyone)
        assert first is not None
        assert services.domain.mean_vector(everyone) is first  # kept: one dot product a question
        assert not np.allclose(services.domain.mean_vector(fraud_team), first)

        fees = services.ingest([Upload("fees.txt", data=FEES)]).files[0].document_id
        grown = services.domain.mean_vector(everyone)  # a new generation: computed again
        assert grown is not None and not np.allclose(grown, first)
        assert services.domain.similarity("SWIFT payment fee", everyone) == pytest.approx(
            _mean_by_hand(services, "SWIFT payment fee", (f"{cards}:", f"{cards_zh}:", f"{fees}:")),
            abs=1e-4,
        )

        services.delete(fees, reader=OPERATOR)
        assert np.allclose(services.domain.mean_vector(everyone), first, atol=1e-5)
        assert services.domain.mean_vector(_scope("nobody-reads-this")) is not None  # everyone's
    finally:
        services.close()
