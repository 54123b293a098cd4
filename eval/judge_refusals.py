"""What the answer judge (eval/answer_judge.py) adds to the refusal evidence, held out.

For each golden and agent-style question, as `ask` plans and searches it, the judge reads
the question with every two-sentence window of the first three current passages. Three
candidate signals: `judge_top` (best window of the top passage), `judge_overlap` (the top
passage's window sharing most content words with the question: one forward pass, the
cheapest to ship) and `judge_top3` (best window of the top three passages). Each is judged
alone (ROC AUC for must-refuse, by language) and added to the shipped evidence with
eval.answerability's fit (sign-free for the new signal, 5-fold held out, and the golden fit
applied to the agent-style rewrites).

    KB_DATA_DIR=<samples base> python -m eval.judge_refusals [--weights FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from eval.answer_judge import JUDGE_FILE, AnswerJudge
from eval.answerability import fit_refusals, roc_auc
from eval.golden import load_agent_style, load_golden
from eval.metrics import precision_recall, stratified_folds
from eval.run import CV_FOLDS, CV_SEED, query_of
from kb.confidence import ConfidenceEvidence, content_words
from kb.lexical import tokenize
from kb.types import DocumentStatus

REPORTS = Path(__file__).parent / "reports"
JUDGE_SIGNALS = ("judge_top", "judge_overlap", "judge_top3")
SENTENCE = re.compile(r"(?<=[.!?。！？；])\s*")


def windows(text: str) -> list[str]:
    """Two-sentence windows of a passage, as the judge was trained on (eval.train_judge)."""
    parts = [s.strip() for s in SENTENCE.split(text) if s.strip()]
    if len(parts) < 2:
        return [text.strip()]
    return [" ".join(parts[i : i + 2]) for i in range(len(parts) - 1)]


def overlap(question: str, window: str) -> int:
    return len(set(content_words(tokenize(question))) & set(tokenize(window)))


def collect(services, judge: AnswerJudge, questions, label: str) -> list[dict]:  # type: ignore[no-untyped-def]
    rows = []
    for question in questions:
        query = query_of(question, k=8)
        plan = services.plan(query)
        wide = replace(query, include_inactive=True, k=query.k + 4)
        hits = [h for h in services.search_hits(wide, plan) if h.status == DocumentStatus.CURRENT]
        row = {
            "set": label,
            "id": question.id,
            "language": question.language,
            "must_refuse": question.must_refuse,
            "evidence": dataclasses.asdict(services.confidence_evidence(query)),
            **dict.fromkeys(JUDGE_SIGNALS, 0.0),
        }
        best = []
        for n, hit in enumerate(hits[:3]):
            parts = windows(hit.chunk.text)
            scores = judge.judge_many([(plan.question, w) for w in parts])
            best.append(max(scores))
            if n == 0:
                nearest = int(np.argmax([overlap(plan.question, w) for w in parts]))
                row["judge_overlap"] = scores[nearest]
        if best:
            row["judge_top"], row["judge_top3"] = best[0], max(best)
        rows.append(row)
    return rows


def value(row: dict, name: str) -> float:
    return float(row[name] if name in JUDGE_SIGNALS else row["evidence"][name])


def evaluate(rows: list[dict]) -> dict:
    shipped = ConfidenceEvidence.names()
    golden = [r for r in rows if r["set"] == "golden"]
    agent = [r for r in rows if r["set"] == "agent-style"]

    def x(part: list[dict], names) -> np.ndarray:  # type: ignore[no-untyped-def]
        return np.array([[value(r, n) for n in names] for r in part], dtype=float)

    def y(part: list[dict]) -> np.ndarray:
        return np.array([r["must_refuse"] for r in part], dtype=bool)

    auc = {}
    for label, part in (("golden", golden), ("agent-style", agent)):
        for language in ("all", "en", "zh"):
            sub = [r for r in part if language in ("all", r["language"])]
            auc[f"{label} {language}"] = {
                n: round(roc_auc(-x(sub, [n])[:, 0], y(sub)), 3)
                for n in ("similarity", *JUDGE_SIGNALS)
            }
    folds = np.array(
        stratified_folds([f"{r['language']}:{r['must_refuse']}" for r in golden], CV_FOLDS, CV_SEED)
    )
    fits = {}
    for label, names in (
        ("shipped", shipped),
        *((f"+{s}", (*shipped, s)) for s in JUDGE_SIGNALS),
    ):
        xg, yg = x(golden, names), y(golden)
        held = np.zeros(len(golden), dtype=bool)
        for fold in range(CV_FOLDS):
            test = folds == fold
            held[test] = fit_refusals(xg[~test], yg[~test], names).refuses(xg[test])
        fit = fit_refusals(xg, yg, names)
        agent_refused, ya = fit.refuses(x(agent, names)), y(agent)
        fits[label] = {
            "in_sample": precision_recall(list(fit.refuses(xg)), list(yg)).as_dict(),
            "held_out": precision_recall(list(held), list(yg)).as_dict(),
            "agent_style": precision_recall(list(agent_refused), list(ya)).as_dict(),
            "agent_style_answerable_refused": round(float(agent_refused[~ya].mean()), 4),
        }
    return {"auc_must_refuse": auc, "fits": fits}


def markdown(result: dict, meta: dict) -> str:
    def pr(d: dict) -> str:
        return f"{d['precision']:.2f} / {d['recall']:.2f}"

    lines = [
        "## The answer judge added to the evidence (eval/judge_refusals.py)",
        "",
        f"Weights: {meta['weights']} ({meta['training']}). {meta['seconds']} s for "
        f"{meta['questions']} questions (every window of three passages).",
        "",
        "ROC AUC for must-refuse of each signal alone:",
        "",
        "| questions | " + " | ".join(("similarity", *JUDGE_SIGNALS)) + " |",
        "|---|" + "---|" * (1 + len(JUDGE_SIGNALS)),
        *(
            f"| {k} | " + " | ".join(f"{v:.3f}" for v in row.values()) + " |"
            for k, row in result["auc_must_refuse"].items()
        ),
        "",
        "| evidence | in-sample | held out | agent-style | agent-style answerable refused |",
        "|---|---|---|---|---|",
        *(
            f"| {k} | {pr(f['in_sample'])} | {pr(f['held_out'])} | {pr(f['agent_style'])} "
            f"| {f['agent_style_answerable_refused']:.3f} |"
            for k, f in result["fits"].items()
        ),
        "",
    ]
    return "\n".join(lines)


def training_record(weights: Path) -> str:
    """eval.train_judge's summary beside the weights, without its list of held-out topics."""
    path = weights.with_suffix(".json")
    if not path.exists():
        return "no training record"
    record = json.loads(path.read_text())
    record.pop("validation_topics", None)
    return ", ".join(f"{k} {v}" for k, v in record.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=JUDGE_FILE)
    parser.add_argument("--out", type=Path, default=REPORTS / "refusals-judge")
    args = parser.parse_args(argv)
    from kb.config import Settings
    from kb.services import build_services

    judge = AnswerJudge(args.weights)
    services = build_services(Settings())
    started = time.perf_counter()
    rows = collect(services, judge, load_golden(), "golden")
    rows += collect(services, judge, load_agent_style(), "agent-style")
    services.close()
    meta = {
        "weights": str(args.weights),
        "training": training_record(args.weights),
        "seconds": round(time.perf_counter() - started, 1),
        "questions": len(rows),
    }
    result = {**evaluate(rows), "meta": meta, "per_question": rows}
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=1, default=float) + "\n")
    text = markdown(result, meta)
    args.out.with_suffix(".md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
