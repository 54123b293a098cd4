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
                )
            )
    return questions
