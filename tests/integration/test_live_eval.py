"""The live-assist eval (eval/live.py) end to end on two recorded calls over a small base."""

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
    "deceased-customer-accounts.pdf",
)
CALLS = ("lost-card-abroad.jsonl", "zh-lost-card.jsonl")


def test_recorded_calls_carry_gold_files_that_exist():
    names = {p.name for p in (REPO / "samples").iterdir()}
    for path in sorted((REPO / "eval" / "data" / "calls").glob("*.jsonl")):
        dialogue = read_recorded_call(path)
        customer = [t for t in dialogue.turns if t.speaker == "customer"]
        assert customer and all(t.gold for t in customer), path.name
        assert {g for t in customer for g in t.gold} <= names, path.name


def test_live_eval_on_two_recorded_calls(services):
    services.ingest_paths([REPO / "samples" / name for name in FILES])
    recordings = [REPO / "eval" / "data" / "calls" / name for name in CALLS]

    scored = evaluate_recorded_calls(services, recordings)

    assert scored["dataset"]["calls"] == 2
    assert scored["dataset"]["languages"] == {"en": 1, "zh": 1}
    live, baseline = scored["systems"]["live"], scored["systems"]["latest_turn_top3"]
    assert live["turns"] == baseline["turns"] == 9  # 5 + 4 customer turns, all labelled
    assert live["topics"] == 3  # the card abroad; the card in Chinese, then a complaint
    for row in (live, baseline):
        assert 0.0 <= row["top3_accuracy"] <= 1.0
        assert row["p50_ms"] is not None and row["churn_pairs"] == 6
    # The stolen card is named in the call's first customer turn: on screen at once.
    first = scored["per_dialogue"][0]["turns"][0]
    assert first["live_hit"] and "lost-stolen-card-procedure.docx" in first["live"]
    # Context carries the topic through "Okay, thanks.", which alone finds nothing specific.
    assert scored["per_dialogue"][0]["turns"][-1]["live_hit"]

    report = markdown_report(
        {
            "command": "test", "machine": "test", "started_at": "now", "seconds": 1,
            "load_before": "0", "load_after": "0", "code": "test", "recorded": scored,
        }
    )  # fmt: skip
    assert "Recorded calls over the sample bank" in report
    assert f"({live['top3_hits']}/9)" in report and "lost-card-abroad" in report
    json.dumps(scored, ensure_ascii=False)  # the JSON report can be written
