"""Which generated exercises are worth a trainer's time. Pure: exercises in, a selection out.

Why a selection step after kb.training.generate: the generators find every value they can
quote (1,000+ on the sample knowledge base), and most of those are trivia a trainer would
discard by hand: the opening hours of an internal queue, the same £15 fee in twenty currency
rows, the other half of a time range, a number whose sentence starts with "It". Generation
stays exhaustive and verbatim; this module decides what reaches the review queue:

1. answerable from the question alone: a sentence that leans on another one ("It is valid
   for ____ minutes", "Yes, up to ____"), a table row whose label names nothing ("For 30
   days", a bare code like "P1"), or a bare number with nothing saying what it counts is
   dropped;
2. ranked by importance (`importance`): amounts, rates, limits, deadlines and cut-offs,
   safety rules ("never", "must", "do not") and steps of a procedure score up; contact
   footers and opening hours, halves of a range, examples, revision notes score down;
3. near-duplicates collapsed, the best-ranked survives: the same sentence or cell with
   another value blanked, the same column and answer in another row, a near-identical
   sentence elsewhere;
4. capped: the best few per section, then per document, so one long fee table does not
   fill the queue;
5. ordering exercises made mostly of alternatives ("If a surplus is found…", "If no
   surplus is found…"), or from a numbered list that is not a procedure (documents
   needed, questions to ask: most items say what nobody does) are dropped: their order
   is not something to learn.

Every dropped exercise keeps its reason, so the eval (eval/exercises.py) and the page can say
what was left out and why. Topics are renamed "document title > procedure or section"
(`topic_name`), never a bare heading like "Purpose".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Final

from kb.exercises_order import alternative_pairs, is_instruction
from kb.training.types import BLANK, Exercise, FillPayload, OrderPayload

__all__ = [
    "DROP_REASONS",
    "Dropped",
    "Ranked",
    "Selection",
    "ambiguous_order",
    "duplicate_keys",
    "importance",
    "is_generic_heading",
    "is_table_template",
    "near_duplicate",
    "not_a_procedure",
    "select_exercises",
    "topic_name",
    "unanswerable",
]

PER_SECTION: Final = 2
"""Fill-ins kept per document section (the best-ranked)."""
PER_DOCUMENT: Final = 6
"""Fill-ins kept per document."""
ORDERS_PER_DOCUMENT: Final = 3
"""Ordering exercises kept per document."""
MIN_IMPORTANCE: Final = 1.0
"""A fill-in ranked below this (opening hours, a footer) is not worth a review."""

DROP_REASONS: Final = (
    "unanswerable",
    "template",
    "ambiguous_order",
    "not_a_procedure",
    "near_duplicate",
    "low_value",
    "section_cap",
    "document_cap",
)


# ---------------------------------------------------------------- topics

_GENERIC = {
    "about", "about this document", "about this guide", "purpose", "scope", "overview",
    "introduction", "background", "summary", "contents", "general", "notes", "note",
    "definitions", "key points", "key facts", "at a glance", "details", "policy",
    "procedure", "faq", "faqs", "questions", "more information", "further information",
    "related documents", "references", "appendix", "revision history", "version history",
    "document control", "contacts", "escalation contacts",
    "目的", "适用范围", "適用範圍", "范围", "範圍", "概述", "简介", "簡介", "背景", "说明",
    "說明", "前言", "总则", "總則", "定义", "定義", "附录", "附錄", "注意事项", "注意事項",
    "操作步骤", "操作步驟", "修订记录", "修訂記錄", "联系方式", "聯絡方式",
}  # fmt: skip
_SECTION_NUMBER = re.compile(
    r"^\s*(?:\d+(?:\.\d+)*[.)]?|[一二三四五六七八九十百]+[、.．]|\(?[a-z]\)|[ivx]+\.)\s*",
    re.IGNORECASE,
)


def _heading(text: str) -> str:
    return _SECTION_NUMBER.sub("", text).strip(" :：")


def is_generic_heading(heading: str) -> bool:
    """True for headings that say nothing about the content ("Purpose", "1. About", "About
    this product sheet", "目的")."""
    name = _heading(heading).casefold()
    return name in _GENERIC or name.startswith(("about this ", "purpose of "))


def topic_name(title: str, section_path: Sequence[str]) -> str:
    """ "Document title > procedure or section" for a trainer's dashboard.

    The section is the deepest heading that says something (not "Purpose", not a repeat of
    the title); with none, the title alone. Never a bare heading: the same "Fees" in three
    documents would otherwise be one topic."""
    for heading in reversed(section_path):
        name = _heading(heading)
        if not name or is_generic_heading(name):
            continue
        if name.casefold() in title.casefold() or title.casefold() in name.casefold():
            continue
        return f"{title} > {name}"
    return title


# ---------------------------------------------------------------- reading a fill-in

_TABLE_EN = re.compile(r"^For (?P<label>.+?), (?P<column>[^,]+?) is:? ")
_TABLE_ZH = re.compile(r"^「(?P<label>.+?)」的(?P<column>.+?)：")


@dataclass(frozen=True)
class _Fill:
    question: str  # the line with the blank
    original: str  # the sentence or table row, verbatim
    answer: str
    label: str | None  # the row a table question names
    column: str | None  # the column it asks about
    cell: str | None  # the blanked cell ("Mon-Fri ____-17:00")
    step: bool  # a sub-step of a procedure


def _read_fill(exercise: Exercise) -> _Fill | None:
    payload = exercise.payload
    if not isinstance(payload, FillPayload):
        return None
    lines = exercise.prompt.strip().splitlines()
    question = lines[-1] if lines else ""
    step = any(re.match(r"^(?:Step \d+:|第\d+步：)", line) for line in lines[:-1])
    if payload.original.lstrip().startswith("|"):
        match = _TABLE_EN.match(question) or _TABLE_ZH.match(question)
        if match:
            cell = question[match.end() :].strip().rstrip(".")
            return _Fill(
                question, payload.original, payload.answer, match["label"], match["column"],
                cell, step,
            )  # fmt: skip
    return _Fill(question, payload.original, payload.answer, None, None, None, step)


# ---------------------------------------------------------------- answerable

_LEANS_ON_CONTEXT = re.compile(
    r"^(?:it|its|it's|this|that|these|those|they|their|them|he|she|yes|no|both|either)\b"
    r"|^(?:它|其|此|该|該|这|這|是的|不是|否|两者|兩者)",
    re.IGNORECASE,
)
_UNIT_WORDS = {
    "day", "days", "week", "weeks", "month", "months", "year", "years", "hour", "hours",
    "minute", "minutes", "min", "mins", "second", "seconds", "working", "business",
    "calendar", "banking", "clear", "and", "or", "to", "up", "over", "under", "more", "less",
    "than", "the", "of", "per", "a", "an", "age", "aged", "from", "until", "before", "after",
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "mon", "tue", "wed", "thu", "fri", "sat", "sun",
}  # fmt: skip
_CODE = re.compile(r"^[A-Z0-9&_\-]{1,10}$")
_BARE_NUMBER = re.compile(r"^[\d.,]+(?:\s?(?:-|–|—|~|to|至|到)\s?[\d.,]+)?$")


def _names_something(label: str) -> bool:
    """True when a table row's label names a thing ("Express delivery", "欧元SEPA汇款"),
    False for a duration, a date or a bare code ("30 days", "24 December 2026", "P1", "R2")."""
    for part in (p.strip() for p in label.split(" / ")):
        if not part or _CODE.match(part):
            continue
        if len(re.findall(r"[\u3400-\u9fff]", part)) >= 2:
            return True
        words = [w.casefold() for w in re.findall(r"[A-Za-z]{3,}", part)]
        if any(w not in _UNIT_WORDS for w in words):
            return True
    return False


def is_table_template(exercise: Exercise) -> bool:
    """True for a question made from a table row ("For <row>, <column> is ____")."""
    fill = _read_fill(exercise)
    return fill is not None and fill.label is not None


def unanswerable(exercise: Exercise) -> str | None:
    """Why the question cannot be answered from its own words, or None when it can.

    The sentence must say what the blank is: a row label that names a thing (not "30 days"
    or a code), a sentence that does not lean on the previous one ("It is valid for ____
    minutes": what is?), and a unit or a noun after a bare number ("up to ____ signatories")."""
    fill = _read_fill(exercise)
    if fill is None:
        return None
    if fill.label is not None:
        if not _names_something(fill.label):
            return "the table row's label names nothing (a duration, a date or a code)"
        return None
    question = fill.question.strip()
    if _LEANS_ON_CONTEXT.match(question):
        return "the sentence leans on another one (it starts with a pronoun or a yes/no)"
    if _BARE_NUMBER.match(fill.answer.strip()):
        after = question.split(BLANK, 1)[1] if BLANK in question else ""
        if not re.match(r"^\s?-?\s?(?:[A-Za-z]{2,}|[\u3400-\u9fff])", after):
            return "nothing next to the blank says what the number counts"
    return None


# ---------------------------------------------------------------- importance

_MONEY = re.compile(r"[£$€¥￥]|HK\$|HKD|USD|GBP|EUR|RMB|CNY|港元|美元|英镑|英鎊|欧元|歐元|元")
_PERCENT = re.compile(r"[%％]")
_TIME = re.compile(r"^\d{1,2}:\d{2}$")
_FREE = re.compile(r"^(?:free|no charge|免费|免費)$", re.IGNORECASE)
_SAFETY = re.compile(
    r"\b(?:never|must|must not|do not|don't|cannot|can't|always|immediately|only|not allowed"
    r"|required|mandatory|before)\b|切勿|不得|不可|不能|必须|必須|务必|務必|严禁|嚴禁|立即|只限|禁止|须|須",
    re.IGNORECASE,
)
_STAKES = re.compile(
    r"\b(?:limit|maximum|minimum|fee|fees|charge|charged|rate|interest|deadline|cut-off"
    r"|within|at least|up to|no later|refund|refunded|liable|liability|compensation|protected"
    r"|overdraft|allowance|penalty|notice|eligible|aged)\b"
    r"|限额|限額|上限|费|費|利率|时限|時限|以内|以內|内|內|截止|赔偿|賠償|最多|至少|不超过|不超過",
    re.IGNORECASE,
)
_FOOTER = re.compile(
    r"\b(?:opening hours|opening times|helpline|call us|e-?mail|website|www|option \d)\b"
    r"|^hours\b|\bmon(?:day)?\s?(?:-|–|to)\s?(?:fri|sat|sun)|@|\b0800\b|\b\d{3,4} \d{3} \d{3,4}\b"
    r"|服务时间|服務時間|营业时间|營業時間|办公时间|辦公時間|热线|熱線|周一至|週一至",
    re.IGNORECASE,
)
_HOURS_COLUMN = re.compile(
    r"^(?:hours|opening|open|服务时间|服務時間|营业时间|營業時間)", re.IGNORECASE
)
_CUT_OFF = re.compile(
    r"\b(?:cut-?off|by|before|until|after|latest|deadline|no later)\b|截止|之前|前|后|後",
    re.IGNORECASE,
)
_HALF_RANGE = re.compile(
    rf"\d\s?[-–—~至到]\s?{re.escape(BLANK)}|{re.escape(BLANK)}\s?[-–—~至到]\s?\d"
)
_EXAMPLE = re.compile(
    r"\b(?:for example|e\.g\.|for instance|such as)\b|例如|比如|譬如", re.IGNORECASE
)
_REVISION = re.compile(
    r"\b(?:version|revised|revision|amended|updated on|changed on)\b|版本|修订|修訂",
    re.IGNORECASE,
)
_IN_A_NAME = re.compile(rf"(?<!^){re.escape(BLANK)}[ -](?:[A-Z][a-z]+)(?: [A-Z][a-z]+)")


@dataclass(frozen=True)
class Ranked:
    """An exercise with its importance and the reasons behind it (for the eval's report)."""

    exercise: Exercise
    score: float
    reasons: tuple[str, ...]


def importance(exercise: Exercise) -> Ranked:
    """How much knowing this helps on a call, as a score (higher is better) with reasons.

    Fill-ins: what is blanked (an amount, a rate, a limit or deadline, a cut-off time score
    up; a clock time in opening hours does not), the words around it (safety rules,
    limits), being a sub-step of a procedure; minus for a contact footer or opening hours,
    half of a range, an example, a revision note, a table row (prose says more), a sentence
    fragment. Ordering exercises: a procedure is worth learning; more so with safety steps,
    less so when very long."""
    reasons: list[str] = []
    score = 0.0

    def add(points: float, why: str) -> None:
        nonlocal score
        score += points
        reasons.append(f"{points:+g} {why}")

    payload = exercise.payload
    if isinstance(payload, OrderPayload):
        add(4, "a procedure's steps")
        if any(_SAFETY.search(step) for step in payload.steps):
            add(1, "safety steps")
        if len(payload.steps) > 10:
            add(-1, "long (more than 10 steps)")
        return Ranked(exercise, score, tuple(reasons))
    fill = _read_fill(exercise)
    if fill is None:  # a call drill: a trainer made it on purpose
        return Ranked(exercise, 10.0, ("a trainer's call drill",))
    answer = fill.answer.strip()
    text = f"{fill.column or ''} {fill.label or ''} {fill.question}"
    if _FREE.match(answer):
        add(2, "a fee (free)")
    elif _MONEY.search(answer):
        add(3, "an amount")
    elif _PERCENT.search(answer):
        add(3, "a rate")
    elif _TIME.match(answer):
        if _CUT_OFF.search(text) and not _HALF_RANGE.search(fill.question):
            add(2.5, "a cut-off time")
        else:
            add(0.5, "a clock time")
    else:
        add(3, "a limit or deadline")
    if _SAFETY.search(fill.question):
        add(2, "a rule (must, never, do not...)")
    if _STAKES.search(text):
        add(1, "a limit, fee or deadline word")
    if fill.step:
        add(1, "a step of a procedure")
    if _FOOTER.search(fill.question) or _HOURS_COLUMN.match(fill.column or ""):
        add(-3, "contact details or opening hours")
    if _HALF_RANGE.search(fill.question):
        add(-2, "half of a range")
    if _EXAMPLE.search(fill.question):
        add(-1.5, "an example")
    if _REVISION.search(fill.question):
        add(-3, "a revision note")
    if _IN_A_NAME.search(fill.question):
        add(-3, "a number inside a name (“95 Day Notice Saver”)")
    if fill.label is not None:
        add(-0.5, "a table row")
    elif fill.question[:1].islower():
        add(-1, "a sentence fragment")
    if len(fill.question.split()) > 45:
        add(-1, "a very long sentence")
    return Ranked(exercise, score, tuple(reasons))


# ---------------------------------------------------------------- near-duplicates


def _normal(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _words(text: str) -> frozenset[str]:
    text = _normal(text).replace(BLANK, " ")
    text = re.sub(r"\d[\d,.:]*", "#", text)
    return frozenset(re.findall(r"[a-z#]+|[\u3400-\u9fff]", text))


def duplicate_keys(exercise: Exercise) -> tuple[tuple[object, ...], ...]:
    """Keys two exercises share when one is a near-duplicate of the other."""
    fill = _read_fill(exercise)
    if fill is None:
        payload = exercise.payload
        steps = payload.steps if isinstance(payload, OrderPayload) else ()
        return (("steps", tuple(_normal(s) for s in steps)),) if steps else ()
    document = exercise.document_id
    answer = _normal(fill.answer)
    keys: list[tuple[object, ...]] = [
        # the same sentence, or the same cell, with another value blanked
        ("source", document, _normal(fill.original), fill.column),
    ]
    if fill.column is not None and fill.cell is not None:
        # the same column and answer in another row ("£15" for every SWIFT currency)
        keys.append(("column", document, _normal(fill.column), _normal(fill.cell), answer))
    return tuple(keys)


def near_duplicate(a: Exercise, b: Exercise) -> bool:
    """True when `b` asks what `a` asks: a shared key (same sentence or cell with another
    value blanked; same column and answer in another row of the table) or near-identical
    wording (word overlap of 85 % or more, digits ignored) with the same answer."""
    if set(duplicate_keys(a)) & set(duplicate_keys(b)):
        return True
    fa, fb = _read_fill(a), _read_fill(b)
    if fa is None or fb is None or _normal(fa.answer) != _normal(fb.answer):
        return False
    wa, wb = _words(fa.question), _words(fb.question)
    return bool(wa and wb) and len(wa & wb) / len(wa | wb) >= 0.85


# ---------------------------------------------------------------- ordering


def ambiguous_order(exercise: Exercise) -> bool:
    """True when alternatives ("If a surplus is found…", "If no surplus is found…") are
    more than a third of the steps: whichever comes first the procedure is the same, so
    what is left to put in order is too little. With fewer, the exercise stays and
    kb.exercises_order scores the alternatives right either way round."""
    payload = exercise.payload
    if not isinstance(payload, OrderPayload):
        return False
    alternatives = {i for pair in alternative_pairs(payload.steps) for i in pair}
    return 3 * len(alternatives) > len(payload.steps)


def not_a_procedure(exercise: Exercise) -> bool:
    """True for an ordering made from a numbered list that is not a procedure: fewer than
    half of its steps say what someone does (kb.exercises_order.is_instruction) — a list of
    documents needed, of questions to ask, of facts. Its order is the writer's, not a
    sequence to learn."""
    payload = exercise.payload
    if not isinstance(payload, OrderPayload):
        return False
    actions = sum(is_instruction(step) for step in payload.steps)
    return 2 * actions < len(payload.steps)


# ---------------------------------------------------------------- selecting


@dataclass(frozen=True)
class Dropped:
    """An exercise left out, with one of DROP_REASONS and, for a duplicate, the one kept."""

    exercise: Exercise
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class Selection:
    """The exercises worth reviewing, best first, and those left out with why."""

    kept: tuple[Exercise, ...]
    dropped: tuple[Dropped, ...]

    def counts(self) -> dict[str, int]:
        """How many were left out for each reason (every reason present, zero or more)."""
        counts = dict.fromkeys(DROP_REASONS, 0)
        for dropped in self.dropped:
            counts[dropped.reason] += 1
        return counts


def _section_of(exercise: Exercise) -> tuple[str, str]:
    return exercise.document_id, exercise.source.section


def select_exercises(
    candidates: Iterable[Exercise],
    *,
    per_section: int = PER_SECTION,
    per_document: int = PER_DOCUMENT,
    orders_per_document: int = ORDERS_PER_DOCUMENT,
    min_importance: float = MIN_IMPORTANCE,
) -> Selection:
    """The candidates worth a trainer's review, best-ranked first, with topics renamed.

    In order: unanswerable ones out, ambiguous orderings out, fill-ins ranked below
    `min_importance` out, then by rank: a near-duplicate of one already kept out, then the
    caps (`per_section` and `per_document` fill-ins, `orders_per_document` orderings). Call
    drills always stay (a trainer made each one). Deterministic: ties keep input order."""
    if per_section < 1 or per_document < 1 or orders_per_document < 0:
        raise ValueError(
            "per_section and per_document must be at least 1 and orders_per_document at "
            f"least 0. Currently, they are {per_section}, {per_document} and "
            f"{orders_per_document}."
        )
    dropped: list[Dropped] = []
    ranked: list[Ranked] = []
    for exercise in candidates:
        why = unanswerable(exercise)
        if why is not None:
            reason = "template" if is_table_template(exercise) else "unanswerable"
            dropped.append(Dropped(exercise, reason, why))
        elif not_a_procedure(exercise):
            dropped.append(
                Dropped(exercise, "not_a_procedure", "most steps name things, not actions")
            )
        elif ambiguous_order(exercise):
            dropped.append(
                Dropped(exercise, "ambiguous_order", "neighbouring steps are alternatives")
            )
        else:
            rank = importance(exercise)
            if exercise.kind == "fill" and rank.score < min_importance:
                dropped.append(Dropped(exercise, "low_value", "; ".join(rank.reasons)))
            else:
                ranked.append(rank)
    order = sorted(range(len(ranked)), key=lambda i: (-ranked[i].score, i))
    kept: list[Exercise] = []
    by_key: dict[tuple[object, ...], Exercise] = {}
    fills_by_answer: dict[str, list[Exercise]] = {}
    per_section_count: dict[tuple[str, str], int] = {}
    per_document_count: dict[tuple[str, str], int] = {}
    for i in order:
        exercise = ranked[i].exercise
        if exercise.kind == "drill":
            kept.append(exercise)
            continue
        keys = duplicate_keys(exercise)
        twin = next((by_key[k] for k in keys if k in by_key), None)
        fill = _read_fill(exercise)
        if twin is None and fill is not None:
            same_answer = fills_by_answer.get(_normal(fill.answer), [])
            twin = next((e for e in same_answer if near_duplicate(e, exercise)), None)
        if twin is not None:
            dropped.append(Dropped(exercise, "near_duplicate", f"asks what {twin.id} asks"))
            continue
        cap = per_document if exercise.kind == "fill" else orders_per_document
        document_key = (exercise.document_id, exercise.kind)
        if (
            exercise.kind == "fill"
            and per_section_count.get(_section_of(exercise), 0) >= per_section
        ):
            dropped.append(Dropped(exercise, "section_cap", exercise.source.section))
            continue
        if per_document_count.get(document_key, 0) >= cap:
            dropped.append(Dropped(exercise, "document_cap", exercise.document_id))
            continue
        for key in keys:
            by_key[key] = exercise
        if fill is not None:
            fills_by_answer.setdefault(_normal(fill.answer), []).append(exercise)
            section = _section_of(exercise)
            per_section_count[section] = per_section_count.get(section, 0) + 1
        per_document_count[document_key] = per_document_count.get(document_key, 0) + 1
        kept.append(exercise)
    renamed = tuple(_with_topic(e) for e in kept)
    return Selection(renamed, tuple(dropped))


def _with_topic(exercise: Exercise) -> Exercise:
    section = tuple(exercise.source.section.split(" > ")) if exercise.source.section else ()
    return replace(exercise, topic=topic_name(exercise.source.title, section))
