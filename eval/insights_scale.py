"""How long the Insights page's topic clustering takes, and how much memory, as the number of
distinct failing questions grows (kb.insights.cluster_gaps).

    .venv/bin/python -m eval.insights_scale [--sizes 1000 3000 10000 30000]

Synthetic: questions on 60 subjects (each a random direction in the embedding's 384
dimensions, each question its subject plus noise), about a fifth of them asked more than
once, vectors in place of the model's (clustering is what grows; embedding is linear and
cached). Each size runs in a fresh process so its peak memory is its own. `--all` clusters
every distinct question (the code's behaviour before kb.insights.MAX_CLUSTERED), to compare
in the same command. Writes eval/reports/insights-scale.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPORTS = Path(__file__).parent / "reports"
SUBJECTS = 60


def _questions(distinct: int):  # type: ignore[no-untyped-def]
    from kb.insights import GapQuestion, GapReason

    rng = np.random.default_rng(distinct)
    directions = rng.standard_normal((SUBJECTS, 384))
    day = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)
    questions, rows = [], []
    for n in range(distinct):
        subject = int(rng.integers(SUBJECTS))
        vector = directions[subject] + 0.9 * rng.standard_normal(384)
        for _ in range(3 if n % 5 == 0 else 1):
            at = (day + dt.timedelta(minutes=n)).isoformat()
            text = f"question {n} on subject {subject}"
            questions.append(
                GapQuestion(at, "agent", text, text, (GapReason.REFUSED,), 0.2, (), "en", None)
            )
            rows.append(vector)
    vectors = np.asarray(rows)
    return questions, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def one(distinct: int, everything: bool) -> dict:
    """Cluster `distinct` questions in this process; seconds, peak memory, topics."""
    import kb.insights as insights

    if everything:
        insights.MAX_CLUSTERED = 10**9
    questions, vectors = _questions(distinct)
    started = time.perf_counter()
    topics = insights.cluster_gaps(questions, vectors)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "distinct": distinct,
        "all": everything,
        "seconds": round(seconds, 2),
        "peak_mb": round(peak_mb),
        "topics": len(topics),
        "largest": max(t.count for t in topics),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 3_000, 10_000, 30_000])
    parser.add_argument("--all", type=int, nargs="*", default=[3_000, 10_000],
                        help="sizes also clustered whole, as before the cap")  # fmt: skip
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--whole", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one is not None:
        print(json.dumps(one(args.one, args.whole)))
        return 0
    points = []
    for size in args.sizes:
        for whole in (False, True) if size in args.all else (False,):
            command = [sys.executable, "-m", "eval.insights_scale", "--one", str(size)]
            done = subprocess.run(
                command + (["--whole"] if whole else []),
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            points.append(json.loads(done.stdout))
            print(points[-1], file=sys.stderr, flush=True)
    REPORTS.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Insights: clustering failing questions into topics, as they grow",
        "",
        f"Command: `python -m eval.insights_scale {' '.join(argv or sys.argv[1:])}`. Machine: "
        f"{os.cpu_count()} cores, {platform.platform()}. Synthetic questions on {SUBJECTS} "
        "subjects (see the module); each row is a fresh process.",
        "",
        "| distinct failing questions | clustered | seconds | peak memory, MB | topics | largest |",
        "|---|---|---|---|---|---|",
    ]
    for p in points:
        clustered = "all at once (before)" if p["all"] else "3,000 at a time, the rest attached"
        if not p["all"] and p["distinct"] <= 3_000:
            clustered = "all"
        lines.append(
            f"| {p['distinct']:,} | {clustered} | {p['seconds']} | {p['peak_mb']} | "
            f"{p['topics']} | {p['largest']} |"
        )
    lines += [
        "",
        "Average linkage holds an n x n similarity matrix, twice: clustering everything grows "
        "with the square of the distinct failing questions, in time and memory. Beyond "
        "3,000 (kb.insights.MAX_CLUSTERED) the most asked are clustered, each other "
        "question joins the topic it has the highest average similarity with when that "
        "reaches the linkage's own threshold, and those that join none are clustered in the "
        "next round, 3,000 at a time.",
        "",
    ]
    (REPORTS / "insights-scale.md").write_text("\n".join(lines))
    print(REPORTS / "insights-scale.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
