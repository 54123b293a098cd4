"""Practice generated from the bank's own documents, without any model. Pure.

Why no model: a trainee learns what the question says is right, so every answer must be the
document's own words. Each generator therefore only cuts and rearranges text it was given:

* ordering: the top-level steps of a procedure (parsed as the answer module parses them), in a
  shuffled order seeded by the exercise id, so the same procedure always gives the same puzzle;
* fill-in: a key fact (amount, fee, percentage, limit, duration, cut-off time) blanked out of a
  sentence or a table row; a value that does not occur verbatim in the chunk is never asked;
* drill: a real customer message a trainer mapped to a document, with that document's steps.

Generated exercises are drafts: a trainer reviews them (kb.training.store) before a learning
path may use them.
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ingest.clean import split_sentences
from ingest.steps import parse_step_number
from kb.answer import citation_for, parse_steps
from kb.training.types import (
    BLANK,
    DrillMapping,
    DrillPayload,
    Exercise,
    FillPayload,
    OrderPayload,
    ProcedureRef,
    Topic,
)
from kb.types import Category, Chunk, ChunkKind, Citation, DocumentRecord

logger = logging.getLogger(__name__)

__all__ = [
    "KeyFact",
    "drill_exercises",
    "fill_in_exercises",
    "find_key_facts",
    "ordering_exercises",
    "outdated_exercises",
    "procedure_groups",
    "shuffled_order",
    "topics",
]

MIN_ORDER_STEPS = 3

# ---------------------------------------------------------------- key facts

_NUM = r"\d(?:[\d,]*\d)?(?:\.\d+)?"
_RANGE = rf"{_NUM}(?:\s?(?:-|–|—|~|～|to|至|到)\s?{_NUM})?"
# Not inside a number, "7×24", "24/7", "D+1" or a time, nor right after "digit space": PDF
# tables sometimes come out as "3.6 0%" for "3.60%", and "0%" is not the fact.
_NOT_AFTER = r"(?<![\d.,×xX*/:+])(?<!\d )"
_NOT_BEFORE = r"(?![\d/])"

_MONEY_BEFORE = re.compile(
    r"(?<![A-Za-z])(?:HK\$|US\$|S\$|A\$|C\$|NZ\$|RMB|HKD|USD|GBP|EUR|CNY|JPY|£|\$|€|¥|￥)"
    rf"\s?{_NUM}(?![\d:])(?:\s?(?:k|m|bn|million|billion)\b)?"  # "HKD 17:30" is a time
)
_MONEY_AFTER = re.compile(
    rf"{_NOT_AFTER}{_NUM}\s?(?:万|千|亿)?\s?(?:港元|港币|港幣|英镑|英鎊|美元|欧元|歐元|日元|人民币|人民幣|元)"
    rf"|{_NOT_AFTER}{_NUM}\s?(?:HKD|USD|GBP|EUR|CNY|RMB)\b"
)
_PERCENT = re.compile(rf"{_NOT_AFTER}{_NUM}\s?[%％]")
_TIME = re.compile(r"(?<![\d:.])(?:[01]?\d|2[0-3]):[0-5]\d(?![\d:])")
# Durations and deadlines: the number is blanked, the unit stays in the question.
_DURATION_EN = re.compile(
    rf"{_NOT_AFTER}(?P<value>{_RANGE}){_NOT_BEFORE}"
    r"(?:\s?-\s?|\s)(?:(?:working|business|calendar|banking|clear)\s+)?"
    r"(?:days?|hours?|weeks?|months?|years?|minutes?|mins?|seconds?)\b",
    re.IGNORECASE,
)
_DURATION_ZH = re.compile(
    rf"{_NOT_AFTER}(?P<value>{_RANGE}){_NOT_BEFORE}\s?"
    r"(?:个工作日|個工作日|个营业日|個營業日|个自然日|個自然日|个工作天|個工作天|个小时|個小時|个月|個月"
    r"|个星期|個星期|工作日|工作天|营业日|營業日|自然日|日内|日內|天|小时|小時|分钟|分鐘|秒|周(?!岁|歲)"
    r"|星期|(?<!\d{3})年(?!\d))"
)
# Limits on counts ("more than 5 transactions", "超过5笔"): the number is blanked.
_COUNT_EN = re.compile(
    r"\b(?:more than|fewer than|less than|up to|at least|at most|no more than|maximum of"
    r"|minimum of|over|under|exceeds?|exceeding|limit of|limited to)\s+"
    r"(?P<value>\d{1,6})(?![\d.,:%])\s+(?=[A-Za-z])",
    re.IGNORECASE,
)
_COUNT_ZH = re.compile(
    r"(?:超过|超過|不超过|不超過|多于|多於|少于|少於|最多|至少|不少于|不少於|最高|上限为|上限為)\s?"
    r"(?P<value>\d{1,6})(?![\d.,:%])\s?(?=笔|筆|次|张|張|位|名|项|項|岁|歲|个|個|人)"
)
_WHOLE_VALUE = (_MONEY_BEFORE, _MONEY_AFTER, _PERCENT, _TIME)
_DURATIONS = (_DURATION_EN, _DURATION_ZH)
_COUNTS = (_COUNT_EN, _COUNT_ZH)

_FEE_HEADER = re.compile(
    r"fee|charge|cost|price|rate|interest|limit|收费|收費|费用|費用|费率|費率|利率|手续费|手續費|上限|限额|限額",
    re.IGNORECASE,
)
_FREE = re.compile(r"^(?:free|no charge|no fee|免费|免費|不收费|不收費)$", re.IGNORECASE)
_FREE_WORDS = ("free", "no charge", "免费", "免費")


@dataclass(frozen=True)
class KeyFact:
    """A value worth learning, found in a text.

    `start`/`end` delimit the value that is blanked; `phrase` is the value with its unit as
    written ("5-7 working days" for the value "5-7"), which also counts as a right answer.
    """

    start: int
    end: int
    value: str
    phrase: str


def find_key_facts(text: str) -> list[KeyFact]:
    """Amounts, percentages, cut-off times, durations and count limits in `text`, in order.

    Money, percentages and times are blanked whole ("£1,000", "2.75%", "16:00"); for
    durations and count limits only the number is, so the unit stays in the question ("within
    ____ working days"). Overlapping finds keep the one that starts first (then the longest).
    """
    found: list[tuple[int, int, int, int]] = []  # phrase start, phrase end, value start, end
    for pattern in _WHOLE_VALUE:
        found += [(m.start(), m.end(), m.start(), m.end()) for m in pattern.finditer(text)]
    for pattern in _DURATIONS:
        found += [
            (m.start(), m.end(), m.start("value"), m.end("value")) for m in pattern.finditer(text)
        ]
    for pattern in _COUNTS:
        found += [
            (m.start("value"), m.end("value"), m.start("value"), m.end("value"))
            for m in pattern.finditer(text)
        ]
    facts: list[KeyFact] = []
    taken_until = -1
    for start, end, value_start, value_end in sorted(found, key=lambda f: (f[0], -f[1])):
        if start < taken_until:
            continue
        taken_until = end
        phrase = text[start:end].strip()
        value = text[value_start:value_end]
        facts.append(KeyFact(value_start, value_end, value, phrase))
    return facts


def _appears_elsewhere(value: str, text: str) -> bool:
    """True when `value` is still readable in `text` (the question would give it away)."""
    pattern = rf"(?<![\d.,]){re.escape(value)}(?![\d.,]\d|\d)"
    return re.search(pattern, text) is not None


def _accepted(fact: KeyFact) -> tuple[str, ...]:
    variants: list[str] = []
    if fact.phrase != fact.value:
        variants.append(fact.phrase)
    digits = re.sub(r"[^\d.]", "", fact.value)
    if digits and float(digits or 0) == 0 and re.fullmatch(r"\D*0(?:\.0+)?\D*", fact.value):
        variants += ["free", "免费"]  # "£0" in a fee column
    return tuple(variants)


# ---------------------------------------------------------------- shared helpers


def _sha_seed(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def shuffled_order(items: Sequence[str], seed: str) -> tuple[str, ...]:
    """`items` in a shuffled order that depends only on `seed` and is never the given order.

    A seeded shuffle that happens to return the input is rotated by one, which (for two or
    more distinct items) always changes it. Fewer than two items are returned unchanged.
    """
    if len(items) < 2:
        return tuple(items)
    order = list(range(len(items)))
    random.Random(_sha_seed(seed)).shuffle(order)
    if order == sorted(order):
        order = order[1:] + order[:1]
    return tuple(items[i] for i in order)


def _is_wide_language(chunk: Chunk) -> bool:
    return chunk.language == "zh" or chunk.document.language == "zh"


def _body_lines(chunk: Chunk) -> list[str]:
    """The chunk's lines without the heading line the chunker put first."""
    lines = chunk.text.split("\n")
    if len(lines) > 1 and chunk.section_path and lines[0].startswith(chunk.section_path[0]):
        lines = lines[1:]
    return lines


def _topic_labels(title: str, chunks: Iterable[Chunk]) -> list[str]:
    """A document's top-level section labels (not its title), in order; the title if none."""
    labels: list[str] = []
    for chunk in chunks:
        top = chunk.section_path[0] if chunk.section_path else title
        if top != title and top not in labels:
            labels.append(top)
    return labels or [title]


def _labels_by_document(chunks: Iterable[Chunk]) -> dict[str, list[str]]:
    grouped: dict[str, list[Chunk]] = {}
    for chunk in chunks:
        grouped.setdefault(chunk.document.document_id, []).append(chunk)
    return {doc: _topic_labels(parts[0].document.title, parts) for doc, parts in grouped.items()}


def _topic_of(chunk: Chunk, labels: Sequence[str]) -> str:
    if chunk.section_path and chunk.section_path[0] in labels:
        return chunk.section_path[0]
    return labels[0] if labels else chunk.document.title


def procedure_groups(chunks: Iterable[Chunk]) -> list[tuple[Chunk, ...]]:
    """Procedures as lists of their parts: consecutive PROCEDURE chunks of one document
    version with the same section path are one procedure the chunker split for length."""
    ordered = sorted(chunks, key=lambda c: (c.document.document_id, c.document.version, c.position))
    groups: list[list[Chunk]] = []
    previous: Chunk | None = None
    for chunk in ordered:
        if chunk.kind != ChunkKind.PROCEDURE:
            previous = None
            continue
        if (
            previous is not None
            and previous.document.document_id == chunk.document.document_id
            and previous.document.version == chunk.document.version
            and previous.section_path == chunk.section_path
            and previous.position + 1 == chunk.position
        ):
            groups[-1].append(chunk)
        else:
            groups.append([chunk])
        previous = chunk
    return [tuple(group) for group in groups]


def _top_level_steps(parts: Sequence[Chunk]) -> list[str]:
    """The numbered top-level step texts of a procedure, up to the first place the
    numbering goes back (a second list in the same section is a different procedure)."""
    steps: list[str] = []
    last = 0
    for step in parse_steps(parts, {}):
        if step.level != 1 or step.kind != "step" or step.number is None:
            continue
        number = int(step.number) if step.number.isdigit() else last + 1
        if steps and number <= last:
            break
        steps.append(step.text)
        last = number
    return steps


def _group_citation(parts: Sequence[Chunk]) -> Citation:
    first = citation_for(parts[0])
    pages = tuple(sorted({page for part in parts for page in part.pages}))
    return Citation(
        document_id=first.document_id,
        title=first.title,
        source_name=first.source_name,
        section=first.section,
        pages=pages,
        version=first.version,
        effective_date=first.effective_date,
        chunk_id=first.chunk_id,
        original=first.original,
    )


# ---------------------------------------------------------------- ordering


def ordering_exercises(chunks: Iterable[Chunk]) -> list[Exercise]:
    """One step-ordering exercise per procedure with at least three top-level steps.

    A procedure split into parts by the chunker is one exercise (id from its first part,
    `source_text` the parts' texts joined by a newline). Procedures whose steps repeat a text
    are skipped: the right order would be ambiguous.
    """
    chunks = list(chunks)
    labels = _labels_by_document(chunks)
    exercises: list[Exercise] = []
    for parts in procedure_groups(chunks):
        steps = _top_level_steps(parts)
        source_text = "\n".join(part.text for part in parts)
        if len(steps) < MIN_ORDER_STEPS or len(set(steps)) != len(steps):
            continue
        if not all(step in source_text for step in steps):
            logger.warning("Steps of %s not found verbatim; skipped", parts[0].chunk_id)
            continue
        first = parts[0]
        exercise_id = f"order:{first.chunk_id}"
        name = first.section_path[-1] if first.section_path else first.document.title
        if _is_wide_language(first):
            prompt = f"请将《{first.document.title}》中“{name}”的步骤按正确顺序排列。"
        else:
            prompt = f"Put the steps of “{name}” ({first.document.title}) in the right order."
        exercises.append(
            Exercise(
                id=exercise_id,
                kind="order",
                prompt=prompt,
                payload=OrderPayload(
                    steps=tuple(steps),
                    presented=shuffled_order(steps, exercise_id),
                    chunk_ids=tuple(part.chunk_id for part in parts),
                ),
                source=_group_citation(parts),
                source_text=source_text,
                topic=_topic_of(first, labels[first.document.document_id]),
            )
        )
    return exercises


# ---------------------------------------------------------------- fill-in

_REVISION = re.compile(
    r"revision|version history|change history|document history|change log|修订|修訂|版本记录|版本紀錄",
    re.IGNORECASE,
)
_LETTER_LABEL = re.compile(r"^\(?(?:[a-z]|[ivx]{1,4})[.)]\s+", re.IGNORECASE)
_BULLET = re.compile(r"^[-•◦*·▪●○]\s*")


def _enough_context(blanked: str, wide: bool) -> bool:
    rest = blanked.replace(BLANK, " ")
    if wide:
        return len(re.findall(r"[\u3400-\u9fff]", rest)) >= 6
    return len(re.findall(r"[A-Za-z]{2,}", rest)) >= 4


@dataclass(frozen=True)
class _Line:
    text: str  # the line without its list label
    parent: str | None  # the top-level step a sub-step belongs to
    parent_number: int | None


def _labelled_lines(chunk: Chunk) -> list[_Line]:
    lines: list[_Line] = []
    parent: tuple[int, str] | None = None
    for raw in _body_lines(chunk):
        if not raw.strip() or raw.lstrip().startswith("|"):
            continue
        indented = raw.startswith(" ")
        number, rest = parse_step_number(raw)
        if number is not None and not indented:
            parent = (number, rest)
            lines.append(_Line(rest, None, None))
            continue
        if not indented:
            parent = None
        text = _BULLET.sub("", _LETTER_LABEL.sub("", rest if number is not None else raw.strip()))
        if parent is not None and indented:
            lines.append(_Line(text, parent[1], parent[0]))
        else:
            lines.append(_Line(text, None, None))
    return lines


def _sentences(text: str) -> list[str]:
    """Sentences of one line; clauses split at "；" or ";" stay together, because in a bank's
    Chinese the second clause often only makes sense after the first (…16:00前申请的…；16:00后…)."""
    spans: list[list[int]] = []
    cursor = 0
    for piece in split_sentences(text):
        start = text.find(piece, cursor)
        if start < 0:  # split_sentences keeps every piece verbatim; be safe regardless
            return split_sentences(text)
        cursor = start + len(piece)
        if spans and text[spans[-1][0] : spans[-1][1]].endswith(("；", ";")):
            spans[-1][1] = cursor
        else:
            spans.append([start, cursor])
    return [text[start:end] for start, end in spans]


def _is_revision_history(chunk: Chunk) -> bool:
    return bool(chunk.section_path) and _REVISION.search(chunk.section_path[-1]) is not None


def _sentence_fill_ins(chunk: Chunk) -> list[tuple[str, FillPayload]]:
    wide = _is_wide_language(chunk)
    context = chunk.section or chunk.document.title
    found: list[tuple[str, FillPayload]] = []
    for line in _labelled_lines(chunk):
        for sentence in _sentences(line.text):
            if sentence not in chunk.text:
                continue
            for fact in find_key_facts(sentence):
                blanked = sentence[: fact.start] + BLANK + sentence[fact.end :]
                if not _enough_context(blanked, wide):
                    continue
                lines = [context]
                if line.parent is not None:
                    lines.append(
                        f"第{line.parent_number}步：{line.parent}"
                        if wide
                        else f"Step {line.parent_number}: {line.parent}"
                    )
                lines.append(blanked)
                prompt = "\n".join(lines)
                if _appears_elsewhere(fact.value, prompt):
                    continue
                found.append((prompt, FillPayload(sentence, fact.value, _accepted(fact))))
    return found


def _table_line(chunk: Chunk, row: Sequence[str]) -> str | None:
    """The Markdown line of `chunk.text` that renders `row`, verbatim."""
    wanted = [cell.strip() for cell in row]
    for line in chunk.text.split("\n"):
        if (
            line.startswith("|")
            and [c.strip() for c in line.strip().strip("|").split("|")] == wanted
        ):
            return line
    return None


def _row_labels(rows: Sequence[Sequence[str]], column: int) -> list[str | None]:
    """For each data row, the fewest other cells (greedy) that tell it from every other row,
    joined by " / "; None when no combination does."""
    width = max(len(row) for row in rows)
    cells = [[(row[i].strip() if i < len(row) else "") for i in range(width)] for row in rows]
    candidates = [i for i in range(width) if i != column]
    if not candidates:
        return [None] * len(rows)
    chosen = [candidates[0]]
    remaining = candidates[1:]

    def keys(columns: Sequence[int]) -> list[tuple[str, ...]]:
        return [tuple(row[i] for i in columns) for row in cells]

    while len(set(keys(chosen))) < len(cells) and remaining:
        best = max(remaining, key=lambda i: (len(set(keys([*chosen, i]))), -i))
        chosen.append(best)
        remaining.remove(best)
    labelled = keys(chosen)
    counts = {key: labelled.count(key) for key in labelled}
    return [
        " / ".join(cell for cell in key if cell) if counts[key] == 1 and any(key) else None
        for key in labelled
    ]


def _table_fill_ins(chunk: Chunk) -> list[tuple[str, FillPayload]]:
    rows = chunk.table_rows
    if len(rows) < 2 or max(len(row) for row in rows) < 2:
        return []
    wide = _is_wide_language(chunk)
    header = [cell.strip() for cell in rows[0]]
    data = rows[1:]
    context = chunk.section or chunk.document.title
    found: list[tuple[str, FillPayload]] = []
    labels_by_column: dict[int, list[str | None]] = {}
    for row_index, row in enumerate(data):
        original = _table_line(chunk, row)
        if original is None:
            continue
        for column in range(1, len(row)):
            cell = row[column].strip()
            column_name = header[column] if column < len(header) else ""
            if not cell or not column_name:
                continue
            facts = find_key_facts(cell)
            if not facts and _FEE_HEADER.search(column_name) and _FREE.match(cell):
                facts = [KeyFact(0, len(cell), cell, cell)]
            if not facts:
                continue
            if column not in labels_by_column:
                labels_by_column[column] = _row_labels(data, column)
            label = labels_by_column[column][row_index]
            if label is None:
                continue
            for fact in facts:
                blanked = cell[: fact.start] + BLANK + cell[fact.end :]
                if wide:
                    question = f"「{label}」的{column_name}：{blanked}"
                elif blanked == BLANK:
                    question = f"For {label}, {column_name} is {BLANK}."
                else:
                    question = f"For {label}, {column_name} is: {blanked}"
                prompt = f"{context}\n{question}"
                if _appears_elsewhere(fact.value, prompt):
                    continue
                accepted = _accepted(fact)
                if _FREE.match(fact.value):
                    accepted += tuple(w for w in (*_FREE_WORDS, "0") if w != fact.value.lower())
                found.append((prompt, FillPayload(original, fact.value, accepted)))
    return found


def fill_in_exercises(chunks: Iterable[Chunk]) -> list[Exercise]:
    """Fill-in questions on the key facts of each chunk: from its sentences, and for a table
    from its rows ("For <row>, <column> is ____", row 0 being the header).

    Kept only when the blanked value and its sentence or row occur verbatim in the chunk's
    text, the question keeps enough words to make sense, and the value is not readable
    elsewhere in the question. Ids are "fill:{chunk_id}:{n}", n counting from 1 in the
    chunk's reading order.
    """
    chunks = list(chunks)
    labels = _labels_by_document(chunks)
    exercises: list[Exercise] = []
    for chunk in chunks:
        if _is_revision_history(chunk):
            continue  # what changed in which version is not a fact to learn for calls
        if chunk.kind == ChunkKind.TABLE and chunk.table_rows:
            candidates = _table_fill_ins(chunk)
        else:
            candidates = _sentence_fill_ins(chunk)
        seen: set[str] = set()
        citation = citation_for(chunk)
        topic = _topic_of(chunk, labels[chunk.document.document_id])
        for prompt, payload in candidates:
            if prompt in seen:
                continue
            if payload.answer not in chunk.text or payload.original not in chunk.text:
                logger.warning("Fill-in of %s not verbatim in its chunk; skipped", chunk.chunk_id)
                continue
            seen.add(prompt)
            exercises.append(
                Exercise(
                    id=f"fill:{chunk.chunk_id}:{len(seen)}",
                    kind="fill",
                    prompt=prompt,
                    payload=payload,
                    source=citation,
                    source_text=chunk.text,
                    topic=topic,
                )
            )
    return exercises


# ---------------------------------------------------------------- drills


def drill_exercises(
    mappings: Iterable[DrillMapping], chunks_by_document: Mapping[str, Sequence[Chunk]]
) -> list[Exercise]:
    """One call drill per trainer mapping (customer message -> document).

    The gold steps are the top-level steps of the document's first procedure; a document
    without one gives a drill where finding the document is the whole answer. A mapping to
    a document that is not in `chunks_by_document` (deleted since) is skipped.
    """
    exercises: list[Exercise] = []
    for mapping in mappings:
        chunks = list(chunks_by_document.get(mapping.document_id, ()))
        if not chunks:
            logger.info("Drill %s: document %s not found; skipped", mapping.id, mapping.document_id)
            continue
        labels = _topic_labels(chunks[0].document.title, chunks)
        procedures = procedure_groups(chunks)
        if procedures:
            parts = procedures[0]
            steps = tuple(_top_level_steps(parts))
        else:
            parts = (min(chunks, key=lambda c: c.position),)
            steps = ()
        prompt = (
            f"A customer says: “{mapping.message}”\n"
            "Find the document that answers this and the steps to follow, in order."
        )
        exercises.append(
            Exercise(
                id=f"drill:{mapping.id}",
                kind="drill",
                prompt=prompt,
                payload=DrillPayload(mapping.message, mapping.document_id, steps, mapping.id),
                source=_group_citation(parts),
                source_text="\n".join(part.text for part in parts),
                topic=_topic_of(parts[0], labels),
            )
        )
    return exercises


# ---------------------------------------------------------------- topics

_CATEGORY_NAMES = {
    Category.PROCEDURE: "Procedures",
    Category.POLICY: "Policies",
    Category.FAQ: "FAQs",
    Category.PRODUCT_SHEET: "Product sheets",
}


def topics(documents: Sequence[DocumentRecord], chunks: Iterable[Chunk]) -> list[Topic]:
    """Topics for newcomers: one per category, then one per top-level section label.

    Only current documents count, and only chunks of their current version. A section topic
    gathers every document with that top-level section (a document with none counts under
    its title) and the procedures under it; a category topic lists its documents, all their
    procedures and, in `sections`, the ids of the section topics they belong to.
    """
    current = {d.document_id: d for d in documents if d.current_version is not None}
    by_document: dict[str, list[Chunk]] = {}
    for chunk in chunks:
        record = current.get(chunk.document.document_id)
        if record is not None and chunk.document.version == record.current_version:
            by_document.setdefault(record.document_id, []).append(chunk)

    section_docs: dict[str, list[tuple[str, str]]] = {}
    section_procs: dict[str, list[ProcedureRef]] = {}
    section_names: dict[str, str] = {}
    category_sections: dict[Category, list[str]] = {}
    category_procs: dict[Category, list[ProcedureRef]] = {}
    for document_id, record in sorted(current.items(), key=lambda kv: kv[1].title.casefold()):
        doc_chunks = sorted(by_document.get(document_id, []), key=lambda c: c.position)
        labels = _topic_labels(record.title, doc_chunks)
        for label in labels:
            key = f"section:{label.casefold()}"
            section_names.setdefault(key, label)
            section_docs.setdefault(key, []).append((document_id, record.title))
            if key not in category_sections.setdefault(record.category, []):
                category_sections[record.category].append(key)
        for parts in procedure_groups(doc_chunks):
            ref = ProcedureRef(
                document_id, record.title, parts[0].section_path, tuple(p.chunk_id for p in parts)
            )
            key = f"section:{_topic_of(parts[0], labels).casefold()}"
            section_procs.setdefault(key, []).append(ref)
            category_procs.setdefault(record.category, []).append(ref)

    result: list[Topic] = []
    for category in Category:
        docs = sorted(
            ((d.document_id, d.title) for d in current.values() if d.category == category),
            key=lambda pair: pair[1].casefold(),
        )
        if docs:
            result.append(
                Topic(
                    id=f"category:{category.value}",
                    name=_CATEGORY_NAMES.get(category, category.value),
                    kind="category",
                    documents=tuple(docs),
                    procedures=tuple(category_procs.get(category, [])),
                    sections=tuple(category_sections.get(category, [])),
                )
            )
    for key in sorted(section_names, key=lambda k: section_names[k].casefold()):
        result.append(
            Topic(
                id=key,
                name=section_names[key],
                kind="section",
                documents=tuple(section_docs[key]),
                procedures=tuple(section_procs.get(key, [])),
            )
        )
    return result


def outdated_exercises(
    exercises: Iterable[Exercise], documents: Sequence[DocumentRecord]
) -> list[Exercise]:
    """Exercises whose source is no longer current: the document was deleted or has a newer
    version, so the answer may have changed. A trainer should discard them and regenerate."""
    current = {d.document_id: d.current_version for d in documents}
    return [e for e in exercises if current.get(e.source.document_id) != e.source.version]
