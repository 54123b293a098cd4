"""The live-assist eval (eval/live.py) end to end on a recorded call over a small base."""

from __future__ import annotations

import json

import pytest

from eval.live import evaluate_recorded_calls, markdown_report, read_recorded_call
from tests.conftest import REPO

pytestmark = pytest.mark.integration

FILES = (
    "lost-stolen-card-procedure.docx",
    "zh-lost-card-procedure.pdf",
    "complaint-handling-policy.pdf",
)
CALLS = ("zh-lost-card.jsonl",)


def test_recorded_calls_carry_gold_files_that_exist():
    names = {p.name for p in (REPO / "samples").iterdir()}
    for path in sorted((REPO / "eval" / "data" / "calls").glob("*.jsonl")):
        dialogue = read_recorded_call(path)
        customer = [t for t in dialogue.turns if t.speaker == "customer"]
        assert customer and all(t.gold for t in customer), path.name
        assert {g for t in customer for g in t.gold} <= names, path.name


def test_live_eval_on_a_recorded_call(services):
    services.ingest_paths([REPO / "samples" / name for name in FILES])
    recordings = [REPO / "eval" / "data" / "calls" / name for name in CALLS]

    scored = evaluate_recorded_calls(services, recordings)

    assert scored["dataset"]["calls"] == 1
    assert scored["dataset"]["languages"] == {"en": 0, "zh": 1}
    live, baseline = scored["systems"]["live"], scored["systems"]["latest_turn_top3"]
    assert live["turns"] == baseline["turns"] == 4  # every customer turn is labelled
    assert live["topics"] == 2  # the stolen card, then a complaint
    for row in (live, baseline):
        assert 0.0 <= row["top3_accuracy"] <= 1.0
        assert row["p50_ms"] is not None and row["churn_pairs"] == 2
    turns = scored["per_dialogue"][0]["turns"]
    # The stolen card is named in the call's first customer turn: on screen at once.
    assert turns[0]["live_hit"] and turns[0]["live"][0] in turns[0]["gold"]
    # Context carries the topic through a turn that only gives a name and a phone number.
    assert turns[1]["live_hit"]

    report = markdown_report(
        {
            "command": "test", "machine": "test", "started_at": "now", "seconds": 1,
            "load_before": "0", "load_after": "0", "code": "test", "recorded": scored,
        }
    )  # fmt: skip
    assert "Recorded calls over the sample bank" in report
    assert f"({live['top3_hits']}/4)" in report and "zh-lost-card" in report
    json.dumps(scored, ensure_ascii=False)  # the JSON report can be written
