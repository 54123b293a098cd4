"""Retrieval recall@1 and recall@5 by question type on the golden set (or any golden-layout
files), with settings overrides, against an existing knowledge base (KB_DATA_DIR).

A quick look for iterating on retrieval, faster than `kb eval --quick` because it neither
builds a base nor answers. Examples::

    KB_DATA_DIR=data/kb python -m eval.by_type
    KB_DATA_DIR=data/kb python -m eval.by_type crosslingual_slot=0 retrieval_mode=lexical
    KB_DATA_DIR=data/kb python -m eval.by_type --golden eval/data/agent-style.jsonl
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from eval.golden import REFERENCE_DATE, load_golden
from kb.config import Settings
from kb.services import build_services
from kb.types import Query


def recall_by_type(settings: Settings, golden: Sequence[Path] | None = None) -> dict:
    """{type: (n, recall@1, recall@5)} over answerable questions, plus "ALL"."""
    services = build_services(settings)
    found: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for question in load_golden(list(golden) if golden else None):
        if question.must_refuse or not question.gold:
            continue
        query = Query(
            text=question.text,
            history=question.history,
            groups=question.groups,
            as_of=question.as_of or REFERENCE_DATE,
            k=10,
        )
        documents = list(
            dict.fromkeys(h.chunk.document.document_id for h in services.retrieve(query))
        )
        pair = (
            float(bool(documents) and documents[0] in question.gold_documents),
            float(bool(set(documents[:5]) & question.gold_documents)),
        )
        found[question.type].append(pair)
        found["ALL"].append(pair)
    return {
        kind: (
            len(pairs),
            sum(p[0] for p in pairs) / len(pairs),
            sum(p[1] for p in pairs) / len(pairs),
        )
        for kind, pairs in sorted(found.items())
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m eval.by_type", description=__doc__.split("\n")[0]
    )
    parser.add_argument("overrides", nargs="*", help="settings as name=value (kb/config.py)")
    parser.add_argument("--golden", type=Path, action="append", help="golden-layout file(s)")
    args = parser.parse_args(argv)
    overrides = dict(item.split("=", 1) for item in args.overrides)
    for kind, (n, at_1, at_5) in recall_by_type(Settings(**overrides), args.golden).items():
        print(f"{kind:12s} n={n:3d} recall@1={at_1:.3f} recall@5={at_5:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
