"""What ask() answers to every golden question, written down to compare two versions of
the code: a speed change must not change an answer.

    python -m eval.answer_snapshot snapshot before.json [--store postgres]
    (change the code)
    python -m eval.answer_snapshot snapshot after.json [--store postgres]
    python -m eval.answer_snapshot compare before.json after.json

Per question: the top-5 passages' chunk ids, the headline (the first sentence), the steps'
chunk ids and texts, the status and the confidence (rounded to 1e-6). The base is a copy of
`--source` (default data/kb, the sample base) so asking leaves it untouched; with
`--store postgres` it is copied into a namespace of its own with kb.migrate (no
re-embedding) and dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import uuid
from dataclasses import replace
from pathlib import Path

from eval.golden import REFERENCE_DATE, load_golden
from kb.config import Settings
from kb.embedding import create_embedder
from kb.services import Services
from kb.store import KnowledgeBase
from kb.types import Answer, Query


def describe(answer: Answer) -> dict:
    """The parts of an answer a speed change must leave as they were."""
    return {
        "top5": [p.citation.chunk_id for p in answer.passages[:5]],
        "headline": answer.sentences[0][0].text if answer.sentences else None,
        "steps": [[s.citation.chunk_id, s.text] for s in answer.steps],
        "status": answer.status.value,
        "confidence": round(answer.confidence, 6),
    }


def snapshot(source: Path, store: str) -> list[dict]:
    queries = [
        Query(q.text, history=q.history, groups=q.groups, as_of=q.as_of or REFERENCE_DATE)
        for q in load_golden()
    ]
    with tempfile.TemporaryDirectory(prefix="kb-snapshot-") as tmp:
        local = Settings(data_dir=Path(tmp) / "kb", store="local")
        shutil.copytree(source, local.data_dir, ignore=shutil.ignore_patterns("*.lock"))
        embedder = create_embedder(local.embedding_model)
        settings = local
        if store == "postgres":
            from kb.migrate import migrate_to_postgres

            settings = Settings(
                data_dir=Path(tmp) / "cache",
                store="postgres",
                database_url=os.environ["KB_DATABASE_URL"],
                database_schema=f"snap{uuid.uuid4().hex[:10]}",
            )
            migrate_to_postgres(local, settings, embedder)
        services = Services(settings, KnowledgeBase(settings, embedder))
        try:
            return [{"question": q.text, **describe(services.ask(replace(q)))} for q in queries]
        finally:
            services.close()
            if store == "postgres":
                from kb.postgres import drop_namespace

                drop_namespace(settings.database_url, settings.database_schema)


def compare(before: list[dict], after: list[dict]) -> list[str]:
    """One line per question whose answer differs, naming the parts that differ."""
    lines = []
    for number, (a, b) in enumerate(zip(before, after, strict=True), 1):
        parts = [k for k in a if k != "question" and a[k] != b[k]]
        if parts:
            lines.append(f"{number}. {a['question'][:60]!r}: {', '.join(parts)} differ")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.answer_snapshot")
    commands = parser.add_subparsers(dest="command", required=True)
    take = commands.add_parser("snapshot")
    take.add_argument("output", type=Path)
    take.add_argument("--source", type=Path, default=Path("data/kb"))
    take.add_argument("--store", choices=("local", "postgres"), default="local")
    diff = commands.add_parser("compare")
    diff.add_argument("before", type=Path)
    diff.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    if args.command == "snapshot":
        answers = snapshot(args.source, args.store)
        args.output.write_text(json.dumps(answers, ensure_ascii=False, indent=1) + "\n")
        print(f"{len(answers)} answers -> {args.output}")
        return 0
    before = json.loads(args.before.read_text())
    after = json.loads(args.after.read_text())
    differences = compare(before, after)
    print("\n".join(differences) or "no differences")
    print(f"{len(before) - len(differences)}/{len(before)} identical")
    return 1 if differences else 0


if __name__ == "__main__":
    raise SystemExit(main())
