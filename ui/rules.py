"""The knowledge team's Escalation rules page: the current rules, a form that saves a new
version (or a new rule), disable, each rule's history, and a "try it" box that runs the
detector over a sentence or a short transcript and says which rules fire and why."""

from __future__ import annotations

import re

import streamlit as st

from kb.errors import KBError
from kb.escalation import SEVERITIES, SIGNALS, CallTurn, Rule, rule_from_dict
from ui.i18n import t
from ui.shared import choose, done, get_services, reader_of, require, show_done

NEW = "(new rule)"
NONE = "(none)"
_CJK = re.compile(r"[\u3400-\u9fff]")
_TURN = re.compile(r"^\s*(customer|agent|bot|客户|坐席|机器人)\s*[:：]\s*(.*)$", re.IGNORECASE)
_SPEAKERS = {"客户": "customer", "坐席": "agent", "机器人": "bot"}

user = require("rules")
services = get_services()
store = services.escalation_rules()
st.title(t("Escalation rules"))
show_done()
rules = store.current()
documents = {d.document_id: d.title for d in services.documents(reader=reader_of(user))}


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def turns_of(text: str) -> list[CallTurn]:
    """One turn a line, 'customer: ...' / 'agent: ...' / 'bot: ...'; a line without a speaker
    is the customer's."""
    turns = []
    for line in lines(text):
        found = _TURN.match(line)
        if found:
            speaker = found.group(1).lower()
            turns.append(CallTurn(_SPEAKERS.get(speaker, speaker), found.group(2)))
        else:
            turns.append(CallTurn("customer", line))
    return turns


# ---------------------------------------------------------------------- the current rules

st.dataframe(
    (
        [
            {
                t("Id"): rule.id,
                t("Category"): t(rule.category),
                t("Severity"): t(rule.severity),
                t("Version"): rule.version,
                t("Enabled"): rule.enabled,
                t("Procedure"): rule.procedure or "",
            }
            for rule in rules.rules
        ]
    ),
    hide_index=True,
    width="stretch",
)

edit, history, trial = st.tabs([t("Edit or add a rule"), t("Version history"), t("Try it")])

# ---------------------------------------------------------------------- edit / new

with edit:
    chosen = choose(t("Rule"), [NEW, *(r.id for r in rules.rules)], where=st)
    rule: Rule | None = None if chosen == NEW else rules.rule(chosen)
    if rule is not None and not rule.enabled:
        st.info(t("This rule is disabled; saving it enables it again."))
    phrases = rule.phrases if rule else ()
    procedures = [NONE, *documents]
    if rule and rule.procedure and rule.procedure not in documents:
        procedures.append(rule.procedure)
    procedure_labels = {
        (
            t("(none)")
            if d == NONE
            else f"{documents.get(d, t('not in the knowledge base'))} ({d})"
        ): d
        for d in procedures
    }
    current_procedure = rule.procedure if rule and rule.procedure else NONE
    signal = rule.signal.kind if rule and rule.signal else NONE

    with st.form(f"rule-{chosen}"):
        left, middle, right = st.columns(3)
        rule_id = left.text_input(
            t("Rule id"), value=rule.id if rule else "", disabled=rule is not None,
            placeholder="complaint.manager",
        )  # fmt: skip
        category = middle.text_input(
            t("Category"), value=rule.category if rule else "", placeholder="complaint"
        )
        severity = right.selectbox(
            t("Severity"), list(SEVERITIES), index=SEVERITIES.index(rule.severity) if rule else 1
        )
        action = st.text_area(
            t("Action for the agent"), value=rule.action if rule else "", height=80
        )
        procedure = st.selectbox(
            t("Procedure (a document of the knowledge base)"),
            list(procedure_labels),
            index=procedures.index(current_procedure),
        )
        left, right = st.columns(2)
        english = left.text_area(
            t("Phrases in English (one a line)"),
            value="\n".join(p for p in phrases if not _CJK.search(p)),
        )
        chinese = right.text_area(
            t("Phrases in Chinese (one a line)"),
            value="\n".join(p for p in phrases if _CJK.search(p)),
        )
        patterns = left.text_area(
            t("Patterns (regular expressions, one a line)"),
            value="\n".join(rule.patterns) if rule else "",
        )
        exclusions = right.text_area(
            t("Exclusions: phrases or patterns that cancel a match (one a line)"),
            value="\n".join(rule.exclusions) if rule else "",
        )
        examples = left.text_area(
            t("Example utterances, matched by meaning (one a line)"),
            value="\n".join(rule.examples) if rule else "",
        )
        counter = right.text_area(
            t("Negative examples: look alike but must not fire (one a line)"),
            value="\n".join(rule.counter_examples) if rule else "",
        )
        left, middle, right = st.columns(3)
        signal_kind = left.selectbox(
            t("Conversation signal"),
            [t("(none)"), *SIGNALS],
            index=0 if signal == NONE else 1 + SIGNALS.index(signal),
        )
        signal_count = middle.number_input(
            t("Signal count"), min_value=1, max_value=20,
            value=rule.signal.count if rule and rule.signal else 2,
        )  # fmt: skip
        negation = right.checkbox(
            t('Ignore negated matches ("I don\'t want to complain")'),
            value=rule.negation if rule else True,
        )
        description = st.text_input(t("Description"), value=rule.description if rule else "")
        saved = st.form_submit_button(t("Save as a new version"))

    if saved:
        data = {
            "id": (rule.id if rule else rule_id).strip(),
            "category": category.strip(),
            "severity": severity,
            "action": action.strip(),
            "phrases": lines(english) + lines(chinese),
            "patterns": lines(patterns),
            "examples": lines(examples),
            "counter_examples": lines(counter),
            "exclusions": lines(exclusions),
            "negation": negation,
            "description": description.strip(),
        }
        picked = procedure_labels[procedure]
        if picked != NONE:
            data["procedure"] = picked
            data["procedure_title"] = documents.get(picked) or (
                rule.procedure_title if rule else None
            )
        if signal_kind in SIGNALS:
            data["signal"] = {"kind": signal_kind, "count": int(signal_count)}
        if rule is not None and rule.threshold is not None:
            data["threshold"] = rule.threshold
        try:
            if rule is None and data["id"] in {r.id for r in rules.rules}:
                raise KBError(
                    t("A rule with the id {id} exists: pick it to change it.", id=data["id"])
                )
            version = store.save(rule_from_dict(data), user.name)
        except KBError as e:
            st.error(t("Not saved: {reason}", reason=str(e)))
        else:
            done(t("Saved {id} as version {version}.", id=data["id"], version=version))

    if rule is not None and rule.enabled:
        st.divider()
        if st.button(t("Disable {id}", id=rule.id)):
            version = store.disable(rule.id, user.name)
            done(t("Disabled {id} (version {version}).", id=rule.id, version=version))

# ---------------------------------------------------------------------- history

with history:
    if chosen == NEW:
        st.caption(t("Pick a rule on the first tab to see its versions."))
    else:
        st.dataframe(
            (
                [
                    {
                        t("Version"): v.version,
                        t("Enabled"): v.enabled,
                        t("Severity"): t(v.rule.severity),
                        t("Author"): v.author,
                        t("At"): v.at,
                        t("Change"): v.note,
                    }
                    for v in reversed(store.history(chosen))
                ]
            ),
            hide_index=True,
            width="stretch",
        )

# ---------------------------------------------------------------------- try it

with trial:
    with st.form("try-it"):
        sample = st.text_area(
            t("A sentence, or a transcript: one turn a line, 'customer: ...' or 'agent: ...'"),
            height=120,
        )
        tried = st.form_submit_button(t("Run the rules"))
    if tried and sample.strip():
        turns = turns_of(sample)
        with st.spinner(t("Running the rules...")):
            alerts = services.escalation_detector().detect(turns)
        if not alerts:
            st.success(t("No rule fires."))
        for alert in alerts:
            (st.error if alert.severity in ("high", "critical") else st.warning)(
                t(
                    "**{rule}** ({category}, {severity}, version {version}) fires on turn "
                    "{turn}: “{matched}” by {how}. {action}",
                    rule=alert.rule_id,
                    category=t(alert.category),
                    severity=t(alert.severity),
                    version=alert.rule_version,
                    turn=alert.turn_index + 1,
                    matched=alert.matched,
                    how=t(alert.how),
                    action=alert.action,
                )
            )
