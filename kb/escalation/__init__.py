"""Escalation rules the bank owns: spot, from the customer's own words and the shape of the
conversation, when a human or a specialist must step in.

- rules.py   the Rule / RuleSet records, JSON (de)serialisation and validation
- match.py   phrases, patterns and meaning, with exclusions, negation and hedges
- signals.py conversation signals (the same question again, the bot failing)
- detect.py  CallTurn -> Alert, the detector and the chatbot hand-off decision
- store.py   the versioned, audited rule store (SQLite)
"""

from kb.escalation.detect import (
    Alert,
    CallTurn,
    EscalationDetector,
    HandoffDecision,
    handoff_decision,
)
from kb.escalation.rules import (
    DEFAULT_RULES_PATH,
    SEVERITIES,
    SIGNALS,
    EscalationRuleError,
    Rule,
    RuleSet,
    Signal,
    load_rule_set,
    rule_from_dict,
    rule_to_dict,
)
from kb.escalation.store import RuleStore, RuleVersion

__all__ = [
    "DEFAULT_RULES_PATH",
    "SEVERITIES",
    "SIGNALS",
    "Alert",
    "CallTurn",
    "EscalationDetector",
    "EscalationRuleError",
    "HandoffDecision",
    "Rule",
    "RuleSet",
    "RuleStore",
    "RuleVersion",
    "Signal",
    "handoff_decision",
    "load_rule_set",
    "rule_from_dict",
    "rule_to_dict",
]
