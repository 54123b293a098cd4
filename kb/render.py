"""Answers as text for a terminal and as JSON records for tools. Pure."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from typing import Any

from kb.types import Answer, AnswerStatus, Citation, Highlighted


def _json_value(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _json_value(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_json_value(v) for v in value]
    return value


def json_ready(value: Any) -> Any:
    """Any record (dataclasses, enums, dates, tuples) as plain JSON-ready data."""
    return _json_value(value)


def answer_record(answer: Answer) -> dict[str, Any]:
    """The whole answer as plain JSON-ready data; sources carry document id, title and file."""
    record = _json_value(answer)
    record["sentences"] = [
        {"text": _json_value(text), "citation": _json_value(citation)}
        for text, citation in answer.sentences
    ]
    return record


def _marked(text: Highlighted, start: str = "**", end: str = "**") -> str:
    out, position = [], 0
    for a, b in text.highlights:
        out += [text.text[position:a], start, text.text[a:b], end]
        position = b
    out.append(text.text[position:])
    return "".join(out)


def cite(citation: Citation) -> str:
    pages = f", p. {','.join(map(str, citation.pages))}" if citation.pages else ""
    effective = f", effective {citation.effective_date}" if citation.effective_date else ""
    return f"{citation.title} > {citation.section}{pages} (v{citation.version}{effective}; {citation.source_name})"


def answer_text(answer: Answer) -> str:
    """What `kb ask` prints: answer, steps with sources, passages, notices."""
    lines = []
    if answer.resolved_question != answer.question:
        lines.append(f"(searched as: {answer.resolved_question})")
    if answer.status == AnswerStatus.NOT_COVERED:
        lines.append(f"NOT COVERED in the knowledge base (confidence {answer.confidence:.2f}).")
        lines.append(answer.advice or "")
        if answer.related:
            lines.append("Closest related articles:")
            lines += [f"  - {cite(c)}" for c in answer.related]
    else:
        lines.append(f"Answer (confidence {answer.confidence:.2f}):")
        lines += [f"  {_marked(text)}\n    [{cite(c)}]" for text, c in answer.sentences]
        if answer.steps:
            lines.append("Steps:")
            previous = None
            for step in answer.steps:
                indent = "  " * step.level
                label = (
                    f"{step.number}. " if step.number else ("! " if step.kind == "warning" else "")
                )
                lines.append(f"{indent}{label}{step.text}")
                if step.citation.chunk_id != previous:
                    lines.append(f"{indent}  [{cite(step.citation)}]")
                    previous = step.citation.chunk_id
        lines.append("Sources:")
        for i, passage in enumerate(answer.passages, 1):
            lines.append(f"  {i}. {cite(passage.citation)}")
    for notice in answer.notices:
        lines.append(f"NOTE: {notice}")
    return "\n".join(lines)
