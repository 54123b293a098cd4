"""From a call (or a chatbot log) to alerts: which escalation rules fire, where, and how.

Only customer turns are read for phrases, patterns and meaning; conversation signals look at
every turn. One alert per rule, at the first turn that fired it, most severe first.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from kb.escalation.match import CompiledRule, MeaningIndex, normalise
from kb.escalation.rules import SEVERITY_RANK, RuleSet, severity_at_least
from kb.escalation.signals import bot_failures, repeated_question

logger = logging.getLogger(__name__)

SPEAKERS = ("customer", "agent", "bot")
HUMAN_REQUEST = "human_request"
BOT_FAILURE = "bot_failure"


@dataclass(frozen=True)
class CallTurn:
    speaker: str  # "customer" | "agent" | "bot"
    text: str
    at: dt.datetime | None = None


@dataclass(frozen=True)
class Alert:
    rule_id: str
    category: str
    severity: str  # "low" | "medium" | "high" | "critical"
    action: str
    procedure: str | None
    turn_index: int
    matched: str  # the words of the call that matched
    how: str  # "phrase" | "pattern" | "meaning" | "signal"
    rule_version: int


@dataclass(frozen=True)
class HandoffDecision:
    must_hand_over: bool
    reasons: tuple[Alert, ...]
    from_turn: int | None


def _speaker(turn: CallTurn) -> str:
    return (turn.speaker or "").strip().lower()


class EscalationDetector:
    """Rules compiled once; `detect` is pure over its turns (and thread-safe).

    With an embedder, rules with example utterances also fire by meaning; without one (None),
    only phrases, patterns and signals are used, so it works where the model is not loaded."""

    def __init__(self, rules: RuleSet, embedder=None) -> None:  # type: ignore[no-untyped-def]
        self.rules = rules
        self.embedder = embedder
        self._compiled = [CompiledRule.of(rule) for rule in rules.enabled]
        self._meaning: MeaningIndex | None = None
        self._meaning_lock = threading.Lock()

    @property
    def version(self) -> int:
        return self.rules.version

    def _meaning_index(self) -> MeaningIndex | None:
        if self.embedder is None:
            return None
        if self._meaning is None:
            with self._meaning_lock:
                if self._meaning is None:
                    self._meaning = MeaningIndex(
                        self.rules.enabled,
                        self.embedder,
                        self.rules.meaning_threshold,
                        self.rules.meaning_margin,
                        self.rules.ordinary,
                    )
        return self._meaning

    def detect(
        self, turns: Sequence[CallTurn], meaning_threshold: float | None = None
    ) -> list[Alert]:
        """Alerts for `turns`: one per rule (its first firing turn), most severe first, then
        earliest. `meaning_threshold` overrides the rule set's (calibration uses it)."""
        pairs = [(_speaker(turn), turn.text or "") for turn in turns]
        found: dict[str, Alert] = {}

        def add(compiled: CompiledRule, index: int, matched: str, how: str) -> None:
            rule = compiled.rule
            current = found.get(rule.id)
            if current is not None and current.turn_index <= index:
                return
            found[rule.id] = Alert(
                rule_id=rule.id, category=rule.category, severity=rule.severity,
                action=rule.action, procedure=rule.procedure, turn_index=index,
                matched=matched, how=how, rule_version=rule.version,
            )  # fmt: skip

        lexical = [c for c in self._compiled if c.rule.signal is None]
        meaning = self._meaning_index()
        for index, (speaker, text) in enumerate(pairs):
            if speaker != "customer" or not text.strip():
                continue
            normal = normalise(text)
            negated: set[str] = set()
            for compiled in lexical:
                if compiled.rule.id in found:
                    continue
                hits, dropped = compiled.examine(normal)
                if hits:
                    add(compiled, index, hits[0].matched, hits[0].how)
                elif dropped:
                    negated.add(compiled.rule.category)
            if meaning is not None:
                by_meaning = meaning.hits(text, meaning_threshold)
                for compiled in lexical:
                    rule_id = compiled.rule.id
                    hit = by_meaning.get(rule_id)
                    if hit is None or rule_id in found or compiled.rule.category in negated:
                        continue
                    add(compiled, index, hit.matched, "meaning")
        for compiled in self._compiled:
            signal = compiled.rule.signal
            if signal is None:
                continue
            if signal.kind == "repeated_question":
                same = meaning.same_question if meaning is not None else None
                hit = repeated_question(pairs, signal.count, same_meaning=same)
            else:
                hit = bot_failures(pairs, compiled, signal.count, _by_meaning(meaning, compiled))
            if hit is not None:
                add(compiled, hit.turn_index, hit.matched, "signal")
        return sorted(
            found.values(),
            key=lambda a: (-SEVERITY_RANK[a.severity], a.turn_index, a.rule_id),
        )


def _by_meaning(meaning: MeaningIndex | None, compiled: CompiledRule):  # type: ignore[no-untyped-def]
    """A bot turn -> the sentence that matched the rule's examples by meaning, or None."""
    if meaning is None or not compiled.rule.examples:
        return None

    def matched(text: str) -> str | None:
        hit = meaning.hits(text).get(compiled.rule.id)
        return hit.matched if hit is not None else None

    return matched


def handoff_decision(detector: EscalationDetector, turns: Sequence[CallTurn]) -> HandoffDecision:
    """For a chatbot conversation: hand it to an agent when any alert is medium or worse, the
    customer asked for a human, or the bot failed (its bot_failure rule fired).

    `from_turn` is the earliest turn of the reasons: where the agent should start reading."""
    alerts = detector.detect(turns)
    reasons = tuple(
        alert
        for alert in alerts
        if severity_at_least(alert.severity, "medium")
        or alert.category in (HUMAN_REQUEST, BOT_FAILURE)
    )
    if not reasons:
        return HandoffDecision(False, (), None)
    return HandoffDecision(True, reasons, min(alert.turn_index for alert in reasons))
