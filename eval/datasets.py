"""BEIR-layout datasets: corpus.jsonl (or a docs/ folder of real files), queries.jsonl,
qrels/test.tsv. Queries may carry a `history` list of {role, text} for follow-ups.

A docs/ folder is what a bank brings: its own PDFs and Word files, named by corpus id
(`docs/POL-017.pdf` is corpus id POL-017), so they go through the real ingestion.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from ingest.pipeline import Upload, collect_files
from kb.errors import KBError
from kb.types import Turn


@dataclass(frozen=True)
class BeirQuery:
    id: str
    text: str
    history: tuple[Turn, ...] = ()


@dataclass(frozen=True)
class BeirDataset:
    name: str
    uploads: tuple[Upload, ...]
    queries: tuple[BeirQuery, ...]
    qrels: dict[str, dict[str, int]]  # query id -> corpus id -> relevance


def _jsonl(path: Path) -> list[dict]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise KBError(f"{path}, line {number}: not JSON ({e})") from e
    return rows


def load_beir(directory: Path) -> BeirDataset:
    """Read a BEIR-layout folder; a clear error says which file is missing or malformed."""
    corpus_file, docs = directory / "corpus.jsonl", directory / "docs"
    if corpus_file.is_file():
        uploads = tuple(
            Upload(
                f"{row['_id']}.md",
                data=f"# {row.get('title') or row['_id']}\n\n{row['text']}".encode(),
            )
            for row in _jsonl(corpus_file)
        )
    elif docs.is_dir():
        uploads = tuple(collect_files([docs]))
    else:
        raise KBError(f"{directory} has neither corpus.jsonl nor a docs/ folder")
    queries_file, qrels_file = directory / "queries.jsonl", directory / "qrels" / "test.tsv"
    for required in (queries_file, qrels_file):
        if not required.is_file():
            raise KBError(f"{directory} is missing {required.relative_to(directory)}")
    queries = tuple(
        BeirQuery(
            str(row["_id"]),
            row["text"],
            tuple(Turn(t.get("role", "user"), t["text"]) for t in row.get("history", [])),
        )
        for row in _jsonl(queries_file)
    )
    qrels: dict[str, dict[str, int]] = {}
    with qrels_file.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            qrels.setdefault(str(row["query-id"]), {})[str(row["corpus-id"])] = int(row["score"])
    return BeirDataset(directory.name, uploads, queries, qrels)
