"""How well knowledge-gap topics match what customers were actually asking about.

Real customer messages from BANKING77 carry an intent label written by people. Stand them in
for failing questions, cluster them as the Insights page does, and compare the topics with
the intents: a topic should hold one intent (purity) and an intent should stay in one topic
(inverse purity). Pairwise precision/recall/F1 say the same per pair of questions.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Sequence
from itertools import combinations
from pathlib import Path

import numpy as np

from kb.insights import GapQuestion, GapReason, cluster_gaps, reference_vectors
from kb.training.banking77 import load_messages

INTENTS = 12
PER_INTENT = 12
THRESHOLDS = (0.15, 0.2, 0.25, 0.3)


def purity(clusters: Sequence[Sequence[str]]) -> float:
    """Share of items that belong to their cluster's most common label."""
    total = sum(len(c) for c in clusters)
    return sum(Counter(c).most_common(1)[0][1] for c in clusters if c) / total if total else 0.0


def inverse_purity(clusters: Sequence[Sequence[str]]) -> float:
    """Share of items in the cluster holding most of their label (labels kept together)."""
    by_label: dict[str, Counter[int]] = {}
    for number, cluster in enumerate(clusters):
        for label in cluster:
            by_label.setdefault(label, Counter())[number] += 1
    total = sum(len(c) for c in clusters)
    return sum(c.most_common(1)[0][1] for c in by_label.values()) / total if total else 0.0


def pairwise(clusters: Sequence[Sequence[str]]) -> dict[str, float]:
    """Precision, recall and F1 over pairs of items: same cluster vs same label."""
    items = [(label, number) for number, c in enumerate(clusters) for label in c]
    same_both = same_cluster = same_label = 0
    for (label_a, cluster_a), (label_b, cluster_b) in combinations(items, 2):
        same_cluster += cluster_a == cluster_b
        same_label += label_a == label_b
        same_both += cluster_a == cluster_b and label_a == label_b
    precision = same_both / same_cluster if same_cluster else 0.0
    recall = same_both / same_label if same_label else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def sample_messages(folder: Path, intents: int = INTENTS, per_intent: int = PER_INTENT):  # type: ignore[no-untyped-def]
    """A fixed sample: every (77 // intents)-th intent, its first `per_intent` messages."""
    splits = [s for s in ("test", "train") if (folder / f"{s}.csv").exists()]
    messages = load_messages(folder, splits)
    categories = sorted({m.category for m in messages})
    chosen = categories[:: max(len(categories) // intents, 1)][:intents]
    sample = []
    for category in chosen:
        sample += [m for m in messages if m.category == category][:per_intent]
    return sample


SAMPLES = {"a day's gaps (4 intents x 5)": (4, 5), "a month's gaps (12 intents x 12)": (12, 12)}


def evaluate_gaps(folder: Path, embed_query: Callable[[str], np.ndarray]) -> dict:
    """Both sample sizes, every threshold, with and without the reference questions."""
    reference = reference_vectors(embed_query)
    runs = {
        name: _evaluate_sample(sample_messages(folder, *size), embed_query, reference)
        for name, size in SAMPLES.items()
    }
    return {"samples": runs}


def _evaluate_sample(sample, embed_query, reference) -> dict:  # type: ignore[no-untyped-def]
    at = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC).isoformat(timespec="seconds")
    questions = [
        GapQuestion(at, "agent", m.text, m.text, (GapReason.REFUSED,), 0.1, (), "en")
        for m in sample
    ]
    label_of = {m.text: m.category for m in sample}
    started = time.perf_counter()
    vectors = np.vstack([np.asarray(embed_query(q.question), dtype=np.float64) for q in questions])
    embed_seconds = time.perf_counter() - started
    rows = []
    for use_reference in (True, False):
        for threshold in THRESHOLDS:
            started = time.perf_counter()
            topics = cluster_gaps(
                questions, vectors, threshold, reference if use_reference else None
            )
            seconds = time.perf_counter() - started
            clusters = [[label_of[q.question] for q in topic.questions] for topic in topics]
            rows.append(
                {
                    "threshold": threshold,
                    "reference": use_reference,
                    "topics": len(topics),
                    "purity": round(purity(clusters), 3),
                    "inverse_purity": round(inverse_purity(clusters), 3),
                    **{k: round(v, 3) for k, v in pairwise(clusters).items()},
                    "cluster_ms": round(seconds * 1000, 1),
                }
            )
    return {
        "messages": len(questions),
        "intents": sorted({m.category for m in sample}),
        "embed_seconds": round(embed_seconds, 2),
        "rows": rows,
    }


def markdown(result: dict, command: str) -> str:
    sections = "".join(_sample_markdown(name, run) for name, run in result["samples"].items())
    return (
        "# Knowledge-gap topics against customers' real intents\n\n"
        f"`{command}`: real customer messages (BANKING77, labelled with their intent by people) "
        "stand in for failing questions and are clustered as the Insights page does (default: "
        "threshold 0.2, with reference questions). A topic should hold one intent (purity) and "
        "an intent should stay in one topic (inverse purity).\n" + sections
    )


def _sample_markdown(name: str, result: dict) -> str:
    header = (
        "| threshold | reference questions | topics | purity | inverse purity | "
        "pair precision | pair recall | pair F1 | clustering ms |\n|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = "".join(
        f"| {r['threshold']} | {'yes' if r['reference'] else 'no'} | {r['topics']} | {r['purity']} | "
        f"{r['inverse_purity']} | {r['precision']} | {r['recall']} | {r['f1']} | {r['cluster_ms']} |\n"
        for r in result["rows"]
    )
    return (
        f"\n## {name}: {result['messages']} messages\n\nIntents: {', '.join(result['intents'])}. "
        f"Embedding took {result['embed_seconds']} s.\n\n" + header + lines
    )
