"""Escalation rules as records: what a rule is, how it is read from and written to JSON, and
the checks that refuse a rule nobody could act on.

A rule belongs to the knowledge team, not to the code: it names a category (complaint,
fraud_scam, ...), a severity, the action the agent must take and the procedure document that
says how, and one or more ways to fire:

- `phrases`: words in English or Chinese. Chinese phrases may be written in either script;
  they are compared in Simplified (kb.script), so 投訴 and 投诉 are the same phrase.
- `patterns`: regular expressions over the same normalised text (lower case, Simplified).
- `examples`: utterances matched by meaning with the packaged embedder; `counter_examples`
  are utterances that look alike but must not fire (the nearest of those must be further
  away than the nearest example).
- `signal`: a conversation signal (`repeated_question`, `bot_failure`) with a `count`.

`exclusions` are phrases or patterns that cancel a match they overlap ("scam-proof",
"phone died"), and `negation` (on by default) ignores a match preceded in its clause by a
negation or a hedge ("I don't want to complain", "没有人叫我转账").
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from kb.errors import KBError

SEVERITIES = ("low", "medium", "high", "critical")
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
SIGNALS = ("repeated_question", "bot_failure")
DEFAULT_RULES_PATH = Path(__file__).resolve().parent.parent / "data" / "escalation_rules.json"
FORMAT = 1

_RULE_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,62}$")
_CATEGORY = re.compile(r"^[a-z][a-z0-9_]{1,40}$")


class EscalationRuleError(KBError):
    """A rule (or rule file) that cannot be used; the message names the rule and the field."""


@dataclass(frozen=True)
class Signal:
    kind: str  # one of SIGNALS
    count: int = 2  # how many occurrences make the signal fire (bot failures, repeats + 1)


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    severity: str
    action: str
    procedure: str | None = None  # document id in the knowledge base, e.g. "fraud-scam-escalation"
    procedure_title: str | None = None
    description: str = ""
    phrases: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    counter_examples: tuple[str, ...] = ()
    exclusions: tuple[str, ...] = ()
    signal: Signal | None = None
    threshold: float | None = None  # meaning threshold for this rule; None: the rule set's
    negation: bool = True
    enabled: bool = True
    version: int = 1

    def __post_init__(self) -> None:
        validate_rule(self)

    @property
    def rank(self) -> int:
        return SEVERITY_RANK[self.severity]


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    version: int = 0  # the store's change counter: a new number after every change
    meaning_threshold: float = 0.9
    meaning_margin: float = 0.0
    calibration: str = ""  # how meaning_threshold was chosen
    # Everyday requests no rule should fire on: a sentence fires a rule by meaning only when
    # it is nearer that rule's examples than any of these (and the rule's counter-examples).
    ordinary: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise EscalationRuleError(f"rule id {rule.id!r} appears twice in the rule set")
            seen.add(rule.id)
        _check_threshold("rule set", "meaning_threshold", self.meaning_threshold)

    @property
    def enabled(self) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.enabled)

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise EscalationRuleError(
            f"no escalation rule {rule_id!r}; known: {', '.join(r.id for r in self.rules)}"
        )

    def categories(self) -> tuple[str, ...]:
        return tuple(sorted({rule.category for rule in self.rules}))


def _check_threshold(where: str, name: str, value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise EscalationRuleError(
            f"{where}: {name} must be a number in (0, 1]. Currently, {name} is {value!r}"
        )


def validate_rule(rule: Rule) -> None:
    """Raise EscalationRuleError with the rule id and the bad value; nothing is returned."""
    where = f"escalation rule {rule.id!r}"
    if not isinstance(rule.id, str) or not _RULE_ID.match(rule.id):
        raise EscalationRuleError(
            f"rule id must be 2-63 lower-case letters, digits, '_', '-' or '.'. "
            f"Currently, id is {rule.id!r}"
        )
    if not isinstance(rule.category, str) or not _CATEGORY.match(rule.category):
        raise EscalationRuleError(
            f"{where}: category must be a lower-case word like 'fraud_scam'. "
            f"Currently, category is {rule.category!r}"
        )
    if rule.severity not in SEVERITIES:
        raise EscalationRuleError(
            f"{where}: severity must be one of {', '.join(SEVERITIES)}. "
            f"Currently, severity is {rule.severity!r}"
        )
    if not isinstance(rule.action, str) or not rule.action.strip():
        raise EscalationRuleError(f"{where}: action is empty; say what the agent must do")
    for name in ("phrases", "patterns", "examples", "counter_examples", "exclusions"):
        values = getattr(rule, name)
        if not isinstance(values, tuple) or not all(isinstance(v, str) for v in values):
            raise EscalationRuleError(f"{where}: {name} must be a list of strings")
        blank = [v for v in values if not v.strip()]
        if blank:
            raise EscalationRuleError(f"{where}: {name} holds an empty entry")
    for pattern in (*rule.patterns, *rule.exclusions):
        try:
            re.compile(pattern)
        except re.error as e:
            raise EscalationRuleError(f"{where}: pattern {pattern!r} is not valid: {e}") from e
    if rule.signal is not None:
        if rule.signal.kind not in SIGNALS:
            raise EscalationRuleError(
                f"{where}: signal must be one of {', '.join(SIGNALS)}. "
                f"Currently, signal is {rule.signal.kind!r}"
            )
        if isinstance(rule.signal.count, bool) or not isinstance(rule.signal.count, int):
            raise EscalationRuleError(f"{where}: signal count must be a whole number")
        if rule.signal.count < 1:
            raise EscalationRuleError(
                f"{where}: signal count must be at least 1. Currently, count is {rule.signal.count}"
            )
        if rule.signal.kind == "bot_failure" and not (rule.phrases or rule.patterns):
            raise EscalationRuleError(
                f"{where}: a bot_failure signal needs phrases or patterns that recognise "
                "the bot's failure turns (\"I didn't understand\")"
            )
    elif not (rule.phrases or rule.patterns or rule.examples):
        raise EscalationRuleError(
            f"{where}: nothing can fire it; give phrases, patterns, examples or a signal"
        )
    if rule.counter_examples and not rule.examples:
        raise EscalationRuleError(f"{where}: counter_examples without examples")
    _check_threshold(where, "threshold", rule.threshold)
    if isinstance(rule.version, bool) or not isinstance(rule.version, int) or rule.version < 1:
        raise EscalationRuleError(
            f"{where}: version must be 1 or more. Currently, {rule.version!r}"
        )
    if rule.procedure is not None and (not isinstance(rule.procedure, str) or not rule.procedure):
        raise EscalationRuleError(f"{where}: procedure must be a document id or null")


_FIELDS = {f for f in Rule.__dataclass_fields__}
_LIST_FIELDS = ("phrases", "patterns", "examples", "counter_examples", "exclusions")


def rule_from_dict(data: Mapping[str, Any]) -> Rule:
    """A Rule from its JSON form; unknown or missing fields are named in the error."""
    if not isinstance(data, Mapping):
        raise EscalationRuleError(f"a rule must be a JSON object. Currently, it is {data!r}")
    label = data.get("id", "?")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise EscalationRuleError(
            f"escalation rule {label!r}: unknown field(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(_FIELDS))}"
        )
    missing = [name for name in ("id", "category", "severity", "action") if name not in data]
    if missing:
        raise EscalationRuleError(
            f"escalation rule {label!r}: missing field(s) {', '.join(missing)}"
        )
    values: dict[str, Any] = dict(data)
    for name in _LIST_FIELDS:
        raw = values.get(name, ())
        if isinstance(raw, str) or not isinstance(raw, list | tuple):
            raise EscalationRuleError(
                f"escalation rule {label!r}: {name} must be a list of strings. "
                f"Currently, {name} is {raw!r}"
            )
        values[name] = tuple(raw)
    signal = values.get("signal")
    if signal is not None:
        if isinstance(signal, str):
            signal = {"kind": signal}
        if not isinstance(signal, Mapping) or set(signal) - {"kind", "count"}:
            raise EscalationRuleError(
                f"escalation rule {label!r}: signal must be {{'kind': ..., 'count': ...}}. "
                f"Currently, signal is {signal!r}"
            )
        values["signal"] = Signal(str(signal.get("kind")), signal.get("count", 2))
    return Rule(**values)


def rule_to_dict(rule: Rule) -> dict[str, Any]:
    """The JSON form: only fields that differ from their default, lists as lists."""
    data = asdict(rule)
    defaults = Rule(id="x" * 2, category="xx", severity="low", action="x", phrases=("x",))
    out: dict[str, Any] = {}
    for name, value in data.items():
        if name in ("id", "category", "severity", "action"):
            out[name] = value
        elif name == "signal":
            if value is not None:
                out[name] = {"kind": value["kind"], "count": value["count"]}
        elif name in _LIST_FIELDS:
            if value:
                out[name] = list(value)
        elif value != getattr(defaults, name):
            out[name] = value
    return out


def rule_set_from_dict(data: Mapping[str, Any], version: int = 0) -> RuleSet:
    if not isinstance(data, Mapping) or not isinstance(data.get("rules"), list):
        raise EscalationRuleError("a rule file must be a JSON object with a 'rules' list")
    if data.get("format", FORMAT) != FORMAT:
        raise EscalationRuleError(
            f"rule file format {data.get('format')!r} is not supported; expected {FORMAT}"
        )
    rules = tuple(rule_from_dict(item) for item in data["rules"])
    known = {"format", "rules", "meaning_threshold", "meaning_margin", "calibration"}
    known.add("ordinary_utterances")
    ordinary = data.get("ordinary_utterances", [])
    if not isinstance(ordinary, list) or not all(
        isinstance(u, str) and u.strip() for u in ordinary
    ):
        raise EscalationRuleError("ordinary_utterances must be a list of non-empty strings")
    return RuleSet(
        rules=rules,
        version=version,
        meaning_threshold=float(data.get("meaning_threshold", 0.9)),
        meaning_margin=float(data.get("meaning_margin", 0.0)),
        calibration=str(data.get("calibration", "")),
        ordinary=tuple(ordinary),
        extra={k: v for k, v in data.items() if k not in known},
    )


def rule_set_to_dict(rule_set: RuleSet) -> dict[str, Any]:
    return {
        "format": FORMAT,
        **dict(rule_set.extra),
        "meaning_threshold": rule_set.meaning_threshold,
        "meaning_margin": rule_set.meaning_margin,
        "calibration": rule_set.calibration,
        "ordinary_utterances": list(rule_set.ordinary),
        "rules": [rule_to_dict(rule) for rule in rule_set.rules],
    }


def load_rule_set(path: Path | None = None) -> RuleSet:
    """The rule file at `path` (default: the packaged default rules)."""
    path = path or DEFAULT_RULES_PATH
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise EscalationRuleError(f"no escalation rule file at {path}") from e
    except json.JSONDecodeError as e:
        raise EscalationRuleError(f"{path} is not valid JSON: {e}") from e
    return rule_set_from_dict(data)


def with_rules(rule_set: RuleSet, rules: Iterable[Rule], version: int | None = None) -> RuleSet:
    return replace(
        rule_set, rules=tuple(rules), version=rule_set.version if version is None else version
    )


def severity_at_least(severity: str, floor: str) -> bool:
    return SEVERITY_RANK[severity] >= SEVERITY_RANK[floor]


def sorted_by_severity(items: Sequence[Any], key_severity: str = "severity") -> list[Any]:
    return sorted(items, key=lambda item: -SEVERITY_RANK[getattr(item, key_severity)])
