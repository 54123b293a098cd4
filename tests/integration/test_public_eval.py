"""`evaluate_public` and `kb eval public` end to end on a tiny dialogue set written here.

Two conversations end with the same words, "do they deliver?", about two different
restaurants: only the history says which. So a system that drops the history cannot rank
both gold documents first, while the plain concatenating baseline must; that keeps the test
from passing on a runner that ignores history or scores nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from eval.public import SYSTEMS, evaluate_public, markdown_report

pytestmark = pytest.mark.integration

CORPUS = [
    ("roma-deliver", "Pizza Roma: Do you deliver?", "Yes, Pizza Roma will deliver within three miles."),
    ("zen-deliver", "Sushi Zen: Do you deliver?", "No, Sushi Zen does not deliver; pick-up only."),
    ("roma-parking", "Pizza Roma: Is there parking?", "Free parking behind Pizza Roma."),
    ("zen-parking", "Sushi Zen: Is there parking?", "Only street parking near Sushi Zen."),
    ("roma-vegan", "Pizza Roma: Vegan options?", "Pizza Roma has two vegan pizzas."),
    ("grand-checkin", "Grand Hotel: What time is check-in?", "Check-in at the Grand Hotel starts at 3 pm."),
    ("grand-breakfast", "Grand Hotel: Is breakfast included?", "Breakfast is included at the Grand Hotel."),
    ("harbour-checkin", "Harbour Inn: What time is check-in?", "Check-in at the Harbour Inn starts at 2 pm."),
    ("zoo-military", "City Zoo: Military discount?", "The City Zoo gives veterans a 20% discount."),
    ("museum-applepay", "Art Museum: Apple Pay?", "The Art Museum accepts Apple Pay at the door."),
]  # fmt: skip
QUERIES = [
    (
        "d1",
        [("user", "I'd like dinner at Pizza Roma tonight."),
         ("assistant", "Pizza Roma is a great Italian place in North Beach.")],
        "do they deliver?",
        "roma-deliver",
    ),
    (
        "d2",
        [("user", "What about Sushi Zen in Japantown?"),
         ("assistant", "Sushi Zen is open until ten tonight.")],
        "do they deliver?",
        "zen-deliver",
    ),
    ("q3", [], "What time is check-in at the Grand Hotel?", "grand-checkin"),
]  # fmt: skip


def _write_dataset(folder):
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": i, "title": t, "text": x}) + "\n" for i, t, x in CORPUS)
    )
    rows = [
        {"_id": qid, "text": text, "history": [{"role": r, "text": t} for r, t in history],
         "kind": "follow_up" if history else "first_turn"}
        for qid, history, text, _ in QUERIES
    ]  # fmt: skip
    (folder / "queries.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    qrels = ["query-id\tcorpus-id\tscore"] + [f"{q[0]}\t{q[3]}\t1" for q in QUERIES]
    (folder / "qrels" / "test.tsv").write_text("\n".join(qrels) + "\n")
    (folder / "manifest.json").write_text(
        json.dumps({"title": "tiny dialogues", "licence": "test data", "url": "-"})
    )
    return folder


def test_four_systems_scored_and_history_matters(tmp_path, embedder):
    dataset = _write_dataset(tmp_path / "tiny")
    stages = []
    result = evaluate_public(
        dataset, tmp_path / "work", lambda stage, done, total: stages.append(stage), embedder
    )
    assert result["documents"] == 10 and result["ingested"] == 10 and not result["failed"]
    assert result["queries"] == 3 and {"ingest", "baseline index", "queries"} <= set(stages)
    systems = {row["system"]: row for row in result["systems"]}
    assert list(systems) == [name for name, _ in SYSTEMS]
    for row in systems.values():
        assert all(0.0 <= row[k] <= 1.0 for k in ("recall@1", "recall@5", "recall@10", "mrr@10"))
        assert row["recall@1"] <= row["recall@5"] <= row["recall@10"]
    assert systems["answerdesk"]["p50_ms"] > 0 and systems["answerdesk"]["p95_ms"] > 0

    # The plain baseline reads the history, so it finds every gold document first.
    assert systems["bm25_dense_concat"]["recall@1"] == 1.0
    assert systems["bm25_dense_concat"]["recall@5"] == 1.0
    # Without history the two "do they deliver?" turns get the same ranking: at most one
    # of them can have its gold document first.
    ranks = {row["id"]: row for row in result["per_query"]}
    latest = (ranks["d1"]["answerdesk_latest_turn"], ranks["d2"]["answerdesk_latest_turn"])
    assert latest != (1, 1)
    assert systems["answerdesk_latest_turn"]["recall@1"] < 1.0
    assert set(result["by_kind"]) == {"follow_up", "first_turn"}
    assert ranks["q3"]["answerdesk_plan"] == "latest turn alone"  # no history to use
    split = result["by_answerdesk_plan"]
    assert sum(group["n"] for group in split.values()) == 3
    for key in ("recall@1", "recall@5"):
        assert set(result["paired_vs_answerdesk"][key]) == {name for name, _ in SYSTEMS[1:]}

    report = markdown_report({"datasets": {"tiny": result}})
    for _, label in SYSTEMS:
        assert label in report
    assert "tiny dialogues" in report and "test data" in report


def test_cli_writes_reports_and_rejects_unknown_dataset(tmp_path):
    data_dir = tmp_path / "public"
    _write_dataset(data_dir / "tiny")
    report_dir = tmp_path / "reports"
    env = {**os.environ, "KB_DATA_DIR": str(tmp_path / "user-kb")}
    done = subprocess.run(
        [sys.executable, "-m", "kb.cli", "eval", "public", "--data-dir", str(data_dir),
         "--report-dir", str(report_dir), "--no-progress"],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    saved = json.loads((report_dir / "public.json").read_text())
    assert list(saved["datasets"]) == ["tiny"]
    assert len(saved["datasets"]["tiny"]["systems"]) == 4
    assert "| AnswerDesk (history as the app uses it) |" in done.stdout
    assert (report_dir / "public.md").read_text().startswith("# Retrieval on public datasets")
    assert not (tmp_path / "user-kb").exists()

    missing = subprocess.run(
        [sys.executable, "-m", "kb.cli", "eval", "public", "--data-dir", str(data_dir),
         "--dataset", "nope", "--report-dir", str(report_dir)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert missing.returncode == 1 and "no dataset 'nope'" in missing.stderr
