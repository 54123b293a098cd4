"""`kb eval beir` on small BEIR datasets built here from tests/data files and from JSONL."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from eval.run import evaluate_beir
from tests.conftest import GOOD

pytestmark = pytest.mark.integration

FILES = {
    "POL-WIRE": "policy.pdf",
    "PROC-CARD": "procedure.docx",
    "WEB-RESET": "page.html",
    "ZH-CARD": "zh_procedure.pdf",
    "DECK-ABROAD": "deck.pptx",
}
QUERIES = [
    ("q1", "What is the cut-off time for USD wire transfers?", [], "POL-WIRE"),
    ("q2", "How do I block a stolen debit card?", [], "PROC-CARD"),
    ("q3", "customer forgot their online banking password", [], "WEB-RESET"),
    ("q4", "借记卡丢了怎么挂失？", [], "ZH-CARD"),
    (
        "q5",
        "and what does express replacement cost?",
        [{"role": "user", "text": "How do I block a stolen debit card?"}],
        "PROC-CARD",
    ),
    ("q6", "card declined while travelling overseas", [], "DECK-ABROAD"),
]


def _write_queries(folder):
    (folder / "qrels").mkdir(parents=True)
    with (folder / "queries.jsonl").open("w", encoding="utf-8") as handle:
        for qid, text, history, _ in QUERIES:
            handle.write(
                json.dumps({"_id": qid, "text": text, "history": history}, ensure_ascii=False)
                + "\n"
            )
    lines = ["query-id\tcorpus-id\tscore"] + [f"{qid}\t{cid}\t1" for qid, _, _, cid in QUERIES]
    (folder / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n")


def test_beir_with_a_folder_of_real_files(tmp_path):
    dataset = tmp_path / "bank-docs"
    (dataset / "docs").mkdir(parents=True)
    for corpus_id, name in FILES.items():
        shutil.copy(GOOD / name, dataset / "docs" / f"{corpus_id}{(GOOD / name).suffix}")
    _write_queries(dataset)
    result = evaluate_beir(dataset, tmp_path / "work")
    assert result["documents"] == 5 and result["ingested"] == 5 and result["failed"] == []
    assert result["queries"] == 6
    assert result["recall@5"] >= 0.8 and result["mrr@10"] > 0.5
    assert result["p50_ms"] > 0


def test_beir_cli_with_corpus_jsonl_leaves_the_users_base_alone(tmp_path):
    dataset = tmp_path / "tiny"
    dataset.mkdir()
    corpus = [
        {
            "_id": "A",
            "title": "Lost cards",
            "text": "Block a lost or stolen card at once with reason code LS01.",
        },
        {
            "_id": "B",
            "title": "Wire cut-off",
            "text": "USD wire transfers sent after 16:00 leave the next working day.",
        },
        {
            "_id": "C",
            "title": "Password reset",
            "text": "Reset an online banking password after two-factor checks.",
        },
    ]
    (dataset / "corpus.jsonl").write_text("\n".join(json.dumps(row) for row in corpus) + "\n")
    (dataset / "qrels").mkdir()
    (dataset / "queries.jsonl").write_text(
        json.dumps({"_id": "q", "text": "my card was stolen"}) + "\n"
    )
    (dataset / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq\tA\t1\n")
    user_base = tmp_path / "user-kb"
    env = {**os.environ, "KB_DATA_DIR": str(user_base)}
    report_dir = tmp_path / "reports"
    done = subprocess.run(
        [sys.executable, "-m", "kb.cli", "eval", "beir", str(dataset), "--report-dir", str(report_dir)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads((report_dir / "beir-tiny.json").read_text())
    assert result["recall@1"] == 1.0 and result["documents"] == 3
    assert "| recall@5 | 1.0 |" in (report_dir / "beir-tiny.md").read_text()
    assert not user_base.exists()

    broken = tmp_path / "broken"
    broken.mkdir()
    failed = subprocess.run(
        [sys.executable, "-m", "kb.cli", "eval", "beir", str(broken)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert failed.returncode == 1 and "neither corpus.jsonl nor a docs/ folder" in failed.stderr
