"""What the knowledge team learns from the questions asked: gaps, document health, trends. Pure.

Functions take the records the stores return (kb.querylog.LoggedQuestion, kb.feedback.Feedback,
kb.types.DocumentRecord) and, for topics, the questions' embeddings; they return frozen
records the Insights page renders. No SQLite, no model, no Streamlit, so every number on the
page can be checked in a unit test. All days are UTC calendar days, as the stores record them.

Why topic clustering centres the vectors per language first: with multilingual-e5-small
every Chinese question sits close to every other Chinese question (raw cosine about 0.85
whatever the subject) and English ones close to each other, so one raw threshold either
merges Chinese questions on a dozen subjects into one "topic" (31 of them, in our tests) or
splits English paraphrases. Subtracting each language's mean vector removes that shared
"this is Chinese / English" direction and leaves what the question is about; it is also what
lets a Chinese and an English question on one subject meet in one topic. The mean is taken
over the gap questions together with a fixed set of everyday reference questions
(REFERENCE_QUESTIONS), so it is sound for five questions as well as for five thousand.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from ingest.clean import detect_language
from kb.feedback import Feedback
from kb.lexical import tokenize
from kb.pii import PLACEHOLDER, mask
from kb.querylog import LoggedQuestion
from kb.types import AnswerStatus, DocumentRecord

TOPIC_SIMILARITY = 0.2
"""Average-linkage threshold on language-centred cosine similarity (see cluster_gaps).

Chosen on real multilingual-e5-small query vectors, with the reference questions:
- 32 questions in four themes, English and Chinese, four paraphrase pairs: every threshold
  from 0.15 to 0.22 gives exactly the four themes, languages joined; 0.25 gives six topics.
- 31 held-out questions in six other themes: purity 1.00 at 0.2, 0.97 at 0.15.
- either set mixed with the 187 golden-set questions (eval/data): pairwise precision 0.56
  and 0.39 at 0.2, against 0.40 and 0.32 at 0.15, for little recall.
- the 31 questions of tests/integration/test_insights_embedded.py, written afterwards: purity
  1.00, each theme's largest topic holding 6 of its 7 to 9 questions.
Raw cosine, for comparison, could not do both: at 0.84 it already put Chinese crypto
questions with Chinese currency exchange, and at 0.87 (needed once golden-set questions were
mixed in) it left the four themes in ten topics. Higher means smaller, purer topics."""

FEEDBACK_MATCH_WINDOW = dt.timedelta(hours=12)
"""How far apart a "not helpful" verdict and the logged question it rates may be. Agents rate
an answer right after reading it; a verdict with no logged question this close is counted on
its own (for instance feedback given before the question log existed)."""

MAX_CLUSTERED = 3_000
"""Distinct failing questions clustered with each other at a time (cluster_gaps; beyond it,
in rounds: the others join the topic they are closest to, or wait for the next round).
Average linkage holds an n x n matrix, twice: 3,000 is ~150 MB and about a second; the
month of a 500-agent contact centre can hold 100,000 distinct failing questions, 160 GB."""


REFERENCE_QUESTIONS: dict[str, tuple[str, ...]] = {
    "en": (
        "What is the customer's current account balance?",
        "How do I report a lost debit card?",
        "Customer's card was stolen last night, what now?",
        "How long does a bank transfer take to arrive?",
        "What is the daily cash withdrawal limit at an ATM?",
        "Customer forgot their online banking password",
        "How do I reset a PIN?",
        "Why has a direct debit been taken twice?",
        "How can the customer cancel a standing order?",
        "What is the interest rate on the easy access saver?",
        "Customer wants to close their account",
        "How do I open a joint account?",
        "What ID does a new customer need to open an account?",
        "When are branches open on Saturdays?",
        "Customer thinks they have been scammed by a phone call",
        "How to dispute a card payment the customer does not recognise",
        "What is the fee for an unarranged overdraft?",
        "Can the overdraft limit be increased?",
        "How long does a cheque take to clear?",
        "Customer moved house and wants to update the address",
        "How do I send money abroad in euros?",
        "What is the limit for contactless payments?",
        "Card declined at the supermarket, why?",
        "How to make a complaint about the service",
        "A customer's father has died, what do we do with his account?",
        "Can someone with power of attorney manage the account?",
        "How do I register for the mobile banking app?",
        "What is the credit card minimum repayment?",
        "Customer wants a personal loan, how much can they borrow?",
        "How do I set up text alerts?",
        "Where can I find the sort code and account number?",
        "Is there a charge for a replacement card?",
        "How does the customer activate a new card?",
        "Payment sent to the wrong account, can it be recalled?",
        "What are the cut-off times for same-day payments?",
        "Business account monthly fees",
        "How do I help a vulnerable customer on the phone?",
        "Customer locked out of online banking after three attempts",
        "How to request a refund of a bank charge",
        "What happens if a customer misses a loan payment?",
    ),
    "zh": (
        "客户的活期账户余额是多少？",
        "借记卡丢失了怎么挂失？",
        "客户的卡昨晚被偷了，该怎么办？",
        "转账一般多久能到账？",
        "ATM每天最多能取多少现金？",
        "客户忘记了网上银行密码",
        "怎么重置密码？",
        "为什么同一笔直接扣款被扣了两次？",
        "客户怎么取消定期付款指令？",
        "活期储蓄的利率是多少？",
        "客户想要销户",
        "怎么开联名账户？",
        "新客户开户需要带什么证件？",
        "分行周六几点开门？",
        "客户怀疑接到了诈骗电话",
        "客户不认识的一笔刷卡交易怎么申请争议？",
        "未经安排的透支要收多少费用？",
        "透支额度可以提高吗？",
        "支票存入后多久能用？",
        "客户搬家了，想更新地址",
        "怎么往国外汇欧元？",
        "非接触式支付的限额是多少？",
        "在超市刷卡被拒是什么原因？",
        "怎么投诉服务问题？",
        "客户的父亲去世了，他的账户怎么处理？",
        "持有授权书的人可以管理账户吗？",
        "怎么注册手机银行？",
        "信用卡最低还款额是多少？",
        "客户想申请个人贷款，最多能借多少？",
        "怎么开通短信提醒？",
        "在哪里可以查到分行代码和账号？",
        "补办银行卡要收费吗？",
        "新卡怎么激活？",
        "钱转错了账户，能追回吗？",
        "当天到账的汇款截止时间是几点？",
        "企业账户每个月的管理费",
        "电话里怎么帮助弱势客户？",
        "客户网银密码输错三次被锁了",
        "怎么申请退还银行收费？",
        "客户错过了一期贷款还款会怎样？",
    ),
}
"""Everyday contact-centre questions by script ("en": no Chinese characters, "zh": some):
the fixed part of the per-language mean that cluster_gaps subtracts. Deliberately broad and
ordinary, so the mean is "a typical question in this language" rather than any one topic.
Embed them with the same model as the gap questions (reference_vectors)."""

MAX_EXAMPLES = 5
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # "never shown" sorts before any date
_LABEL_WORDS = 3

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'’]*")
# Words that say nothing about a topic, on top of kb.lexical's search stop-words.
_LABEL_STOPWORDS = frozenset(
    {
        "want", "wants", "need", "needs", "get", "got", "help", "tell", "know", "like", "ok",
        "thanks", "hi", "hello", "still", "now", "today", "yesterday", "way", "anyone",
        "可以", "能", "用", "被", "后", "想", "要求", "需要", "多少", "哪里", "怎么办", "为什么",
        "是否", "一下", "还是", "这个", "那个", "我们", "你们", "客户", "现在", "已经", "应该",
    }
)  # fmt: skip


class GapReason(StrEnum):
    """Why a question counts as a knowledge gap; one question can have several."""

    REFUSED = "refused"  # the answer said the knowledge base does not cover it
    LOW_CONFIDENCE = "low_confidence"  # answered, with the low-confidence warning
    NOT_HELPFUL = "not_helpful"  # the agent marked the answer not helpful


@dataclass(frozen=True)
class GapQuestion:
    """One failing question: a logged question, or a not-helpful verdict with none logged."""

    at: str  # UTC ISO timestamp: when it was asked (or rated, for feedback on its own)
    user: str
    question: str  # masked, as the agent typed it
    # masked, as searched: a follow-up ("and for a business account?") with the question it
    # follows. Topics are built from this, so follow-ups join the subject they are about.
    resolved_question: str
    reasons: tuple[GapReason, ...]  # in GapReason order, never empty
    confidence: float
    documents: tuple[str, ...]  # ids of the documents shown, in order
    language: str
    logged_id: int | None = None  # the kb.querylog row; None for feedback on its own
    feedback_ids: tuple[int, ...] = ()  # the not-helpful verdicts on it
    feedback_reason: str = ""  # what the agents wrote with those verdicts (masked)

    @property
    def day(self) -> dt.date:
        return _day(self.at)


@dataclass(frozen=True)
class GapTopic:
    """Failing questions about one subject, with what the knowledge team needs to act on it.

    The dict fields are plain dicts so that Streamlit can cache and chart them; treat them as
    read-only."""

    label: str  # the topic's most frequent meaningful words, e.g. "mortgage · holiday"
    keywords: tuple[str, ...]  # the words the label is made of, most frequent first
    count: int  # questions in the topic, repeats included
    per_day: dict[dt.date, int]  # questions per UTC day, days in order
    first_seen: str  # UTC ISO timestamp
    last_seen: str
    # up to MAX_EXAMPLES distinct (resolved, masked) questions, the most asked first
    examples: tuple[str, ...]
    reasons: dict[GapReason, int]  # questions with each reason (every reason present as a key)
    documents: tuple[str, ...]  # documents shown for these questions, most often shown first
    questions: tuple[GapQuestion, ...]  # the questions themselves, oldest first


@dataclass(frozen=True)
class DocumentHealth:
    """How one current document is used and whether it needs the knowledge team's attention."""

    document_id: str
    title: str
    times_shown: int  # logged questions that showed it (answer passages or closest articles)
    last_shown: str | None  # UTC ISO timestamp of the last of those
    never_shown: bool
    helpful: int  # feedback verdicts on answers that showed it
    not_helpful: int
    review_by: dt.date | None
    past_review_by: bool  # review_by is before today
    expiry_date: dt.date | None
    past_expiry: bool  # expiry_date is before today: retrieval no longer answers from it


@dataclass(frozen=True)
class DayTrend:
    """One UTC day of questions and feedback. Rates are None when there is nothing to divide."""

    day: dt.date
    questions: int
    refused: int
    refusal_rate: float | None  # refused / questions
    low_confidence: int
    helpful: int
    not_helpful: int
    helpful_rate: float | None  # helpful / (helpful + not_helpful)


# ------------------------------------------------------------------- time helpers


def _instant(at: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(at)
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


def _day(at: str) -> dt.date:
    return _instant(at).astimezone(dt.UTC).date()


def _question_key(text: str) -> str:
    """Questions that differ only in case or spacing are the same question."""
    return " ".join(text.casefold().split())


# ------------------------------------------------------------- failing questions


def failing_questions(
    logged: Sequence[LoggedQuestion],
    feedback: Sequence[Feedback],
    match_window: dt.timedelta = FEEDBACK_MATCH_WINDOW,
) -> list[GapQuestion]:
    """Questions refused, answered with low confidence, or marked not helpful, oldest first.

    A not-helpful verdict is matched to the logged question with the same masked text and
    user that is nearest in time (within `match_window`; both stores mask the same way, so
    the texts agree). Verdicts with no such question count on their own, so no complaint is
    lost when the log started later than the feedback store."""
    by_key: dict[tuple[str, str], list[LoggedQuestion]] = {}
    for question in logged:
        by_key.setdefault((question.user, _question_key(question.question)), []).append(question)

    verdicts: dict[int, list[Feedback]] = {}
    unmatched: list[Feedback] = []
    for verdict in feedback:
        if verdict.helpful:
            continue
        when = _instant(verdict.at)
        candidates = by_key.get((verdict.user, _question_key(verdict.question)), [])
        nearest = min(
            candidates,
            key=lambda q: (abs(_instant(q.at) - when), _instant(q.at) > when, q.id),
            default=None,
        )
        if nearest is None or abs(_instant(nearest.at) - when) > match_window:
            unmatched.append(verdict)
        else:
            verdicts.setdefault(nearest.id, []).append(verdict)

    gaps: list[GapQuestion] = []
    for question in logged:
        reasons: list[GapReason] = []
        if question.status == AnswerStatus.NOT_COVERED.value:
            reasons.append(GapReason.REFUSED)
        elif question.low_confidence:
            reasons.append(GapReason.LOW_CONFIDENCE)
        rated = verdicts.get(question.id, [])
        if rated:
            reasons.append(GapReason.NOT_HELPFUL)
        if reasons:
            gaps.append(
                GapQuestion(
                    at=question.at,
                    user=question.user,
                    question=question.question,
                    resolved_question=question.resolved_question,
                    reasons=tuple(reasons),
                    confidence=question.confidence,
                    documents=question.documents,
                    language=question.language,
                    logged_id=question.id,
                    feedback_ids=tuple(v.id for v in rated),
                    feedback_reason=_joined_reasons(rated),
                )
            )
    for verdict in unmatched:
        refused = verdict.status == AnswerStatus.NOT_COVERED.value
        gaps.append(
            GapQuestion(
                at=verdict.at,
                user=verdict.user,
                question=verdict.question,
                resolved_question=verdict.question,
                reasons=(GapReason.REFUSED, GapReason.NOT_HELPFUL)
                if refused
                else (GapReason.NOT_HELPFUL,),
                confidence=verdict.confidence,
                documents=verdict.documents,
                language=detect_language(PLACEHOLDER.sub(" ", verdict.question)),
                feedback_ids=(verdict.id,),
                feedback_reason=_joined_reasons([verdict]),
            )
        )
    gaps.sort(key=lambda g: (_instant(g.at), g.logged_id is None, g.logged_id or 0))
    return gaps


def _joined_reasons(verdicts: Iterable[Feedback]) -> str:
    return "; ".join(dict.fromkeys(v.reason.strip() for v in verdicts if v.reason.strip()))


# ---------------------------------------------------------------------- topics


def question_vectors(
    questions: Sequence[GapQuestion], embed_query: Callable[[str], np.ndarray]
) -> np.ndarray:
    """Row i is the embedding of questions[i] (its resolved question, the text topics are
    built from); each distinct text is embedded once.

    `embed_query` is the embedder's query method (kb.ports.Embedder.embed_query): questions
    are compared with each other as queries, which is what e5's "query: " prefix is for.
    Mask placeholders ("[card ****6467]") are left out: they say nothing about the topic
    and would only pull together questions that mention a card number."""
    cache: dict[str, np.ndarray] = {}
    rows = []
    for question in questions:
        text = " ".join(PLACEHOLDER.sub(" ", question.resolved_question).split())
        if text not in cache:
            cache[text] = np.asarray(embed_query(text), dtype=np.float64)
        rows.append(cache[text])
    if not rows:
        return np.zeros((0, 0))
    return np.vstack(rows)


def reference_vectors(embed_query: Callable[[str], np.ndarray]) -> dict[str, np.ndarray]:
    """REFERENCE_QUESTIONS embedded, one matrix per script, for cluster_gaps' `reference`.
    About 80 embeddings: compute once per model and keep them."""
    return {
        script: np.vstack([np.asarray(embed_query(q), dtype=np.float64) for q in texts])
        for script, texts in REFERENCE_QUESTIONS.items()
    }


def cluster_gaps(
    questions: Sequence[GapQuestion],
    vectors: np.ndarray,
    threshold: float = TOPIC_SIMILARITY,
    reference: Mapping[str, np.ndarray] | None = None,
) -> list[GapTopic]:
    """Group failing questions into topics, largest first. Deterministic; numpy only.

    Questions are compared by their resolved text. `vectors` holds one embedding per
    question (question_vectors); `reference` is
    reference_vectors() from the same model. Identical questions (case and spacing aside)
    are merged first. Each distinct question's vector then has its language's mean
    subtracted (Chinese script or not; the mean over these questions and the reference
    questions, see the module docstring) and is normalised again, and average-linkage
    agglomerative clustering joins the two most similar groups until no two groups average
    `threshold` cosine similarity or more.

    Without `reference` the mean comes from the questions alone: fine for hundreds of varied
    questions, but a handful get pushed apart, and a language with one distinct question
    leaves it a topic of its own."""
    if not -1.0 <= threshold <= 1.0:
        raise ValueError(
            "threshold is a cosine similarity between -1 and 1. "
            f"Currently, threshold is {threshold}"
        )
    matrix = np.asarray(vectors, dtype=np.float64)
    if len(questions) == 0:
        return []
    if matrix.ndim != 2 or matrix.shape[0] != len(questions):
        raise ValueError(
            f"vectors must have one row per question: {len(questions)} questions, "
            f"vectors of shape {matrix.shape}"
        )

    distinct: dict[str, list[int]] = {}
    for index, question in enumerate(questions):
        distinct.setdefault(_question_key(question.resolved_question), []).append(index)
    members = list(distinct.values())
    merged = np.vstack([_unit(matrix[rows].mean(axis=0, keepdims=True))[0] for rows in members])
    texts = [questions[rows[0]].resolved_question for rows in members]
    scripts = ["zh" if _is_chinese(text) else "en" for text in texts]
    centred = _centred_by_language(merged, scripts, reference or {})
    weights = np.array([len(rows) for rows in members], dtype=np.float64)
    if len(members) > MAX_CLUSTERED:
        latest = [max(_instant(questions[r].at) for r in rows) for rows in members]
        order = sorted(range(len(members)), key=lambda g: (-weights[g], -latest[g].timestamp(), g))
        groups = _cluster_in_rounds(centred, weights, order, threshold)
    else:
        groups = _average_linkage(centred @ centred.T, weights, threshold)

    clusters = [[i for g in group for i in members[g]] for group in groups]
    centrality = []
    for group in groups:
        mean = centred[group].mean(axis=0)  # once per topic, not once per member
        centrality.append({g: float(centred[g] @ mean) for g in group})
    terms = [_topic_terms(questions, rows) for rows in clusters]
    spread = Counter(key for topic_terms in terms for key in topic_terms)

    topics = []
    for group, rows, topic_terms, central in zip(groups, clusters, terms, centrality, strict=True):
        keywords = _keywords(topic_terms, spread, len(groups))
        topics.append(_topic(questions, members, group, rows, keywords, central))
    topics.sort(key=lambda t: (-t.count, -_instant(t.last_seen).timestamp(), t.label))
    return topics


def _cluster_in_rounds(
    centred: np.ndarray, weights: np.ndarray, order: Sequence[int], threshold: float
) -> list[list[int]]:
    """Average linkage for more distinct questions than MAX_CLUSTERED, in bounded memory.

    Each round clusters the next MAX_CLUSTERED questions of `order` (most asked first), then
    every question still waiting joins the topic (of this round or an earlier one) it has
    the highest average similarity with, when that reaches `threshold` (the linkage's own
    rule); the ones that join none wait for the next round. A subject none of the most
    asked questions are about is thus clustered in a later round, not scattered."""
    groups: list[list[int]] = []
    pending = list(order)
    while pending:
        core = sorted(pending[:MAX_CLUSTERED])
        found = _average_linkage(centred[core] @ centred[core].T, weights[core], threshold)
        groups += [[core[i] for i in group] for group in found]
        groups, pending = _attach(centred, weights, groups, pending[MAX_CLUSTERED:], threshold)
    return groups


def _attach(
    centred: np.ndarray,
    weights: np.ndarray,
    groups: list[list[int]],
    rest: Sequence[int],
    threshold: float,
    block: int = 4_096,
) -> tuple[list[list[int]], list[int]]:
    """`groups` with each row of `rest` added to the group it has the highest average-linkage
    similarity with (its vector against the group's weighted mean vector: the weighted
    average of its similarities to the members), if that reaches `threshold`; and the rows
    that reached it with no group, in their order. The means are the groups' as given."""
    joined = [list(g) for g in groups]
    means = np.vstack(
        [(weights[g, None] * centred[g]).sum(axis=0) / weights[g].sum() for g in groups]
    )
    left: list[int] = []
    rest = list(rest)
    for start in range(0, len(rest), block):
        rows = rest[start : start + block]
        similarity = centred[rows] @ means.T
        best = np.argmax(similarity, axis=1)
        values = similarity[np.arange(len(rows)), best]
        for row, group, value in zip(rows, best, values, strict=True):
            if value >= threshold:
                joined[int(group)].append(row)
            else:
                left.append(row)
    return joined, left


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 1e-9)


def _centred_by_language(
    vectors: np.ndarray, scripts: Sequence[str], reference: Mapping[str, np.ndarray]
) -> np.ndarray:
    out = np.zeros_like(vectors)
    for script in sorted(set(scripts)):
        rows = [i for i, s in enumerate(scripts) if s == script]
        pool = [vectors[rows]]
        extra = np.asarray(reference.get(script, np.zeros((0, vectors.shape[1]))), np.float64)
        if extra.ndim != 2 or extra.shape[1] != vectors.shape[1]:
            raise ValueError(
                f"reference vectors for {script!r} have shape {extra.shape}, the questions' "
                f"{vectors.shape}: embed both with the same model"
            )
        pool.append(_unit(extra))
        pooled = np.vstack(pool)
        out[rows] = vectors[rows] - pooled.mean(axis=0)
    # With no reference, a lone question's residual is zero: it stays a topic of its own.
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return np.divide(out, norms, out=np.zeros_like(out), where=norms > 1e-6)


def _average_linkage(
    similarity: np.ndarray, weights: np.ndarray, threshold: float
) -> list[list[int]]:
    """Average-linkage (UPGMA) clustering on a similarity matrix, items weighted.

    Each row's best partner is cached, so a merge costs O(n) plus a rescan of the rows whose
    partner was merged, instead of a search of the whole n x n matrix: a few thousand
    distinct questions cluster in seconds."""
    n = len(weights)
    s = similarity.astype(np.float64, copy=True)
    np.fill_diagonal(s, -np.inf)
    sizes = weights.astype(np.float64, copy=True)
    alive = np.ones(n, dtype=bool)
    groups: list[list[int]] = [[i] for i in range(n)]
    best = np.argmax(s, axis=1) if n else np.zeros(0, dtype=int)
    best_value = s[np.arange(n), best] if n else np.zeros(0)

    while n > 1:
        i = int(np.argmax(best_value))
        if not best_value[i] >= threshold:
            break
        a, b = sorted((i, int(best[i])))
        row = (sizes[a] * s[a] + sizes[b] * s[b]) / (sizes[a] + sizes[b])
        row[a] = row[b] = -np.inf
        s[a, :] = row
        s[:, a] = row
        s[b, :] = -np.inf
        s[:, b] = -np.inf
        sizes[a] += sizes[b]
        groups[a] += groups[b]
        groups[b] = []
        alive[b] = False
        best_value[b] = -np.inf

        stale = alive & ((best == a) | (best == b))
        stale[a] = True
        for k in np.flatnonzero(stale):
            best[k] = int(np.argmax(s[k]))
            best_value[k] = s[k, best[k]]
        better = alive & (s[:, a] > best_value)
        best[better] = a
        best_value[better] = s[better, a]
    return [group for group in groups if group]


def _label_terms(text: str) -> dict[str, str]:
    """The topic words of one question: search key (kb.lexical's stem) -> word as written.

    The words come from the masked text with its placeholders taken out: questions logged
    before kb.pii knew a format (a typed password, say) are masked again here, so no
    customer's datum or secret can name a topic ("password · hunter2 · online")."""
    text = PLACEHOLDER.sub(" ", mask(text).text)
    found: dict[str, str] = {}
    for word in _LATIN_WORD.findall(text):
        lowered = word.lower().replace("’", "'")
        if lowered in _LABEL_STOPWORDS:
            continue
        for key in tokenize(lowered):
            if len(key) > 1 and not key.isdigit() and key not in _LABEL_STOPWORDS:
                found.setdefault(key, lowered.split("'")[0])
    for run in re.findall(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+", text):
        for key in tokenize(run):
            # Single characters (换, 卡) are too ambiguous to name a topic with.
            if len(key) > 1 and key not in _LABEL_STOPWORDS:
                found.setdefault(key, key)
    return found


def _topic_terms(questions: Sequence[GapQuestion], rows: Sequence[int]) -> dict[str, Counter[str]]:
    """For each topic word: how each distinct question containing it wrote it."""
    seen: set[str] = set()
    terms: dict[str, Counter[str]] = {}
    for row in rows:
        key = _question_key(questions[row].resolved_question)
        if key in seen:
            continue
        seen.add(key)
        for term, surface in _label_terms(questions[row].resolved_question).items():
            terms.setdefault(term, Counter())[surface] += 1
    return terms


def _keywords(
    terms: dict[str, Counter[str]], spread: Counter[str], topic_count: int
) -> tuple[str, ...]:
    """The topic's most frequent meaningful words: how many of its distinct questions use a
    word, weighted down when other topics use it too (so "card" or "account" only names a
    topic that is really about them). A word inside a chosen one (外币 in 外币兑换) adds
    nothing and is skipped. A topic asked in English and Chinese gets a word in each, if
    one is shared by two of its questions, so that either reader recognises it."""

    def score(term: str) -> float:
        return sum(terms[term].values()) * math.log(1 + topic_count / spread[term])

    ranked = sorted(terms, key=lambda t: (-score(t), -len(t), t))
    surfaces = {terms[t].most_common(1)[0][0]: sum(terms[t].values()) for t in ranked}
    chosen: list[str] = []
    for surface in surfaces:
        if len(chosen) < _LABEL_WORDS and not any(_overlap(surface, c) for c in chosen):
            chosen.append(surface)
    for chinese in (True, False):
        if chosen and not any(_is_chinese(c) == chinese for c in chosen):
            other = next(
                (w for w, n in surfaces.items() if _is_chinese(w) == chinese and n >= 2), None
            )
            if other is not None:
                chosen[min(len(chosen), _LABEL_WORDS - 1) :] = [other]
    return tuple(chosen)


def _is_chinese(word: str) -> bool:
    return bool(_CJK.search(word))


def _overlap(a: str, b: str) -> bool:
    """Chinese words overlap when one contains the other; English ones are already merged by
    their stem, and "pay" inside "payment" is a different word."""
    return _is_chinese(a) and _is_chinese(b) and (a in b or b in a)


def _topic(
    questions: Sequence[GapQuestion],
    members: Sequence[Sequence[int]],
    group: Sequence[int],
    rows: Sequence[int],
    keywords: tuple[str, ...],
    centrality: dict[int, float],
) -> GapTopic:
    asked = sorted((questions[r] for r in rows), key=lambda q: (_instant(q.at), q.logged_id or 0))
    # Examples: the most asked distinct questions, the most typical of the topic first.
    order = sorted(group, key=lambda g: (-len(members[g]), -centrality[g], members[g][0]))
    examples = tuple(questions[members[g][0]].resolved_question for g in order[:MAX_EXAMPLES])
    per_day = Counter(q.day for q in asked)
    reasons = {reason: sum(reason in q.reasons for q in asked) for reason in GapReason}
    shown = Counter(d for q in asked for d in q.documents)
    return GapTopic(
        label=" · ".join(keywords) if keywords else mask(examples[0]).text[:60],
        keywords=keywords,
        count=len(asked),
        per_day=dict(sorted(per_day.items())),
        first_seen=asked[0].at,
        last_seen=max(asked, key=lambda q: _instant(q.at)).at,
        examples=examples,
        reasons=reasons,
        documents=tuple(sorted(shown, key=lambda d: (-shown[d], d))),
        questions=tuple(asked),
    )


_CSV_COLUMNS = (
    "topic",
    "topic_label",
    "at",
    "user",
    "question",
    "resolved_question",
    "reasons",
    "confidence",
    "documents",
    "language",
    "feedback_reason",
)


def _cell(value: str) -> str:
    """Text a spreadsheet would run as a formula (=, +, -, @ first) gets a leading quote:
    questions are typed by agents from what customers say, and the export is opened in
    Excel (OWASP "CSV injection")."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def gaps_csv(topics: Sequence[GapTopic]) -> str:
    """CSV for export: one row per failing question with its topic (numbered as listed).
    Several reasons or documents in one cell are separated by ";"."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(_CSV_COLUMNS)
    for number, topic in enumerate(topics, start=1):
        for question in topic.questions:
            writer.writerow(
                [
                    number,
                    _cell(topic.label),
                    question.at,
                    _cell(question.user),
                    _cell(question.question),
                    _cell(question.resolved_question),
                    ";".join(r.value for r in question.reasons),
                    f"{question.confidence:.3f}",
                    ";".join(question.documents),
                    question.language,
                    _cell(question.feedback_reason),
                ]
            )
    return buffer.getvalue()


# ------------------------------------------------------------- document health


def document_health(
    documents: Sequence[DocumentRecord],
    logged: Sequence[LoggedQuestion],
    feedback: Sequence[Feedback],
    today: dt.date,
) -> list[DocumentHealth]:
    """Usage, feedback and dates for every current document, most shown first.

    Deleted documents (no current version) are left out: nothing can be done about them.
    Feedback counts for every document the rated answer showed."""
    shown: Counter[str] = Counter()
    last: dict[str, str] = {}
    for question in logged:
        for document_id in question.documents:
            shown[document_id] += 1
            if document_id not in last or _instant(question.at) > _instant(last[document_id]):
                last[document_id] = question.at
    helpful: Counter[str] = Counter()
    not_helpful: Counter[str] = Counter()
    for verdict in feedback:
        for document_id in dict.fromkeys(verdict.documents):
            (helpful if verdict.helpful else not_helpful)[document_id] += 1

    health = [
        DocumentHealth(
            document_id=d.document_id,
            title=d.title,
            times_shown=shown[d.document_id],
            last_shown=last.get(d.document_id),
            never_shown=shown[d.document_id] == 0,
            helpful=helpful[d.document_id],
            not_helpful=not_helpful[d.document_id],
            review_by=d.review_by,
            past_review_by=d.review_by is not None and d.review_by < today,
            expiry_date=d.expiry_date,
            past_expiry=d.expiry_date is not None and d.expiry_date < today,
        )
        for d in documents
        if d.current_version is not None
    ]
    return sorted(health, key=lambda h: (-h.times_shown, h.title, h.document_id))


def most_used(health: Sequence[DocumentHealth], n: int = 10) -> list[DocumentHealth]:
    """The n documents shown most often, most recently shown first among equals."""
    ranked = sorted(health, key=lambda h: (h.title, h.document_id))
    ranked.sort(key=lambda h: _instant(h.last_shown) if h.last_shown else _EPOCH, reverse=True)
    ranked.sort(key=lambda h: h.times_shown, reverse=True)
    return ranked[: max(n, 0)]


def least_used(health: Sequence[DocumentHealth], n: int = 10) -> list[DocumentHealth]:
    """The n documents shown least often (never-shown first), longest unseen first."""
    ranked = sorted(
        health,
        key=lambda h: (
            h.times_shown,
            _instant(h.last_shown) if h.last_shown else _EPOCH,
            h.title,
            h.document_id,
        ),
    )
    return ranked[: max(n, 0)]


# ---------------------------------------------------------------------- trends


def trends(logged: Sequence[LoggedQuestion], feedback: Sequence[Feedback]) -> list[DayTrend]:
    """One row per UTC day from the first to the last day with any activity, quiet days
    included as zeros so a chart's x axis is continuous."""
    days = [q.day for q in logged] + [_day(f.at) for f in feedback]
    if not days:
        return []
    questions = Counter(q.day for q in logged)
    refused = Counter(q.day for q in logged if q.status == AnswerStatus.NOT_COVERED.value)
    low = Counter(
        q.day for q in logged if q.low_confidence and q.status == AnswerStatus.ANSWERED.value
    )
    helpful = Counter(_day(f.at) for f in feedback if f.helpful)
    not_helpful = Counter(_day(f.at) for f in feedback if not f.helpful)

    out = []
    day, last = min(days), max(days)
    while day <= last:
        rated = helpful[day] + not_helpful[day]
        out.append(
            DayTrend(
                day=day,
                questions=questions[day],
                refused=refused[day],
                refusal_rate=refused[day] / questions[day] if questions[day] else None,
                low_confidence=low[day],
                helpful=helpful[day],
                not_helpful=not_helpful[day],
                helpful_rate=helpful[day] / rated if rated else None,
            )
        )
        day += dt.timedelta(days=1)
    return out
