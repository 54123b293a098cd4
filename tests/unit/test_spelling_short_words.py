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


def test_a_slip_found_through_its_stem_keeps_its_own_ending():
    vocabulary = {"complain": 9, "ignore": 5, "statement": 7, "charge": 4}
    fix = SpellFix(vocabulary, known=frozenset())
    # "complaning" is two edits from "complain"; its stem "complan" is one
    assert fix.correct("customer is complaning") == "customer is complaining"
    assert fix.correct("two statments") == "two statements"
    # a real word whose stem the light stemmer does not conflate stays as typed
    assert fix.correct("seller is ignoring me") == "seller is ignoring me"
