"""Amounts stated in passages, with what they are for: the basis of conflicts and changes. Pure.

"Documents disagree" is only worth saying when two current documents give a different
amount for the same thing: the same kind of amount (a fee, a limit, a rate, a time), for
the same subject (CHAPS, the daily online transfer limit), for the same product and
channel (personal or business, debit or credit, online or telephone). A sentence that
gives a debit card limit and a credit card limit states two facts, not a disagreement, and
a limit never disagrees with a fee.

When the two documents took effect on different dates, it is not a disagreement either: the
later one changed the value ("Fee Changes from 1 January 2027" says CHAPS is £30). The
answer then gives the value in force and says where it changed.

Table rows are facts too, read with their header ("CHAPS payment (all channels) — Fee from
1 January 2027: £30"), and a column dated "until 31 December 2026" or "from 1 January 2027"
only counts on the dates it covers.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from ingest.clean import split_sentences
from kb.lexical import tokenize
from kb.types import Chunk, ChunkKind

AMOUNT = re.compile(
    r"(?:£|HK\$|HKD\s?|US\$|\$|€)\s?\d(?:[\d,]*\d)?(?:\.\d+)?(?:\s?(?:k|m|million)\b)?"
    r"|\d(?:[\d,]*\d)?(?:\.\d+)?\s?(?:%|港元|英镑|元)"
    r"|\b\d{1,2}:\d{2}\b"
)
_CLAUSE = re.compile(r";|；|，|,\s+(?=(?:and|but|or|while|whereas)\b)|\band\b(?=[^£$€%\d]*[£$€\d])")
_ATTRIBUTES = (
    ("fee", r"\b(?:fees?|charges?|charged|costs?|price|pay)\b|费|收费|手续费|費"),
    (
        "limit",
        r"\b(?:limits?|maximum|max|up to|at most|minimum|min|cap)\b|限额|上限|最多|最高|額度|限額",
    ),
    ("rate", r"\b(?:rates?|interest|apr|ear|aer)\b|利率|费率|年利率"),
    ("time", r"\b(?:cut-?off|by|before|after|until|deadline|hours?)\b|截止|之前|前"),
)
_QUALIFIERS = {
    "segment": (
        ("personal", r"\bpersonal\b|个人|個人"),
        ("business", r"\bbusiness\b|企业|企業|公司"),
    ),
    "card": (("debit", r"\bdebit\b|借记卡|借記卡|提款卡|金融卡"), ("credit", r"\bcredit\b|信用卡")),
    "channel": (
        ("online", r"\b(?:online|mobile|app|internet)\b|网上|網上|网银|網銀|手机银行|App"),
        ("phone", r"\b(?:tele)?phone\b|电话|電話"),
        ("branch", r"\bbranch\b|柜台|櫃檯|分行|网点"),
        ("atm", r"\batms?\b|cash machine|取款机|提款机"),
    ),
    "delivery": (("standard", r"\bstandard\b|普通"), ("express", r"\bexpress\b|加急")),
    "currency": (  # an AUD cut-off is not changed by a EUR example in a holiday bulletin
        ("usd", r"\busd\b|us dollars?|美元"),
        ("eur", r"\beur\b|\beuros?\b|sepa|欧元|歐元"),
        ("aud", r"\baud\b|australian dollars?|澳元"),
        ("cad", r"\bcad\b|canadian dollars?|加元"),
        ("jpy", r"\bjpy\b|\byen\b|日元"),
        ("hkd", r"\bhkd\b|hk\$|hong kong dollars?|港元|港币|港幣"),
        ("cny", r"\bcny\b|\brmb\b|renminbi|人民币|人民幣"),
    ),
    "place": (("abroad", r"\babroad|overseas|international\b|境外|国外|海外"),),
    "period": (
        ("daily", r"\bdaily|per day|a day|each day\b|每日|每天|单日"),
        ("monthly", r"\bmonthly|per month|a month\b|每月|月费|月費|/月"),
        ("single", r"\bper (?:transaction|payment|cheque)|single\b|单笔|每笔"),
    ),
}
_MONTHS = {
    m: i
    for i, m in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ],
        1,
    )
}
_DATE = re.compile(
    r"(\d{1,2})\s+(" + "|".join(_MONTHS) + r")\s+(\d{4})|(\d{4})-(\d{2})-(\d{2})"
    r"|(\d{4})年(\d{1,2})月(\d{1,2})日",
    re.IGNORECASE,
)
_FROM = re.compile(r"\b(?:from|since|effective|starting|after)\b|起|自|之后", re.IGNORECASE)
_UNTIL = re.compile(r"\b(?:until|till|up to|before|to)\b|止|前|之前|截至", re.IGNORECASE)
_NOT_CONTENT = frozenset(tokenize("fee fees charge cost limit rate amount per day daily the new"))


@dataclass(frozen=True)
class Fact:
    """One amount in a passage and what it is for."""

    amount: str
    kind: str  # the amount's unit: a currency symbol, "percent", "time" or "number"
    attribute: str  # fee, limit, rate, time or "" when the words do not say
    subject: frozenset[str]  # content words naming the thing (amounts and qualifiers out)
    qualifiers: frozenset[tuple[str, str]]  # (group, value): ("channel", "online") ...
    text: str  # the sentence or the table row read with its header
    chunk: Chunk
    in_force_from: dt.date | None = None  # from a column headed "from <date>"

    @property
    def document_id(self) -> str:
        return self.chunk.document.document_id


def amount_kind(amount: str) -> str:
    """Money in one currency, a percentage or a time: only like is compared with like."""
    if ":" in amount:
        return "time"
    if amount.endswith("%"):
        return "percent"
    return re.sub(r"[\d,.\s]|k$|m$|million$", "", amount) or "number"


def parse_date(text: str) -> dt.date | None:
    match = _DATE.search(text)
    if not match:
        return None
    g = match.groups()
    try:
        if g[0]:
            return dt.date(int(g[2]), _MONTHS[g[1].lower()], int(g[0]))
        if g[3]:
            return dt.date(int(g[3]), int(g[4]), int(g[5]))
        return dt.date(int(g[6]), int(g[7]), int(g[8]))
    except ValueError:
        return None


def column_in_force(header: str, as_of: dt.date) -> bool:
    """False for a column dated "until 31 December 2026" after that day, or "from 1 January
    2027" before it; True for any other column."""
    date = parse_date(header)
    if date is None:
        return True
    before = header[: _DATE.search(header).start()]  # type: ignore[union-attr]
    if _UNTIL.search(before) and not _FROM.search(before):
        return as_of <= date
    if _FROM.search(before):
        return as_of >= date
    return True


def _attribute(text: str) -> str:
    lowered = text.lower()
    for name, pattern in _ATTRIBUTES:
        if re.search(pattern, lowered):
            return name
    return ""


def _qualifiers(text: str) -> frozenset[tuple[str, str]]:
    lowered = text.lower()
    found = set()
    for group, values in _QUALIFIERS.items():
        for value, pattern in values:
            if re.search(pattern, lowered):
                found.add((group, value))
    return frozenset(found)


_SAME_WORD = {
    "app": "online", "mobile": "online", "internet": "online", "web": "online",
    "telephone": "phone", "day": "daily", "send": "transfer", "pay": "payment",
    "网银": "网上银行", "手机银行": "网上银行", "每天": "每日", "汇款": "转账",
}  # fmt: skip
"""Words agents and documents use for the same thing ("through the app" and "online
banking", "in one day" and "daily"), read as one when comparing what facts are about."""


def _normal(words: Iterable[str]) -> set[str]:
    return {_SAME_WORD.get(w, w) for w in words}


def _subject(text: str) -> frozenset[str]:
    words = _normal(tokenize(AMOUNT.sub(" ", text))) - _NOT_CONTENT
    return frozenset(w for w in words if not w.isdigit())


def render_row(header: Sequence[str], row: Sequence[str]) -> str:
    """A table row read with its header: "CHAPS payment — Fee: £25; Notes: same day"."""
    if not row:
        return ""
    label, cells = row[0], list(zip(header[1:], row[1:], strict=False))
    parts = [f"{name}: {value}" if name else value for name, value in cells if value.strip()]
    return f"{label} — " + "; ".join(parts) if parts else label


def _make(
    amount: str, context: str, text: str, chunk: Chunk, in_force_from: dt.date | None = None
) -> Fact:
    return Fact(
        amount=amount.strip(),
        kind=amount_kind(amount.strip()),
        attribute=_attribute(context),
        subject=_subject(context),
        qualifiers=_qualifiers(context),
        text=text,
        chunk=chunk,
        in_force_from=in_force_from,
    )


def table_facts(chunk: Chunk, as_of: dt.date | None = None) -> list[Fact]:
    rows = chunk.table_rows
    if len(rows) < 2:
        return []
    header, facts = rows[0], []
    keep = [i for i, name in enumerate(header) if as_of is None or column_in_force(name, as_of)]
    for row in rows[1:]:
        text = render_row([header[i] for i in keep], [row[i] for i in keep if i < len(row)])
        for column, cell in enumerate(row[1:], start=1):
            name = header[column] if column < len(header) else ""
            if as_of is not None and not column_in_force(name, as_of):
                continue
            dated = parse_date(name) if _FROM.search(name) else None
            for amount in AMOUNT.findall(cell):
                facts.append(_make(amount, f"{row[0]} {name} {cell}", text, chunk, dated))
    return facts


def sentence_facts(sentence: str, chunk: Chunk) -> list[Fact]:
    """One fact per amount, each read with its own clause ("the debit card limit is £500;
    the credit card limit is £300" gives two facts with different subjects)."""
    facts = []
    for clause in _CLAUSE.split(sentence):
        for amount in AMOUNT.findall(clause or ""):
            facts.append(_make(amount, clause, sentence, chunk))
    return facts


HISTORY_SECTION = re.compile(
    r"revision|document history|change log|changelog|version history|修订|修訂|版本记录|版本記錄",
    re.IGNORECASE,
)


def chunk_facts(chunk: Chunk, as_of: dt.date | None = None) -> list[Fact]:
    """The facts a passage states; none from a revision history, whose amounts are past.

    Kept per passage and date (`_stated`): every answer reads the facts of up to 8 passages
    and a cross-check's witnesses, and the same passages answer many questions, so reading
    them again was a tenth of a warm ask()."""
    return list(_stated(chunk, as_of))


@lru_cache(maxsize=4096)
def _stated(chunk: Chunk, as_of: dt.date | None) -> tuple[Fact, ...]:
    return tuple(_read_facts(chunk, as_of))


def _read_facts(chunk: Chunk, as_of: dt.date | None) -> list[Fact]:
    if any(HISTORY_SECTION.search(part) for part in chunk.section_path):
        return []
    if chunk.kind == ChunkKind.TABLE and chunk.table_rows:
        return table_facts(chunk, as_of)
    facts = []
    for line in chunk.text.splitlines()[1:] if chunk.section else chunk.text.splitlines():
        if line.startswith("|"):
            continue
        for sentence in split_sentences(line):
            if as_of is None or not mentions_later_date(sentence, as_of):
                facts += sentence_facts(sentence, chunk)
    return facts


def mentions_later_date(text: str, as_of: dt.date) -> bool:
    """Whether `text` speaks of a day after `as_of` ("fees change on 1 January 2027"): its
    amounts may not be in force yet, so they are neither a change nor a disagreement."""
    for match in _DATE.finditer(text):
        date = parse_date(match.group())
        if date is not None and date > as_of:
            return True
    return False


def same_thing(a: Fact, b: Fact, min_overlap: float = 0.5) -> bool:
    """Whether two facts state the same kind of amount for the same thing: same unit, same
    attribute (when both say), no qualifier group where they differ (debit vs credit, online
    vs phone), and subjects that overlap (share of the smaller subject)."""
    if a.kind != b.kind or (a.attribute and b.attribute and a.attribute != b.attribute):
        return False
    groups_a = {g: {v for gg, v in a.qualifiers if gg == g} for g, _ in a.qualifiers}
    groups_b = {g: {v for gg, v in b.qualifiers if gg == g} for g, _ in b.qualifiers}
    for group in groups_a.keys() & groups_b.keys():
        if groups_a[group] != groups_b[group]:
            return False
    if (groups_a.keys() ^ groups_b.keys()) & {"segment", "card", "period"}:
        # One names the product (or says "monthly"), the other another or none: an unpaid
        # item fee is not the monthly fee, however many words their subjects share.
        return False
    smaller = min(len(a.subject), len(b.subject))
    return smaller > 0 and len(a.subject & b.subject) / smaller >= min_overlap


_CHANGE_TITLE = re.compile(r"chang|updat|increas|revis|new fees?|调整|变更|更新|調整|變更", re.I)


def announces_change(fact: Fact) -> bool:
    """Whether a fact comes from a change notice: a column dated "from <date>", or a
    document whose title says it changes things ("Fee Changes from 1 January 2027")."""
    return fact.in_force_from is not None or bool(_CHANGE_TITLE.search(fact.chunk.document.title))


_ASKING = frozenset(
    tokenize("what how much many when which who can does is tell say know need through via using")
)
_QUALIFIER_WORDS = frozenset(tokenize("daily monthly"))


def question_subject(question_tokens: Iterable[str]) -> frozenset[str]:
    """The words of a question that name its subject: without "fee", "limit", "how much",
    and without the numbers the asker typed (the £23,000 they want to send is their case,
    not what the passage must be about)."""
    words = {w for w in _normal(question_tokens) if not any(c.isdigit() for c in w)}
    return frozenset((words - _NOT_CONTENT - _ASKING) | (words & _QUALIFIER_WORDS))


def named(fact: Fact) -> frozenset[str]:
    """What a fact names: its subject's words and its qualifiers ("daily", "online"), which
    a table may state in a header rather than in the row."""
    return fact.subject | {value for _, value in fact.qualifiers}


def about(fact: Fact, subject: frozenset[str]) -> bool:
    """Whether a fact is about what was asked: its subject holds at least half of the
    question's subject words, and it names no other product or channel than the question
    does (an online limit is not the answer to a question about telephone banking)."""
    if len(named(fact) & subject) < max(1, math.ceil(0.5 * len(subject))):
        return False
    asked = _qualifiers(" ".join(sorted(subject)))
    for group in {g for g, _ in asked}:
        stated = {v for g, v in fact.qualifiers if g == group}
        if stated and not stated & {v for g, v in asked if g == group}:
            return False
    return True


def same_answer_to(a: Fact, b: Fact, subject: frozenset[str]) -> bool:
    """Whether two facts answer the question about the same thing: the question's subject
    words each contains are mostly the same (Jaccard at least 0.6), and `same_thing`."""
    in_a, in_b = named(a) & subject, named(b) & subject
    if not in_a or not in_b or len(in_a & in_b) / len(in_a | in_b) < 0.6:
        return False
    return same_thing(a, b)
