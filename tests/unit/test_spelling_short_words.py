"""Short typos (five or six letters) are corrected only when they are not words at all:
"pyone", "papdr" and "limut" are slips; "round" and "bread" are words, whatever the
knowledge base holds."""

from __future__ import annotations

from kb.lexicon import common_words
from kb.spelling import SpellFix

VOCABULARY = {"phone": 9, "paper": 5, "limit": 7, "statement": 4, "pound": 9, "debit": 12}


def test_short_slips_are_corrected_against_the_knowledge_base():
    fix = SpellFix(VOCABULARY, known={"phone", "paper", "limit", "round", "debit"})
    assert fix.correct("over the pyone") == "over the phone"
    assert fix.correct("do we charge for papdr statements") == "do we charge for paper statements"
    assert fix.correct("time limut") == "time limit"
    assert fix.correct("deblt card") == "debit card"


def test_a_short_word_the_language_has_is_left_alone():
    assert SpellFix(VOCABULARY, known={"round"}).correct("round") == "round"
    # The same word, were it unknown, is one edit from "pound": `known` is what protects it.
    assert SpellFix(VOCABULARY, known=frozenset()).correct("round") == "pound"
    assert SpellFix(VOCABULARY, known=frozenset()).correct("lmit") == "lmit"  # four letters


def test_the_models_vocabulary_knows_common_words_not_slips():
    words = common_words()
    assert {"phone", "paper", "limit", "bread", "round"} <= words
    assert not {"pyone", "papdr", "limut", "deblt"} & words
    fix = SpellFix(VOCABULARY)  # the model's words by default
    assert fix.correct("pyone and bread") == "phone and bread"
