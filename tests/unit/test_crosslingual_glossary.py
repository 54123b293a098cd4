"""The glossary's part in crossing languages: keyword renderings, plurals, and why a single
Chinese character is never added to a search."""

from __future__ import annotations

from kb.glossary import default_glossary


def test_a_chinese_question_is_rendered_in_english_terms_with_its_latin_words():
    rendering = default_glossary().translate("客户抵押贷款还款有困难，用手机App可以申请吗？", "en")
    words = rendering.lower().split()
    assert "mortgage" in words
    assert "difficulty" in words
    assert words.count("app") == 1  # the Latin word once, whatever the case


def test_an_english_question_is_rendered_in_chinese_terms():
    rendering = default_glossary().translate("Which scams target Chinese-speaking customers?", "zh")
    assert "诈骗" in rendering
    assert default_glossary().translate("How do I bake sourdough bread?", "zh") == ""


def test_plural_english_words_find_their_glossary_entry():
    assert "诈骗" in default_glossary().expand("common scams", into="zh")
    assert "支票" in default_glossary().expand("two cheques", into="zh")


def test_single_chinese_characters_are_not_added_as_equivalents():
    expanded = default_glossary().expand("Is there a fee for a replacement debit card?")
    assert expanded, "the question has glossary terms"
    assert not [t for t in expanded if len(t) == 1 and "\u3400" <= t <= "\u9fff"]


def test_what_something_costs_is_searched_as_its_fee():
    """Agents ask what a payment "costs"; the documents state its "fee" (a CHAPS payment's
    £25 is in the Fees section and the 2027 fee-change notice, neither of which says
    "cost"). Before the glossary named them together, "How much does a CHAPS payment cost?"
    was answered from the complaints quick reference."""
    for question in ("How much does a CHAPS payment cost?", "what's the price of a CHAPS"):
        expanded = default_glossary().expand(question)
        assert "fee" in expanded
        assert "手续费" in expanded


def test_the_substring_check_before_each_pattern_finds_what_every_pattern_finds():
    """kb.glossary skips an English pattern whose term is not in the text: the same concepts
    as running all ~1,000 patterns (golden questions and their agent-style rewrites)."""
    import json
    import re
    from pathlib import Path

    glossary = default_glossary()
    data = Path(__file__).resolve().parents[2] / "eval" / "data"
    texts = [
        json.loads(line)["text"]
        for name in ("golden-en.jsonl", "golden-zh.jsonl", "agent-style.jsonl")
        for line in (data / name).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ] + ["HK$500 and US$ 20", "e-mail the a/c no.", "ID&V for the caller", "CHAPS payments"]
    for text in texts:
        every = {c for _, pattern, c in glossary.english if pattern.search(text.lower())}
        found = set(glossary._find_concepts(text))
        assert every <= found, text  # the check never loses a concept
        if not re.search(r"[\u3400-\u9fff]", text):
            assert found == every, text  # and adds none (no Chinese terms to find)


def test_synonym_groups_read_terms_whole_and_in_one_language():
    from kb.glossary import default_glossary

    glossary = default_glossary()
    groups = glossary.synonym_groups("I've been charged twice for the same thing", "en")
    assert (frozenset({"duplicate", "transaction"}),) == tuple(
        t for g in groups for t in g if "duplicate" in t
    )
    # "money in" loses "in" to the stopwords: it is not a way of saying "credit".
    assert not any(frozenset({"money"}) in g for g in glossary.synonym_groups("credit card", "en"))
    chinese = glossary.synonym_groups("在国外刷卡", "zh")
    assert any(frozenset({"境外"}) in g for g in chinese)
    assert all(not any(t.isascii() for term in g for t in term) for g in chinese)


def test_a_parent_who_passed_away_is_the_deceased_customer_concept():
    glossary = default_glossary()
    for question in (
        "我爸爸上星期過世了，他的戶口怎樣處理？",
        "我妈妈去世了怎么办",
        "my dad passed away",
    ):
        english = glossary.translate(question, "en").lower()
        chinese = glossary.translate(question, "zh")
        assert "deceased" in english or "已故" in chinese, question
