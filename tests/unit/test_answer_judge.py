"""The answer-judge experiment's pure parts: training pairs from SQuAD-layout data, the
windows it judges, and the adapter file round trip (eval/answer_judge.py,
eval/train_judge.py, eval/judge_refusals.py)."""

import json

import numpy as np

from eval.answer_judge import JudgeWeights, pair_text
from eval.judge_refusals import windows
from eval.train_judge import holding, roc_auc, sentence_spans, squad_pairs


def test_sentences_split_in_both_languages():
    english = "Cards are cancelled at once. A new card follows in 5 days. Fees apply."
    spans = sentence_spans(english)
    assert [english[a:b] for a, b in spans] == [
        "Cards are cancelled at once.",
        "A new card follows in 5 days.",
        "Fees apply.",
    ]
    chinese = "卡片立即冻结。新卡五天内寄出。需要收费。"
    assert len(sentence_spans(chinese)) == 3
    assert holding(spans, english.index("5 days")) == 1


def test_squad_pairs_take_the_answer_window_and_the_plausible_one(tmp_path):
    context = "Rollo was a Viking. He founded Normandy in 911. The duchy grew. It lasted long."
    data = {
        "data": [
            {
                "title": "Normans",
                "paragraphs": [
                    {
                        "context": context,
                        "qas": [
                            {
                                "question": "When was Normandy founded?",
                                "answers": [{"text": "911", "answer_start": context.index("911")}],
                            },
                            {
                                "question": "When was Brittany founded?",
                                "answers": [],
                                "is_impossible": True,
                                "plausible_answers": [
                                    {"text": "911", "answer_start": context.index("911")}
                                ],
                            },
                        ],
                    }
                ],
            }
        ]
    }
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(data))
    pairs = squad_pairs(path, negative_share=1.0)
    positive = [p for p in pairs if p.answers]
    assert len(positive) == 1 and "911" in positive[0].passage
    brittany = [p for p in pairs if p.question.startswith("When was Brittany")]
    assert len(brittany) == 1 and not brittany[0].answers and "911" in brittany[0].passage
    other = [p for p in pairs if p.question.startswith("When was Normandy") and not p.answers]
    assert len(other) == 1 and "911" not in other[0].passage


def test_windows_pair_neighbouring_sentences():
    assert windows("One. Two. Three.") == ["One. Two.", "Two. Three."]
    assert windows("只有一句") == ["只有一句"]
    assert pair_text(" Fee? ", " £25. ") == "Fee? passage: £25."


def test_adapter_file_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    weights = JudgeWeights(
        first_layer=9,
        rank=2,
        scale=2.0,
        adapters={"l9.q": (rng.normal(size=(2, 4)), rng.normal(size=(4, 2)))},
        head_weight=rng.normal(size=4).astype(np.float32),
        head_bias=-0.5,
    )
    path = tmp_path / "judge.npz"
    weights.save(path)
    loaded = JudgeWeights.load(path)
    assert (loaded.first_layer, loaded.rank, loaded.scale, loaded.head_bias) == (9, 2, 2.0, -0.5)
    a, b = loaded.adapters["l9.q"]
    np.testing.assert_allclose(a, weights.adapters["l9.q"][0], atol=1e-2)
    np.testing.assert_allclose(b, weights.adapters["l9.q"][1], atol=1e-2)


def test_roc_auc():
    scores = np.array([0.1, 0.4, 0.35, 0.8])
    assert roc_auc(scores, np.array([False, False, True, True])) == 0.75
