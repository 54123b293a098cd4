"""The agent-style rewriter: deterministic, every rule applies, meaning words survive."""

from __future__ import annotations

import json
import random
import re

from eval import agent_style
from eval.agent_style import (
    CUSTOMER_DATA,
    PREFIXES,
    RULES,
    add_customer_data,
    add_prefix,
    add_typos,
    drop_apostrophes,
    lowercase_nopunct,
    misspell,
    ramble,
    rewrite,
    rewrite_all,
    rewrite_record,
    typo_candidates,
)
from eval.golden import load_golden

QUESTION = "How much does express delivery of a replacement card cost?"


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9£%:+]+", drop_apostrophes(text).lower())


def test_the_same_seed_gives_the_same_rewrites():
    records = agent_style.read_records(sorted(agent_style.DATA.glob("golden-*.jsonl")))
    assert rewrite_all(records) == rewrite_all(records)
    assert rewrite_all(records, seed=1) != rewrite_all(records)


def test_rewriting_one_question_does_not_depend_on_the_others():
    records = agent_style.read_records(sorted(agent_style.DATA.glob("golden-*.jsonl")))
    alone = rewrite_record(records[5])
    assert rewrite_all(records)[5] == alone
    assert rewrite_all(list(reversed(records)))[-6] == alone


def test_record_keeps_the_gold_and_says_where_it_came_from():
    record = {
        "_id": "en-001",
        "text": QUESTION,
        "language": "en",
        "type": "fact",
        "gold": [{"document": "d", "section": "s"}],
        "answer_contains": ["£15"],
    }
    made = rewrite_record(record)
    assert made["_id"] == "agent-en-001" and made["derived_from"] == "en-001"
    assert made["gold"] == record["gold"] and made["answer_contains"] == ["£15"]
    assert made["rewrite"] and set(made["rewrite"]) <= set(RULES)
    assert made["text"] != QUESTION
    assert record["text"] == QUESTION and "rewrite" not in record  # input untouched


def test_committed_set_matches_the_rewriter():
    """eval/data/agent-style.jsonl is what `python -m eval.agent_style` writes today."""
    records = agent_style.read_records(sorted(agent_style.DATA.glob("golden-*.jsonl")))
    committed = agent_style.read_records([agent_style.OUTPUT])
    assert committed == rewrite_all(records), (
        "eval/data/agent-style.jsonl is stale: run `python -m eval.agent_style` and commit it"
    )


def test_every_rule_is_used_and_must_refuse_questions_are_rewritten_too():
    committed = agent_style.read_records([agent_style.OUTPUT])
    used = {rule for r in committed for rule in r["rewrite"]}
    assert used == set(RULES)
    types = {r["type"] for r in committed}
    assert {"refusal", "restricted"} <= types
    assert all(r["rewrite"] for r in committed)


def test_typos_hit_one_or_two_long_content_words_and_never_the_first_letter():
    for seed in range(30):
        text, changes = add_typos(QUESTION, random.Random(seed))
        assert 1 <= len(changes) <= 2
        for original, typed in changes:
            assert len(original) >= 5 and original in typo_candidates(QUESTION)
            assert typed[0] == original[0] and typed != original
            assert abs(len(typed) - len(original)) <= 1
            assert typed in text


def test_typo_candidates_skip_short_words_acronyms_and_function_words():
    candidates = typo_candidates("Which CHAPS payment would the customer's bank send?")
    assert candidates == ["payment"]


def test_misspell_kinds():
    seen = {misspell("replacement", random.Random(seed)) for seed in range(60)}
    assert any(len(w) == len("replacement") - 1 for w in seen)  # a dropped letter
    assert any(sorted(w) == sorted("replacement") and w != "replacement" for w in seen)  # swap
    assert any(len(w) == len("replacement") and sorted(w) != sorted("replacement") for w in seen)


def test_prefix_customer_data_ramble_and_lower_case():
    rng = random.Random(0)
    prefixed = add_prefix(QUESTION, "en", rng)
    assert any(prefixed.startswith(p) for p in PREFIXES["en"])
    assert "how much does express" in prefixed  # first letter lowered after the prefix
    assert any(d in add_customer_data(QUESTION, "en", rng) for d in CUSTOMER_DATA["en"])
    rambling = ramble(QUESTION, "en", rng)
    assert len(rambling) > len(QUESTION) + 20 and "how much does express" in rambling
    assert lowercase_nopunct("What's the CHAPS cut-off? 15:30, £1,000.", "en") == (
        "what's the chaps cut-off 15:30 £1,000"
    )
    assert drop_apostrophes("What's the customer's limit? I can't") == (
        "Whats the customers limit? I cant"
    )


def test_chinese_rules():
    rng = random.Random(0)
    question = "信用卡积分怎么兑换航空里程？"
    prefixed = add_prefix(question, "zh", rng)
    assert any(prefixed.startswith(p) for p in PREFIXES["zh"])
    assert not add_prefix("客户问卡丢了怎么办", "zh", rng).startswith("客户")
    assert any(d in add_customer_data(question, "zh", rng) for d in CUSTOMER_DATA["zh"])
    assert lowercase_nopunct(question, "zh") == "信用卡积分怎么兑换航空里程"
    assert "信用卡积分怎么兑换航空里程" in ramble(question, "zh", rng)
    for seed in range(20):
        assert "typo" not in rewrite(question, "zh", random.Random(seed)).rules


def test_meaning_words_survive_every_rewrite():
    """Every word of the golden question is still there, bar the misspelt ones."""
    for question in load_golden():
        made = rewrite(question.text, question.language, random.Random(f"t:{question.id}"))
        if question.language == "zh":
            parts = [p for p in re.split(r"[？。，！、；：…?!,.\s]+", question.text) if p]
            assert all(part in made.text for part in parts), (question.text, made.text)
            continue
        misspelt = {original.lower() for original, _ in made.typos}
        rewritten = set(_words(made.text))
        for word in _words(question.text):
            if word not in misspelt:
                assert word in rewritten, (word, question.text, made.text)


def test_committed_file_is_valid_json_lines():
    for line in agent_style.OUTPUT.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        assert record["_id"].startswith("agent-") and record["derived_from"]
