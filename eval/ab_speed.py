"""Two versions of the code timed on one base in the same command, alternately, so the
machine's load (shared, noisy) weighs on both alike: before/after ratios of ask().

    git archive <before> | tar -x -C /tmp/before      # and the same for the after tree
    python -m eval.ab_speed /tmp/before /tmp/after --data-dir /tmp/kb100k [--schema NAME]

Each round runs one subprocess per tree (cwd = the tree, so its `kb` is imported): it opens
the base, asks the first `--questions` golden questions once (warming caches and the
question vectors), then again timed: the warm latencies with the question's vector kept,
the part of ask() that is ours. Rounds alternate which tree goes first.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

_CHILD = r"""
import json, os, sys, time
from pathlib import Path
from eval.golden import REFERENCE_DATE, load_golden
from kb.config import Settings
from kb.embedding import create_embedder
from kb.services import Services
from kb.store import KnowledgeBase
from kb.types import Query
data_dir, schema, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
if schema:
    settings = Settings(data_dir=Path(data_dir), store="postgres",
                        database_url=os.environ["KB_DATABASE_URL"], database_schema=schema)
else:
    settings = Settings(data_dir=Path(data_dir))
queries = [Query(q.text, history=q.history, groups=q.groups, as_of=q.as_of or REFERENCE_DATE)
           for q in load_golden()][:count]
embedder = create_embedder(settings.embedding_model)
embedder.embed_queries(["warm the model up"])
begun = time.perf_counter()
services = Services(settings, KnowledgeBase(settings, embedder))
services.ask(queries[0])
cold = time.perf_counter() - begun
for query in queries:
    services.ask(query)
seconds = []
for query in queries:
    begun = time.perf_counter()
    services.ask(query)
    seconds.append(time.perf_counter() - begun)
services.close()
print(json.dumps({"cold": cold, "seconds": seconds}))
"""


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(1000 * ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))], 1)


def run(trees: dict[str, Path], data_dir: Path, schema: str, questions: int, rounds: int) -> dict:
    seconds: dict[str, list[float]] = {name: [] for name in trees}
    colds: dict[str, list[float]] = {name: [] for name in trees}
    loads = []
    for number in range(rounds):
        order = list(trees) if number % 2 == 0 else list(trees)[::-1]
        for name in order:
            loads.append(os.getloadavg()[0])
            out = subprocess.run(
                [sys.executable, "-c", _CHILD, str(data_dir), schema, str(questions)],
                cwd=trees[name],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            result = json.loads(out.strip().splitlines()[-1])
            seconds[name] += result["seconds"]
            colds[name].append(result["cold"])
    summary = {
        name: {
            "p50_ms": _percentile(values, 50),
            "p95_ms": _percentile(values, 95),
            "p99_ms": _percentile(values, 99),
            "cold_start_s": round(min(colds[name]), 2),
        }
        for name, values in seconds.items()
    }
    before, after = (summary[name] for name in trees)
    summary["ratio_p50"] = round(before["p50_ms"] / after["p50_ms"], 2)
    summary["ratio_p95"] = round(before["p95_ms"] / after["p95_ms"], 2)
    summary["load_average"] = [round(min(loads), 1), round(max(loads), 1)]
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.ab_speed")
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--schema", default="", help="a postgres base (KB_DATABASE_URL)")
    parser.add_argument("--questions", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    summary = run(
        {"before": args.before, "after": args.after},
        args.data_dir,
        args.schema,
        args.questions,
        args.rounds,
    )
    summary["seconds"] = round(time.perf_counter() - started)
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
