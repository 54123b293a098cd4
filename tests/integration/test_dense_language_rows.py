"""A one-off search in one language (the other language's place in an answer) scans only
that language's rows when it is a small share of the base: the same hits as the full scan."""

from __future__ import annotations

from kb.retrieve import Scope
from kb.types import Query

TEXTS = ["挂失 银行卡", "透支 利息", "lost card", "CHAPS cut-off time", "房贷 提前还款"]


def test_once_gives_the_full_scans_hits(sample_services) -> None:
    retriever = sample_services.retriever
    index = sample_services.kb.index
    catalog = retriever._current_catalog()
    rows = catalog.language_rows(index, "zh")
    assert rows is not None  # the samples' Chinese is under a third of their chunks
    assert catalog.language_rows(index, "en") is None  # the larger language: whole scans
    scope = Scope.of(Query(text="x"))
    for text in TEXTS:
        retriever._recent_scores.clear()
        once = retriever.dense(text, scope, 5, language="zh", once=True)
        assert not retriever._has_scores(text, index)  # the whole index was not scanned
        full = retriever.dense(text, scope, 5, language="zh")
        assert retriever._has_scores(text, index)
        assert once == full and len(once) == 5
