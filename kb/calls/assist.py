"""What to suggest during a call, and how to keep the agent's screen steady. Pure.

The call is the question: the latest thing the customer said is searched with the rest of
the call as its history (kb.conversation plans the search), so "can I still get cash?"
after "my card was stolen in Spain" finds the emergency-cash section of the lost-card
procedure. The answer's steps and passages become suggestions, one per document, each with
the words of the call that occur in it ("why").

A suggestion replaces one already on screen only when it is clearly stronger (hysteresis):
every new turn re-runs the search, and a screen that reshuffled on each "okay" would be
unreadable mid-call. What the agent used stays pinned; what they dismissed never returns in
that call.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from kb.calls.records import (
    AssistSnapshot,
    CallAlert,
    CallFeedback,
    CallRecord,
    CallSummary,
    CallTurnRecord,
    Speaker,
    Suggestion,
    Verdict,
)
from kb.lexical import tokenize
from kb.phrasing import search_text
from kb.pii import mask
from kb.types import EVERYONE, Answer, AnswerStatus, Citation, Passage, Query, Step, Turn

MAX_SUGGESTIONS = 3
HYSTERESIS_MARGIN = 0.25
"""A newcomer must be 25% stronger than what it would replace (or move above)."""
MIN_GAIN = 0.02
"""...and at least this much stronger in absolute terms, so tiny strengths do not churn."""
ABSENT_DECAY = 0.8
"""A suggestion the latest search no longer finds loses this share of its strength per turn,
so it gives way to a clearly better one after a few turns, not at once."""
RANK_DISCOUNT = 0.25
"""The answer's second document counts 1/1.25 of its first, the third 1/1.5: fused scores
sit close together, so the answer's own order carries most of the difference."""
FREE_SLOT_SHARE = 0.5
"""A newcomer takes an empty slot only if at least half as strong as the strongest shown:
an empty slot is better than a suggestion the call hardly supports."""
WHY_WORDS = 10

_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]|[A-Za-z]")
_CJK = re.compile(r"[\u3400-\u9fff]")

Tokenizer = Callable[[str], list[str]]
Equivalents = Callable[[str], dict[str, set[str]]]


# ---------------------------------------------------------------------- the question


def _role(speaker: Speaker) -> str:
    return "user" if speaker == Speaker.CUSTOMER else "assistant"


def call_query(
    turns: Sequence[CallTurnRecord], groups: Sequence[str] = (EVERYONE,), k: int = 8
) -> Query | None:
    """The question to ask for the call so far: the customer's latest turn that has at least
    two words to search with (or else their latest turn), the rest of the call as history.
    None before the customer has said anything."""
    said = [t for t in turns if t.speaker == Speaker.CUSTOMER and t.text.strip()]
    if not said:
        return None
    substantive = [t for t in said if len(set(tokenize(search_text(t.text)))) >= 2]
    chosen = (substantive or said)[-1]
    history = tuple(Turn(_role(t.speaker), t.text) for t in turns if t.index != chosen.index)
    return Query(text=chosen.text, history=history, groups=tuple(groups), k=k)


# ---------------------------------------------------------------------- why


def matched_words(
    turns: Sequence[CallTurnRecord],
    text: str,
    tokenizer: Tokenizer = tokenize,
    equivalents: Equivalents | None = None,
) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The customer's words in the call that occur in `text` (compared as search tokens:
    stems, Simplified Chinese), as said, once each, and the turns they were said in. With
    `equivalents` (the glossary's), a word also counts when a translation or synonym of it
    occurs, so a Chinese call explains an English procedure."""
    wanted = set(tokenizer(text))
    words: dict[str, str] = {}  # token -> word as said
    where: set[int] = set()
    for turn in turns:
        if turn.speaker != Speaker.CUSTOMER:
            continue  # the agent's own words ("thank you for calling") explain nothing
        said = search_text(turn.text)
        same = equivalents(said) if equivalents else {}

        def found_in_text(token: str) -> bool:
            return token in wanted or not wanted.isdisjoint(same.get(token, ()))  # noqa: B023

        for match in _LATIN_WORD.finditer(said):
            found = tokenizer(match.group())
            if len(found) == 1 and found_in_text(found[0]):
                words.setdefault(found[0], match.group().lower())
                where.add(turn.index)
        if _CJK.search(said):
            for token in tokenizer(said):
                if _CJK.search(token) and len(token) >= 2 and found_in_text(token):
                    words.setdefault(token, token)
                    where.add(turn.index)
    chosen = list(words.values())
    # jieba's search mode gives 信用 and 信用卡: keep the longer word only
    chosen = [w for w in chosen if not any(w != other and w in other for other in chosen)]
    return tuple(chosen[:WHY_WORDS]), tuple(sorted(where))


# ---------------------------------------------------------------------- suggestions


def _unique_citations(citations: Iterable[Citation]) -> tuple[Citation, ...]:
    return tuple({c.chunk_id: c for c in citations}.values())


def suggestions_from_answer(
    answer: Answer,
    turns: Sequence[CallTurnRecord],
    limit: int = MAX_SUGGESTIONS,
    tokenizer: Tokenizer = tokenize,
    equivalents: Equivalents | None = None,
) -> tuple[Suggestion, ...]:
    """One suggestion per document, best first: the answer's procedure (its steps) and the
    articles its passages come from; for a question the base does not cover, the closest
    articles without steps. Beyond the first, a document must contain some of the
    customer's words to be suggested."""
    turn_count = len(turns)
    steps_by_doc: dict[str, list[Step]] = {}
    for step in answer.steps:
        steps_by_doc.setdefault(step.citation.document_id, []).append(step)
    passages_by_doc: dict[str, list[Passage]] = {}
    for passage in answer.passages:
        passages_by_doc.setdefault(passage.citation.document_id, []).append(passage)

    drafts: list[tuple[str, str, str, list[Step], list[Passage], list[Citation], float]] = []
    if answer.status == AnswerStatus.ANSWERED:
        top = max((p.score for p in answer.passages), default=0.0) or 1.0
        order = list(dict.fromkeys([*steps_by_doc, *passages_by_doc]))
        for rank, document_id in enumerate(order):
            steps = steps_by_doc.get(document_id, [])
            passages = passages_by_doc.get(document_id, [])
            best = max((p.score for p in passages), default=top if steps else 0.0)
            title = (steps[0].citation if steps else passages[0].citation).title
            kind = "procedure" if steps else "article"
            citations = [s.citation for s in steps] + [p.citation for p in passages]
            strength = answer.confidence * (best / top) / (1 + RANK_DISCOUNT * rank)
            drafts.append((document_id, kind, title, steps, passages, citations, strength))
    else:
        for rank, citation in enumerate(answer.related):
            strength = answer.confidence * max(0.1, 1 - 0.1 * rank)
            drafts.append(
                (citation.document_id, "article", citation.title, [], [], [citation], strength)
            )

    suggestions = []
    for document_id, kind, title, steps, passages, citations, strength in drafts[:limit]:
        text = " ".join([title, *(s.text for s in steps), *(p.text.text for p in passages)])
        why, why_turns = matched_words(turns, text, tokenizer, equivalents)
        if suggestions and not why:
            continue  # nothing the customer said is in it: the agent could not see why
        suggestions.append(
            Suggestion(
                id=document_id,
                kind=kind,
                document_id=document_id,
                title=title,
                steps=tuple(steps),
                passages=tuple(passages),
                citations=_unique_citations(citations),
                why=why,
                why_turns=why_turns,
                strength=round(strength, 4),
                since_turn=turn_count,
            )
        )
    return tuple(suggestions)


def stabilise(
    previous: Sequence[Suggestion],
    candidates: Sequence[Suggestion],
    dismissed: Iterable[str] = (),
    slots: int = MAX_SUGGESTIONS,
    margin: float = HYSTERESIS_MARGIN,
) -> tuple[Suggestion, ...]:
    """The suggestions to show now, given those shown before and the latest search's.

    A suggestion still found is refreshed in place (content, why, strength); one no longer
    found stays, its strength decaying, unless pinned (then it stays as it was). A newcomer
    takes a free slot if at least FREE_SLOT_SHARE as strong as the strongest shown, or the
    weakest unpinned one's if it is clearly stronger (by `margin` and MIN_GAIN). Positions change the same way: one suggestion moves above another only
    when clearly stronger, and never above a pinned one. Dismissed suggestions are gone."""
    gone = set(dismissed)
    fresh = {c.id: c for c in candidates if c.id not in gone}

    def clearly(stronger: Suggestion, than: Suggestion) -> bool:
        return stronger.strength > than.strength * (1 + margin) + MIN_GAIN

    kept: list[Suggestion] = []
    standing: list[Suggestion] = []  # what a newcomer must beat this turn (before decay)
    for old in previous:
        if old.id in gone:
            continue
        new = fresh.pop(old.id, None)
        if new is not None:
            kept.append(replace(new, since_turn=old.since_turn, pinned=old.pinned))
            standing.append(kept[-1])
        else:
            decayed = old.strength if old.pinned else round(old.strength * ABSENT_DECAY, 4)
            kept.append(replace(old, strength=decayed))
            standing.append(old)
    for newcomer in sorted(fresh.values(), key=lambda s: -s.strength):
        strongest = max((s.strength for s in standing), default=0.0)
        if len(kept) < slots:
            if newcomer.strength < FREE_SLOT_SHARE * strongest:
                continue
            kept.append(newcomer)
            standing.append(newcomer)
            continue
        replaceable = [i for i, s in enumerate(kept) if not s.pinned]
        if not replaceable:
            break
        weakest = min(replaceable, key=lambda i: standing[i].strength)
        if clearly(newcomer, standing[weakest]):
            kept[weakest] = standing[weakest] = newcomer
    moved = True
    while moved:
        moved = False
        for i in range(1, len(kept)):
            above, below = kept[i - 1], kept[i]
            if not above.pinned and clearly(below, above):
                kept[i - 1], kept[i] = below, above
                moved = True
    return tuple(kept[:slots])


def apply_feedback(
    suggestions: Sequence[Suggestion], suggestion_id: str, verdict: Verdict
) -> tuple[Suggestion, ...]:
    """Used: pinned for the rest of the call. Dismissed: removed."""
    if verdict == Verdict.DISMISSED:
        return tuple(s for s in suggestions if s.id != suggestion_id)
    return tuple(replace(s, pinned=True) if s.id == suggestion_id else s for s in suggestions)


def same_screen(a: AssistSnapshot | None, b: AssistSnapshot) -> bool:
    """Whether two snapshots show the agent the same thing (ignoring version and strengths)."""
    if a is None:
        return False

    def shown(s: AssistSnapshot) -> tuple:
        return (
            s.status,
            tuple((x.id, x.pinned, x.why, x.steps, x.citations) for x in s.suggestions),
            s.alerts,
            s.notices,
        )

    return shown(a) == shown(b)


# ---------------------------------------------------------------------- alerts and summary


def call_alerts(alerts: Iterable[object], turns: Sequence[CallTurnRecord]) -> tuple[CallAlert, ...]:
    """kb.escalation's alerts with the turn that triggered each, once per rule and turn."""
    by_index = {t.index: t for t in turns}
    found: dict[tuple[str, int], CallAlert] = {}
    for alert in alerts:
        index = int(alert.turn_index)  # type: ignore[attr-defined]
        turn = by_index.get(index)
        key = (str(alert.rule_id), index)  # type: ignore[attr-defined]
        found.setdefault(
            key,
            CallAlert(
                rule_id=str(alert.rule_id),  # type: ignore[attr-defined]
                category=str(alert.category),  # type: ignore[attr-defined]
                severity=str(alert.severity),  # type: ignore[attr-defined]
                action=str(alert.action),  # type: ignore[attr-defined]
                procedure=alert.procedure,  # type: ignore[attr-defined]
                turn_index=index,
                turn_speaker=turn.speaker.value if turn else "",
                turn_text=mask(turn.text).text if turn else "",
                matched=mask(str(alert.matched)).text,  # type: ignore[attr-defined]
                how=str(alert.how),  # type: ignore[attr-defined]
                rule_version=int(alert.rule_version),  # type: ignore[attr-defined]
            ),
        )
    return tuple(found.values())


def summarise(
    call: CallRecord,
    turns: Sequence[CallTurnRecord],
    shown: Sequence[tuple[str, str]],
    feedback: Sequence[CallFeedback],
    alerts: Sequence[CallAlert],
    ended_at: dt.datetime,
) -> CallSummary:
    """What is kept of an ended call, masked whatever the caller passed in. `shown` holds
    (document id, title) of every suggestion shown, in order of first showing."""
    opening = next((t.text for t in turns if t.speaker == Speaker.CUSTOMER), "")
    used = [f.document_id for f in feedback if f.verdict == Verdict.USED]
    dismissed = [f.document_id for f in feedback if f.verdict == Verdict.DISMISSED]
    return CallSummary(
        call_id=call.call_id,
        opened_at=call.opened_at,
        ended_at=ended_at,
        turns=len(turns),
        opening=mask(opening).text[:200],
        topics=tuple(dict.fromkeys(mask(title).text for _, title in shown)),
        documents_suggested=tuple(dict.fromkeys(d for d, _ in shown)),
        documents_used=tuple(dict.fromkeys(used)),
        documents_dismissed=tuple(dict.fromkeys(dismissed)),
        alerts=tuple(
            replace(a, turn_text=mask(a.turn_text).text, matched=mask(a.matched).text)
            for a in alerts
        ),
    )
