"""The audit bench's fast trail builder leaves a trail `record` would have left (eval.audit_bench)."""

from __future__ import annotations

from pathlib import Path

from eval import audit_bench
from eval.audit_bench import build, measure, open_log, write_report


def test_a_built_trail_verifies_and_the_timed_questions_extend_it(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(audit_bench, "QUESTIONS", 3)
    log, _ = open_log("local", tmp_path, None)
    log.record("ana", "sign_in")
    build(log, 250, batch=100)
    assert log.verify() is None and log.problems() == []
    point = measure(log, "local", 250)
    assert point.events == 250 and point.per_question_ms > 0
    assert len(log.events(limit=1000)) == 250 + 2 * 3
    assert log.problems() == []
    log.close()
    report = write_report([point], "cmd", tmp_path / "reports").read_text()
    assert "| local | 250 |" in report
