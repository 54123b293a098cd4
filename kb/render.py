"""Answers as text for a terminal and as JSON records for tools. Pure."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import re
from collections.abc import Iterable
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


_MARKUP = re.compile(r"([\\`*_{}\[\]<#|~$:@&])")
_LINE_START = re.compile(r"(?m)^([ \t]*)([-+=>])")  # bullets, headings, rules, quotes
_ORDERED = re.compile(r"(?m)^([ \t]*\d+)([.)])")  # "1." and "1)" lists
_WWW = re.compile(r"(?i)(www)\.")  # the one autolink that needs neither ':' nor '@'
_LINK = re.compile(r"(!?)\[([^\]\n]{0,500})\]\(\s*([^()\s]{1,2000})\s*\)")


def _escaped(text: str) -> str:
    """`text` with every character that can start Markdown, HTML or Streamlit markup
    backslash-escaped (CommonMark allows it for any ASCII punctuation): no link or image
    (brackets), autolink (`https\\://`, `name\\@bank`, `www\\.`), emphasis, HTML tag,
    heading, list, quote, table, formula or Streamlit directive (`:red[...]`, `:material/x:`).
    Plain punctuation (. , ' " ( ) ! - >) inside a line stays as it is."""
    text = _MARKUP.sub(r"\\\1", text)
    text = _LINE_START.sub(r"\1\\\2", text)
    text = _ORDERED.sub(r"\1\\\2", text)
    return _WWW.sub(r"\1\\.", text)


_SAFE_URL = re.compile(
    r"https?://([a-z0-9.-]+)(?::[0-9]{1,5})?(?:[/?#][A-Za-z0-9._~!$&'*+,;=:@/?#%-]*)?"
)


def _allowed(url: str, hosts: frozenset[str]) -> bool:
    """An http(s) URL made only of plain characters (no user part, no backslash, which a
    browser reads as '/'), whose host is one of `hosts` or below one."""
    match = _SAFE_URL.fullmatch(url)
    if match is None:
        return False
    host = match.group(1)
    return any(host == h or host.endswith("." + h) for h in hosts)


def literal_markdown(text: str, allowed_hosts: Iterable[str] = ()) -> str:
    """Content (document text, an agent's question, a title) as Markdown that shows it as
    text: markup is escaped, so a `[link](https://...)` or `![image](https://...)` in a
    document is neither a live link nor an image the browser fetches.

    The one exception is a link whose host is one of `allowed_hosts` (the bank's own sites,
    Settings.allowed_link_hosts; none by default) or a subdomain of one: it stays a link,
    its label escaped; an image there becomes a link to it, never an image. Line breaks
    are kept (two spaces before each)."""
    hosts = frozenset(h.strip().casefold() for h in allowed_hosts if h.strip())
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # CommonMark's line endings
    out: list[str] = []
    position = 0
    if hosts:
        for match in _LINK.finditer(text):
            url = match.group(3)
            if not _allowed(url, hosts):
                continue
            out.append(_escaped(text[position : match.start()]))
            label = _escaped(match.group(2)) or _escaped(url)
            out.append(f"[{label}]({url})")
            position = match.end()
    out.append(_escaped(text[position:]))
    return "".join(out).replace("\n", "  \n")
