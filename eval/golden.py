"""The golden set: questions written by reading samples/, with their gold documents.

Source of truth is eval/data/golden-*.jsonl (one question per line, see eval/README.md);
`write_beir` exports the same set in BEIR layout for tools that expect it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from kb.types import EVERYONE, Turn

DATA = Path(__file__).parent / "data"
REFERENCE_DATE = dt.date(2026, 11, 25)
"""The day the golden set was written for: questions without an as-of date are asked as of it,
so expiring documents (a Christmas bulletin, say) do not change the results as time passes."""
AGENT_STYLE = DATA / "agent-style.jsonl"
"""The golden questions as agents type them (eval/agent_style.py); not matched by
golden-*.jsonl, so the golden set and its floors stay what they were."""
KNOWN_FIELDS = frozenset(
    [
        "_id",
        "text",
        "language",
        "type",
        "gold",
        "history",
        "answer_contains",
        "gold_steps",
        "forbidden",
        "groups",
        "as_of",
    ]
)
ANSWERABLE = ("fact", "procedure", "customer", "followup", "crosslingual", "conflict", "date")


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    text: str
    language: str
    type: str
    gold: tuple[tuple[str, str | None], ...]  # (document id, section path or None)
    history: tuple[Turn, ...] = ()
    answer_contains: tuple[str, ...] = ()
    gold_steps: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()
    groups: tuple[str, ...] = (EVERYONE,)
    as_of: dt.date | None = None
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def gold_documents(self) -> set[str]:
        return {doc for doc, _ in self.gold}

    @property
    def must_refuse(self) -> bool:
        """Refusals, and restricted questions with no public answer."""
        return self.type == "refusal" or (self.type == "restricted" and not self.gold)


def load_golden(paths: list[Path] | None = None) -> list[GoldQuestion]:
    paths = paths or sorted(DATA.glob("golden-*.jsonl"))
    questions = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            raw = json.loads(line)
            questions.append(
                GoldQuestion(
                    id=raw["_id"],
                    text=raw["text"],
                    language=raw.get("language", "en"),
                    type=raw["type"],
                    gold=tuple((g["document"], g.get("section")) for g in raw.get("gold", [])),
                    history=tuple(Turn(t["role"], t["text"]) for t in raw.get("history", [])),
                    answer_contains=tuple(raw.get("answer_contains", [])),
                    gold_steps=tuple(raw.get("gold_steps", [])),
                    forbidden=tuple(raw.get("forbidden", [])),
                    groups=tuple(raw.get("groups", [EVERYONE])),
                    as_of=dt.date.fromisoformat(raw["as_of"]) if raw.get("as_of") else None,
                    extra={k: v for k, v in raw.items() if k not in KNOWN_FIELDS},
                )
            )
    return questions


def load_agent_style(path: Path = AGENT_STYLE) -> list[GoldQuestion]:
    """The agent-style set; `extra` holds derived_from (the golden id) and rewrite (rules)."""
    return load_golden([path]) if path.exists() else []


def write_beir(questions: list[GoldQuestion], samples: Path, out: Path) -> None:
    """Export the golden set in BEIR layout: corpus.jsonl (one record per sample document,
    its parsed text), queries.jsonl (with history, language and type), qrels/test.tsv
    (document level) and answers.jsonl (sections, steps, answer strings, refusals, groups)."""
    from ingest.load import load_document
    from ingest.pipeline import collect_files, document_id_for

    (out / "qrels").mkdir(parents=True, exist_ok=True)
    with (out / "corpus.jsonl").open("w", encoding="utf-8") as corpus:
        for upload in collect_files([samples]):
            assert upload.path is not None
            parsed = load_document(upload.path, max_bytes=50_000_000)
            text = "\n\n".join(block.text for block in parsed.blocks)
            record = {"_id": document_id_for(upload.name), "title": parsed.title, "text": text}
            corpus.write(json.dumps(record, ensure_ascii=False) + "\n")
    with (out / "queries.jsonl").open("w", encoding="utf-8") as queries:
        for q in questions:
            record = {"_id": q.id, "text": q.text, "language": q.language, "type": q.type}
            if q.history:
                record["history"] = [{"role": t.role, "text": t.text} for t in q.history]
            queries.write(json.dumps(record, ensure_ascii=False) + "\n")
    lines = ["query-id\tcorpus-id\tscore"]
    lines += [f"{q.id}\t{doc}\t1" for q in questions for doc in sorted(q.gold_documents)]
    (out / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with (out / "answers.jsonl").open("w", encoding="utf-8") as answers:
        for q in questions:
            record = {
                "_id": q.id,
                "must_refuse": q.must_refuse,
                "gold_sections": [{"document": d, "section": s} for d, s in q.gold],
                "gold_steps": list(q.gold_steps),
                "answer_contains": list(q.answer_contains),
                "forbidden": list(q.forbidden),
                "groups": list(q.groups),
                "as_of": (q.as_of or REFERENCE_DATE).isoformat(),
            }
            answers.write(json.dumps(record, ensure_ascii=False) + "\n")


if __name__ == "__main__":  # python -m eval.golden: refresh eval/data/beir from the JSONL sources
    write_beir(load_golden(), Path("samples"), DATA / "beir")
    print(f"wrote {DATA / 'beir'}")
