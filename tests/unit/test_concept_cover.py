"""The other language's document goes first when it holds more of the question's concepts."""

from __future__ import annotations

from kb.concept_cover import TokenCache, countable_concepts, covered, covering_language_first
from kb.glossary import default_glossary
from kb.lexical import tokenize
from kb.types import Category, Chunk, ChunkKind, DocumentInfo, DocumentStatus, Hit


def hit(doc, language, text, score, status=DocumentStatus.CURRENT):
    info = DocumentInfo(doc, 1, doc, f"{doc}.md", "md", language, Category.PROCEDURE, None, None,
                        ("everyone",))  # fmt: skip
    chunk = Chunk(f"{doc}:v1:0", info, 0, ChunkKind.TEXT, text, ("S",), (), language, "h")
    return Hit(chunk, score, status=status)


DOCUMENTS = {
    "zh-fees": "收费标准 例外情况 免费服务 客户 银行",
    "overdraft": "Arranged overdraft interest rate 39.9% EAR variable; the first £50 is interest-free.",
}


def tokens_of_document(info):
    return frozenset(tokenize(DOCUMENTS[info.document_id]))


def passage_tokens(h):
    return frozenset(tokenize(h.chunk.text))


def test_the_document_that_holds_the_concepts_goes_first_across_languages():
    question = "安排透支的利率是多少？"
    concepts = countable_concepts(default_glossary(), question)
    assert len(concepts) >= 2  # overdraft (透支), interest rate (利率)
    hits = [hit("zh-fees", "zh", DOCUMENTS["zh-fees"], 0.033),
            hit("overdraft", "en", DOCUMENTS["overdraft"], 0.029)]  # fmt: skip
    ranked = covering_language_first(hits, "zh", concepts, passage_tokens, tokens_of_document)
    assert [h.chunk.document.document_id for h in ranked] == ["overdraft", "zh-fees"]
    assert ranked[0].score == 0.033  # it takes the top score: no score above the first
    # The same question, with the English document no better covered: nothing moves.
    elsewhere = {**DOCUMENTS, "overdraft": "Opening hours of the contact centre."}
    unmoved = covering_language_first(
        hits, "zh", concepts, passage_tokens,
        lambda info: frozenset(tokenize(elsewhere[info.document_id])),
    )  # fmt: skip
    assert unmoved == hits


def test_only_the_other_language_is_promoted_and_only_below_a_current_top():
    question = "What is the overdraft interest rate?"
    concepts = countable_concepts(default_glossary(), question)
    english = hit("overdraft", "en", DOCUMENTS["overdraft"], 0.033)
    chinese = hit("zh-fees", "zh", "透支 利率 安排透支", 0.02)
    # An English question whose top is English: a better-covering Chinese document moves up...
    moved = covering_language_first([english, chinese], "en", concepts, passage_tokens,
                                    lambda info: frozenset(tokenize("透支 利率 安排透支 免息额度 "
                                                                    if info.document_id == "zh-fees"
                                                                    else "overdraft")))  # fmt: skip
    assert moved[0].chunk.document.document_id == "zh-fees"
    # ...but a top hit already in the other language, or no current hit, changes nothing.
    assert covering_language_first([chinese, english], "en", concepts, passage_tokens,
                                   tokens_of_document) == [chinese, english]  # fmt: skip
    old = hit("overdraft", "en", DOCUMENTS["overdraft"], 0.033, DocumentStatus.EXPIRED)
    assert covering_language_first([old], "en", concepts, passage_tokens,
                                   tokens_of_document) == [old]  # fmt: skip


def test_a_concept_with_a_stop_word_term_is_not_counted():
    # "customer" is dropped from every English search: only 客户 could ever hold it.
    concepts = countable_concepts(default_glossary(), "客户想取消直接扣款")
    assert not any(frozenset({"客户"}) in terms for terms in concepts)
    assert covered(concepts, frozenset(tokenize("Cancel the Direct Debit in the app"))) >= 1


def test_tokens_are_read_once_per_document_version_and_passage():
    reads = []

    def read(document_id, version):
        reads.append((document_id, version))
        return ["Direct Debit cancellation", "by 23:59"]

    tokens = TokenCache(read)
    passage = hit("dd", "en", "Cancel the Direct Debit", 0.0)
    info = passage.chunk.document
    assert "cancellation" in tokens.document(info) and tokens.document(info) == tokens.document(
        info
    )
    assert reads == [("dd", 1)]
    assert tokens.passage(passage) == frozenset(tokenize("Cancel the Direct Debit"))
