"""The Markdown sections render every measure, n/a where a measure has nothing to count."""

from __future__ import annotations

from eval.answer_report import agent_sections, golden_sections
from eval.metrics import AnswerOutcome, answer_breakdown, calibration_summary
from eval.run import agent_style_deltas


def _outcomes(prefix: str, refused_first: bool) -> list[AnswerOutcome]:
    return [
        AnswerOutcome(f"{prefix}en-1", "en", "fact", False, refused_first, 0.9, True, True, True),
        AnswerOutcome(
            f"{prefix}zh-1",
            "zh",
            "procedure",
            False,
            False,
            0.7,
            None,
            None,
            True,
            steps_expected=True,
            steps_shown=True,
        ),
        AnswerOutcome(f"{prefix}en-2", "en", "refusal", True, True, 0.2),
    ]


def _answers(prefix: str, refused_first: bool, rules: list[str]) -> dict:
    outcomes = _outcomes(prefix, refused_first)
    return {
        "refusal": {"precision": 1.0, "recall": 1.0, "accuracy": 1.0},
        "answer_metrics": answer_breakdown(outcomes),
        "calibration_check": calibration_summary(outcomes),
        "outcomes": [
            {
                **o.__dict__,
                "derived_from": o.id.removeprefix("agent-") if prefix else None,
                "rewrite": rules if prefix else [],
            }
            for o in outcomes
        ],
    }


def _retrieval(per_question: dict) -> dict:
    return {
        "name": "hybrid e5 (default)",
        "recall@1": 1.0,
        "recall@5": 1.0,
        "mrr@10": 1.0,
        "section@5": 1.0,
        "by_language": {"en": {"recall@5": 1.0}, "zh": {"recall@5": 1.0}},
        "per_question": per_question,
    }


def _results() -> dict:
    golden = {"en-1": {"recall@5": 1.0, "mrr@10": 1.0}, "zh-1": {"recall@5": 1.0, "mrr@10": 0.5}}
    agent_retrieval = _retrieval(
        {"agent-en-1": {"recall@5": 0.0, "mrr@10": 0.0}, "agent-zh-1": golden["zh-1"]}
    )
    agent = {
        "questions": 3,
        "retrieval": agent_retrieval,
        "answers": _answers("agent-", True, ["typo", "prefix"]),
        "refusal_golden_fit": {"precision": 1.0, "recall": 1.0, "predicted": 1, "actual": 1},
    }
    results = {
        "configurations": [_retrieval({})],
        "answers": _answers("", False, []),
        "refusal_check": {
            "folds": 5,
            "seed": 1,
            "stratified_by": "language and must-refuse",
            "target": 0.9,
            **{
                key: {"precision": 0.5, "recall": None, "predicted": 2, "actual": 0}
                for key in ("in_sample", "cross_validated", "cross_validated_f1_threshold")
            },
        },
    }
    agent["deltas"] = agent_style_deltas(
        {"retrieval": {"per_question": golden}, "answers": results["answers"]}, agent
    )
    results["agent_style"] = agent
    results["golden_per_question"] = golden
    return results


def test_golden_sections():
    text = "\n".join(golden_sections(_results(), "eval-reliability.png"))
    for wanted in (
        "answer correct",
        "top doc correct",
        "steps when expected",
        "conflict P / R",
        "refusal P / R",
        "| zh |",
        "| procedure |",
        "ECE (10 bins)",
        "![reliability](eval-reliability.png)",
        "fit on 4/5, judged on the held-out 1/5",
        "| 0.5 | n/a | 2 / 0 | no |",
    ):
        assert wanted in text, wanted


def test_agent_sections_show_deltas_per_rule():
    results = _results()
    text = "\n".join(agent_sections(results, "agent.png"))
    assert "## Agent-style questions" in text
    assert "| recall@5 | 1.0 | 1.0 | +0.0000 |" in text
    assert "| answer correct | 1.0 | 0.0 | -1.0000 |" in text
    assert "| typo | 3 | -0.500 | -0.500 | -1.000 | -0.500 | +0.333 |" in text
    assert "![agent-style reliability](agent.png)" in text


def test_no_agent_section_without_the_agent_set():
    results = _results()
    del results["agent_style"]
    assert agent_sections(results, None) == []


def test_refresh_from_outcomes_recomputes_measures_without_mutating():
    from eval.run import refresh_from_outcomes

    results = _results()
    results["answers"] = {**results["answers"], "answer_metrics": {"stale": True}}
    del results["agent_style"]["answers"]["calibration_check"]
    fresh = refresh_from_outcomes(results)
    assert "stale" not in fresh["answers"]["answer_metrics"]
    assert fresh["answers"]["answer_metrics"]["answerable_refused"] == 0.0
    assert fresh["agent_style"]["answers"]["calibration_check"]["n"] == 3
    assert fresh["agent_style"]["deltas"]["recall@5"]["all"]["delta"] == -0.5
    assert results["answers"]["answer_metrics"] == {"stale": True}  # input untouched
    assert "calibration_check" not in results["agent_style"]["answers"]


def test_regressions_name_what_went_wrong():
    from eval.answer_report import regressions

    def o(id_, derived, must_refuse=False, refused=False, top=True, facts=True):
        return {
            "id": id_,
            "derived_from": derived,
            "must_refuse": must_refuse,
            "refused": refused,
            "top_document_correct": None if must_refuse else top,
            "answer_correct": None if must_refuse else facts,
            "confidence": 0.5,
            "rewrite": ["typo"],
            "text": "t",
        }

    golden = [o("a", None), o("b", None), o("c", None, must_refuse=True, refused=True),
              o("d", None), o("e", None, top=False)]  # fmt: skip
    agent = [
        o("x-a", "a", refused=True),
        o("x-b", "b", top=False),
        o("x-c", "c", must_refuse=True),
        o("x-d", "d", facts=False),
        o("x-e", "e", refused=True),  # its original was already wrong: not a regression
    ]
    found = {f["agent"]["id"]: f["what"] for f in regressions(golden, agent)}
    assert found == {
        "x-a": "answerable, refused",
        "x-b": "wrong first document",
        "x-c": "must refuse, answered",
        "x-d": "facts lost from the headline",
    }
