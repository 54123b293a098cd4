"""The `kb` command as the knowledge team uses it, in a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import BAD, GOOD, copy_kb

pytestmark = pytest.mark.integration


def kb(data_dir, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "KB_DATA_DIR": str(data_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "kb.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_ingest_report_docs_and_delete(tmp_path):
    data_dir = tmp_path / "kb"
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("policy.pdf", "procedure.docx", "zh_procedure.pdf"):
        (folder / name).write_bytes((GOOD / name).read_bytes())
    (folder / "fake.pdf").write_bytes((BAD / "fake.pdf").read_bytes())
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("file,groups\nprocedure.docx,cards-team\n", encoding="utf-8")

    first = kb(data_dir, "ingest", "--no-progress", str(folder), "--manifest", str(manifest))
    lines = first.stdout.splitlines()
    assert any(line.startswith("added      policy.pdf: policy v1, ") for line in lines)
    assert any(
        line.startswith("FAILED     fake.pdf: named .pdf but it is really a web page")
        for line in lines
    )
    assert "4 files" in lines[-1] and "3 added" in lines[-1] and "1 failed" in lines[-1]

    again = kb(data_dir, "ingest", "--no-progress", str(folder))
    assert "3 unchanged" in again.stdout and "0 chunks embedded" in again.stdout

    listing = kb(data_dir, "docs", "list").stdout
    assert "3 documents" in listing and "[cards-team]" in listing

    shown = kb(data_dir, "docs", "show", "policy").stdout
    assert "Wire Transfer Cut-off Times and Fees Policy" in shown
    assert "v1 current" in shown and "effective: 2025-01-15" in shown and "Fees" in shown

    kb(data_dir, "docs", "delete", "policy")
    assert "2 documents" in kb(data_dir, "docs", "list").stdout
    missing = kb(data_dir, "docs", "show", "nope", check=False)
    assert missing.returncode == 1 and "no document with id 'nope'" in missing.stderr


def test_every_file_failing_exits_non_zero(tmp_path):
    result = kb(tmp_path / "kb", "ingest", "--no-progress", str(BAD / "fake.pdf"), check=False)
    assert result.returncode == 1 and "FAILED" in result.stdout
    bad_date = kb(tmp_path / "kb", "ingest", str(GOOD), "--effective-date", "soon", check=False)
    assert bad_date.returncode == 2 and "YYYY-MM-DD" in bad_date.stderr


def test_ask_prints_steps_json_and_batch(tmp_path, kb_template):
    import json

    # What `kb ingest` of these three files builds (test_ingest_report_docs_and_delete runs
    # it), made once in-process and copied: `kb ask` is what this test is about.
    files = tuple(GOOD / name for name in ("procedure.docx", "policy.pdf", "zh_procedure.pdf"))
    data_dir = copy_kb(kb_template(files, by="cli"), tmp_path / "kb")

    text = kb(data_dir, "ask", "How do I block a lost debit card?", "--as-of", "2026-11-25").stdout
    assert "Steps:" in text and "1. Verify the caller's identity" in text
    assert "[Reporting a Lost or Stolen Debit Card > Procedure > Blocking the card" in text

    record = json.loads(
        kb(
            data_dir, "ask", "wire transfer fee at a branch", "--json", "--as-of", "2026-01-20"
        ).stdout
    )
    assert record["status"] == "answered"
    source = record["passages"][0]["citation"]
    assert {source["document_id"], source["source_name"]} == {"policy", "policy.pdf"} and source[
        "title"
    ]

    refused = kb(data_dir, "ask", "how do I bake bread", "--as-of", "2026-01-20").stdout
    assert refused.startswith("NOT COVERED") and "escalate" in refused

    history = tmp_path / "history.json"
    history.write_text(json.dumps([{"role": "user", "text": "How do I block a lost debit card?"}]))
    follow = json.loads(
        kb(
            data_dir,
            "ask",
            "and what does express replacement cost?",
            "--history",
            str(history),
            "--json",
        ).stdout
    )
    assert follow["resolved_question"].startswith("How do I block a lost debit card?")

    batch = tmp_path / "questions.jsonl"
    batch.write_text(
        json.dumps({"question": "How do I block a lost debit card?"})
        + "\n"
        + json.dumps(
            {"question": "and in Chinese?", "history": [{"role": "user", "text": "借记卡挂失"}]}
        )
        + "\n"
    )
    out = tmp_path / "answers.jsonl"
    kb(data_dir, "ask", "--batch", str(batch), "--output", str(out))
    answers = [json.loads(line) for line in out.read_text().splitlines()]
    assert [a["id"] for a in answers] == [1, 2] and answers[0]["steps"]

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "no question key"}\n')
    failed = kb(data_dir, "ask", "--batch", str(bad), check=False)
    assert failed.returncode == 1 and "line 1" in failed.stderr


def test_as_user_limits_what_is_seen(tmp_path):
    data_dir = tmp_path / "kb"
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "policy.pdf").write_bytes((GOOD / "policy.pdf").read_bytes())
    kb(data_dir, "ingest", "--no-progress", "--groups", "payments-team", str(folder))
    kb(data_dir, "users", "add", "ana", "--role", "agent")
    kb(data_dir, "users", "add", "pat", "--role", "agent", "--groups", "payments-team")
    assert "pat" in kb(data_dir, "users", "list").stdout
    outsider = kb(
        data_dir, "ask", "wire transfer cut-off times", "--as-user", "ana", "--json"
    ).stdout
    insider = kb(
        data_dir, "ask", "wire transfer cut-off times", "--as-user", "pat", "--json"
    ).stdout
    assert "policy.pdf" not in outsider and "policy.pdf" in insider
    unknown = kb(data_dir, "ask", "x", "--as-user", "nobody", check=False)
    assert unknown.returncode == 1 and "no user called 'nobody'" in unknown.stderr


def test_everything_is_audited_and_customer_data_masked(tmp_path):
    data_dir = tmp_path / "kb"
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "procedure.docx").write_bytes((GOOD / "procedure.docx").read_bytes())
    kb(data_dir, "ingest", "--no-progress", str(folder))
    kb(data_dir, "users", "add", "ana", "--role", "agent", "--password", "correct horse")
    kb(
        data_dir,
        "ask",
        "card 4539 1488 0343 6467 was stolen, how do I block it?",
        "--as-user",
        "ana",
    )
    kb(data_dir, "docs", "delete", "procedure")
    listing = kb(data_dir, "audit").stdout
    for action in ("upload", "user_change", "question", "answer_shown", "deletion"):
        assert action in listing
    assert "4539" not in listing and "[card ****6467]" in listing
    only_ana = kb(data_dir, "audit", "--user", "ana").stdout.splitlines()
    assert only_ana and all(" ana " in line for line in only_ana)
    export = tmp_path / "audit.csv"
    kb(data_dir, "audit", "--csv", str(export))
    assert export.read_text().startswith("id,at,user,action,details")
    assert "intact" in kb(data_dir, "audit", "--verify").stdout


def test_insights_reports_gaps_from_questions_asked(tmp_path, kb_template):
    # `kb ingest procedure.docx`, made once in-process and copied (see above).
    data = copy_kb(kb_template((GOOD / "procedure.docx",), by="cli"), tmp_path / "kb")
    batch = tmp_path / "calls.jsonl"
    batch.write_text(
        "\n".join(
            json.dumps({"question": q})
            for q in (
                "How do I block a lost debit card?",
                "can the customer buy bitcoin with their account",
                "does the bank let customers purchase cryptocurrency",
            )
        ),
        encoding="utf-8",
    )
    kb(data, "ask", "--batch", str(batch), "--output", str(tmp_path / "answers.jsonl"))
    out = tmp_path / "gaps.csv"
    report = kb(data, "insights", "--csv", str(out)).stdout
    assert "3 questions, 2 refused" in report
    assert "bitcoin" in report or "cryptocurrency" in report
    rows = out.read_text(encoding="utf-8").splitlines()
    assert len(rows) == 3 and rows[0].startswith("topic")
