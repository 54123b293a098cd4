"""Escalation rules with real parts: the rule store and its audit trail (on SQLite and on
PostgreSQL), meaning matching with the packaged e5 model, the Services accessors and the
evaluation runner."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from kb.audit import AuditLog
from kb.escalation import (
    CallTurn,
    EscalationDetector,
    EscalationRuleError,
    RuleStore,
    load_rule_set,
)


def test_store_seeds_versions_and_audits_every_change(backend_settings):
    audit = AuditLog(backend_settings.audit_path)
    store = RuleStore(backend_settings.data_dir / "escalation.sqlite", audit=audit)
    rules = store.current()
    assert len(rules.rules) == len(load_rule_set().rules)
    assert rules.version == len(rules.rules)
    seeded = audit.events(action="escalation_rule_change")
    assert [e.details["change"] for e in seeded] == ["seeded"]

    complaint = rules.rule("complaint.expressed")
    changed = replace(complaint, phrases=(*complaint.phrases, "shambles"), severity="high")
    assert store.save(changed, "knowledge") == 2
    assert store.save(changed, "knowledge") == 2  # identical: no new version
    assert store.current().rule("complaint.expressed").severity == "high"
    history = store.history("complaint.expressed")
    assert [(h.version, h.author, h.note) for h in history] == [
        (1, "system", "seeded"),
        (2, "knowledge", "changed: phrases, severity"),
    ]
    assert history[0].rule.severity == "medium"

    before = store.version()
    assert store.disable("bereavement", "knowledge") == 2
    assert store.version() == before + 1
    current = store.current()
    assert current.rule("bereavement").enabled is False
    detector = EscalationDetector(current)
    alerts = detector.detect([CallTurn("customer", "My husband passed away, what a shambles")])
    assert [(a.rule_id, a.severity, a.rule_version) for a in alerts] == [
        ("complaint.expressed", "high", 2)
    ]
    assert store.save(current.rule("bereavement"), "knowledge") == 3  # enabled again

    events = audit.events(action="escalation_rule_change")
    assert [(e.user, e.details.get("rule"), e.details.get("version")) for e in events[:3]] == [
        ("knowledge", "bereavement", 3),
        ("knowledge", "bereavement", 2),
        ("knowledge", "complaint.expressed", 2),
    ]
    assert audit.verify() is None

    with pytest.raises(EscalationRuleError, match="severity must be one of"):
        store.save(replace(complaint, severity="loud"), "knowledge")
    with pytest.raises(EscalationRuleError, match="needs an author"):
        store.save(complaint, " ")
    with pytest.raises(EscalationRuleError, match="no escalation rule 'nope'"):
        store.history("nope")
    store.close()
    audit.close()


def test_store_reopened_keeps_versions(backend_settings):
    path = backend_settings.data_dir / "escalation.sqlite"
    first = RuleStore(path)
    rule = first.current().rule("human_request")
    first.save(replace(rule, phrases=(*rule.phrases, "let me talk to staff")), "knowledge")
    again = RuleStore(path)  # another process, or another replica
    assert again.current().rule("human_request").version == 2
    assert again.version() == first.version()
    beside = AuditLog(backend_settings.audit_path)  # the trail beside the store by default
    assert [e.details["change"] for e in beside.events(action="escalation_rule_change")] == [
        "changed: phrases",
        "seeded",
    ]
    for opened in (first, again, first.audit, beside):
        opened.close()


def test_meaning_matching_with_the_packaged_model(embedder):
    from eval.escalation import meaning_only

    rules = load_rule_set()
    detector = EscalationDetector(meaning_only(rules), embedder=embedder)

    def found(text: str) -> set[str]:
        return {a.category for a in detector.detect([CallTurn("customer", text)])}

    assert found("I'd like to talk with a living person instead of this machine") == {
        "human_request"
    }
    assert found("有人自称是公安局的，让我把存款转出去") == {"fraud_scam"}
    assert found("What time does the branch open on Saturday?") == set()
    assert found("How do I set up a standing order to my landlord?") == set()


def test_repeated_question_in_other_words_needs_the_model(embedder):
    turns = [
        CallTurn("customer", "what's the cut-off time for CHAPS payments"),
        CallTurn("bot", "Sorry, I didn't get that."),
        CallTurn("customer", "what is the cut-off time for a CHAPS payment today"),
    ]
    rules = load_rule_set()
    assert EscalationDetector(rules).detect(turns) == []
    alerts = EscalationDetector(rules, embedder=embedder).detect(turns)
    assert [(a.category, a.turn_index) for a in alerts] == [("repeated_question", 2)]


def test_services_accessors_share_the_embedder_and_follow_the_store(services):
    store = services.escalation_rules()
    assert store is services.escalation_rules()
    assert store.path == services.settings.data_dir / "escalation.sqlite"
    detector = services.escalation_detector()
    assert detector is services.escalation_detector()
    assert detector.embedder is services.kb.embedder
    store.disable("human_request", "knowledge")
    rebuilt = services.escalation_detector()
    assert rebuilt is not detector
    assert rebuilt.detect([CallTurn("customer", "转人工")]) == []
    assert (
        services.audit.events(action="escalation_rule_change")[0].details["rule"] == "human_request"
    )


def _write(path: Path, rows: list[dict]) -> None:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")


def test_eval_runner_reports_per_category_figures(tmp_path: Path, embedder):
    from eval.escalation import CATEGORIES, render, run

    def row(n: int, labels: list[str], *texts: str) -> dict:
        turns = [{"speaker": "customer", "text": t} for t in texts]
        return {"id": f"t{n}", "lang": "en", "source": "test", "labels": labels, "turns": turns}

    tune = [
        row(1, ["complaint"], "This is unacceptable, I want to complain"),
        row(2, [], "I don't want to complain, just asking about fees"),
        row(3, ["bereavement"], "My husband passed away last week"),
    ]
    test = [
        row(1, ["complaint"], "I want to make a complaint"),
        row(2, [], "I don't want to complain, I just want to know the CHAPS fee"),
        row(3, [], "my dad's card expired"),
        row(4, ["fraud_scam"], "There is a payment on my account I didn't make"),
        row(5, ["bereavement"], "我爸爸上个月去世了"),
    ]
    _write(tmp_path / "tune.jsonl", tune)
    _write(tmp_path / "test-small.jsonl", test)
    report = run(embedder=embedder, data_dir=tmp_path)
    results = report["results"]["test"]
    assert set(results) == {"keyword baseline", "rules (no model)", "rules + meaning"}
    for system in results.values():
        assert set(system["categories"]) == set(CATEGORIES)
    rules = results["rules (no model)"]
    assert rules["categories"]["complaint"] == {
        "tp": 1, "fp": 0, "fn": 0, "precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1
    }  # fmt: skip
    assert rules["false_alarm_rate"] == 0.0
    baseline = results["keyword baseline"]["categories"]["complaint"]
    assert (baseline["tp"], baseline["fp"]) == (1, 1)  # no negation: fires on "don't want to"
    assert report["data"]["test"]["transcripts"] == 5
    assert report["calibration"]["chosen_threshold"] in [
        r["threshold"] for r in report["calibration"]["sweep"]
    ]
    markdown = render(report)
    assert "| complaint | 1 |" in markdown and "keyword baseline" in markdown


@pytest.mark.parametrize(
    ("fallback", "fires"),
    [
        ("I'm afraid I cannot assist with that request.", True),
        ("抱歉，这个我还回答不了。", True),
        ("Your new card will arrive in 5 working days.", False),
    ],
)
def test_bot_failures_by_meaning(embedder, fallback, fires):
    turns = [
        CallTurn("customer", "how do I close my account"),
        CallTurn("bot", fallback),
        CallTurn("customer", "what are your opening hours"),
        CallTurn("bot", fallback),
    ]
    rules = load_rule_set()
    assert EscalationDetector(rules).detect(turns) == []  # no phrase of the rule is there
    alerts = EscalationDetector(rules, embedder=embedder).detect(turns)
    assert [(a.category, a.turn_index) for a in alerts] == ([("bot_failure", 3)] if fires else [])
