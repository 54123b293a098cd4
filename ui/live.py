"""The agent's Live call page: the call's transcript as it arrives (from the contact centre's
systems through the API, or typed here), suggestions that stay put, escalation alerts on top,
and the masked summary when the call ends.

The page polls the call's assist snapshot in a fragment every POLL_SECONDS while a call is
open; suggestions are drawn in containers keyed by their id, so a poll that changes nothing
redraws nothing.
"""

from __future__ import annotations

import re
import threading

import streamlit as st

from kb.calls import (
    AssistSnapshot,
    Caller,
    CallRecord,
    CallStatus,
    CallSummary,
    NewTurn,
    Speaker,
    Suggestion,
    Verdict,
)
from kb.errors import KBError
from ui.i18n import say, t
from ui.shared import (
    as_text,
    get_services,
    keep_alive,
    reader_of,
    render_step,
    require,
    source_label,
)

POLL_SECONDS = 2.0
SEVERE = ("high", "critical")


@st.cache_resource(show_spinner=False)
def warmed_up(_sessions) -> threading.Thread:  # type: ignore[no-untyped-def]
    """Load the escalation rules' models once per server process, in the background, when the
    page is first opened: the first call's alerts then need not wait for them."""
    thread = threading.Thread(target=_sessions.warm_up, name="live-warm-up", daemon=True)
    thread.start()
    return thread


user = require("live")
services = get_services()
sessions = services.call_sessions()
warmed_up(sessions)
caller = Caller(user.name, None, user.access_groups)
state = st.session_state
state.setdefault("live_call", None)
state.setdefault("live_pinned", {})  # call id -> the suggestion id the agent pinned
titles = {d.document_id: d.title for d in services.documents(reader=reader_of(user))}


def key_of(text: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", text.lower())


def label_of(call: CallRecord) -> str:
    name = call.reference or call.call_id
    opened = call.opened_at.astimezone().strftime("%H:%M:%S")
    if call.account == user.name:
        return t("{name} · started {time}", name=name, time=opened)
    return t("{name} · {time}, from {account}", name=name, time=opened, account=call.account)


def ended(summary: CallSummary | None, call_id: str) -> None:
    state["live_summary"] = summary
    state["live_call"] = None
    state["live_pinned"].pop(call_id, None)


# ---------------------------------------------------------------------- actions (callbacks)


def act(do, *args) -> None:  # type: ignore[no-untyped-def]
    try:
        do(*args)
    except KBError as e:
        state["live_error"] = str(e)


def give_feedback(call_id: str, suggestion_id: str, verdict: Verdict) -> None:
    act(sessions.feedback, call_id, caller, suggestion_id, verdict)


def toggle_pin(call_id: str, suggestion_id: str) -> None:
    pinned = state["live_pinned"]
    pinned[call_id] = None if pinned.get(call_id) == suggestion_id else suggestion_id


# ---------------------------------------------------------------------- drawing


def category_name(category: str) -> str:
    return t(category).replace("_", " ")


def show_alerts(snapshot: AssistSnapshot) -> None:
    """Most severe first: red for high and critical, amber for medium and low."""
    with st.container(key="live-alerts"):
        for alert in snapshot.alerts:
            why = t(
                "Why: “{matched}” ({how}) in turn {turn}, {speaker}",
                matched=as_text(alert.matched),
                how=t(alert.how),
                turn=alert.turn_index + 1,
                speaker=t(alert.turn_speaker or "customer"),
            )
            if alert.turn_text and alert.matched.strip() != alert.turn_text.strip():
                why += t(": “{words}”", words=as_text(alert.turn_text))
            parts = [
                t(
                    "**Escalation: {category}** ({severity}): {action}",
                    category=category_name(alert.category),
                    severity=t(alert.severity),
                    action=as_text(alert.action),
                ),
                why,
            ]
            if alert.procedure and alert.procedure in titles:  # one the agent may read
                parts.append(
                    t(
                        "Procedure: {title} ({document})",
                        title=as_text(titles[alert.procedure]),
                        document=as_text(alert.procedure),
                    )
                )
            severe = alert.severity in SEVERE
            (st.error if severe else st.warning)(
                "  \n".join(parts),
                icon=":material/emergency_home:" if severe else ":material/warning:",
            )


def show_transcript(turns) -> None:  # type: ignore[no-untyped-def]
    st.subheader(t("Transcript"))
    with st.container(height=420, key="live-transcript"):
        if not turns:
            st.caption(t("Nothing said yet."))
        for turn in turns:
            avatar = {
                "customer": ":material/person:",
                "agent": ":material/headset_mic:",
                "bot": ":material/smart_toy:",
            }[turn.speaker.value]
            with st.chat_message(turn.speaker.value, avatar=avatar):
                st.markdown(f"**{t(turn.speaker.value)}** · {as_text(turn.text)}")


def show_suggestion(call_id: str, s: Suggestion, pinned: bool) -> None:
    with st.container(border=True, key=f"suggestion-{key_of(s.id)}"):
        marks = (":material/push_pin: " if pinned else "") + (
            ":material/check_circle: " if s.pinned else ""
        )
        st.markdown(f"{marks}**{as_text(s.title)}**")
        kind = t("procedure, {n} steps", n=len(s.steps)) if s.steps else t("article")
        why = ", ".join(s.why) or "-"
        turns = ", ".join(str(i + 1) for i in s.why_turns)
        st.caption(
            t("{kind} · why: {words}", kind=kind, words=why)
            + (t(" (turns {turns})", turns=turns) if turns else "")
        )
        with st.expander(t("Steps and sources"), key=f"steps-{key_of(s.id)}"):
            for step in s.steps:
                render_step(step)
            if not s.steps:
                for passage in s.passages[:2]:
                    st.markdown("> " + as_text(passage.text.text).replace("\n", "\n> "))
            for citation in s.citations:
                st.caption(source_label(citation))
        pin, used, dismiss = st.columns(3)
        pin.button(
            t("Unpin") if pinned else t("Pin"), key=f"pin-{key_of(s.id)}",
            on_click=toggle_pin, args=(call_id, s.id),
        )  # fmt: skip
        used.button(
            t("Used") if s.pinned else t("Mark used"), key=f"used-{key_of(s.id)}",
            disabled=s.pinned, on_click=give_feedback, args=(call_id, s.id, Verdict.USED),
        )  # fmt: skip
        dismiss.button(
            t("Dismiss"), key=f"dismiss-{key_of(s.id)}",
            on_click=give_feedback, args=(call_id, s.id, Verdict.DISMISSED),
        )  # fmt: skip


def show_suggestions(call_id: str, snapshot: AssistSnapshot) -> None:
    st.subheader(t("Suggestions"))
    if snapshot.status == "waiting":
        st.caption(t("Suggestions appear once the customer has said something."))
    elif not snapshot.suggestions:
        st.caption(t("Nothing in the knowledge base fits the call yet."))
    pinned = state["live_pinned"].get(call_id)
    order = sorted(snapshot.suggestions, key=lambda s: s.id != pinned)  # stable otherwise
    for suggestion in order:
        show_suggestion(call_id, suggestion, suggestion.id == pinned)
    for notice in snapshot.notices:
        st.caption(as_text(say(notice)))


def live_call(call_id: str) -> None:
    """The call as it is now: alerts, transcript, suggestions. Reruns every POLL_SECONDS."""
    if not keep_alive():
        st.rerun()  # the session ended elsewhere: the whole page, to the sign-in
    if message := state.pop("live_error", None):
        st.error(message)
    try:
        # The snapshot first: the transcript read after it is never behind its alerts.
        snapshot = sessions.assist(call_id, caller)
        view = sessions.view(call_id, caller)
        if view.call.status == CallStatus.ENDED:
            ended(view.summary, call_id)
            st.rerun()
    except KBError as e:
        st.error(str(e))
        return
    show_alerts(snapshot)
    transcript, suggestions = st.columns([3, 2])
    with transcript:
        show_transcript(view.turns)
    with suggestions:
        show_suggestions(call_id, snapshot)


def watch_for_calls(known: tuple[str, ...]) -> None:
    """With no call on screen: rerun the page when a call is opened for this agent."""
    if tuple(c.call_id for c in sessions.list_open(caller)) != known:
        st.rerun()


def show_summary(summary: CallSummary) -> None:
    with st.container(border=True, key="live-summary"):
        st.subheader(t("Call summary"))
        st.write(
            t(
                "{turns} turns, {start} to {end}.",
                turns=summary.turns,
                start=summary.opened_at.astimezone().strftime("%H:%M:%S"),
                end=summary.ended_at.astimezone().strftime("%H:%M:%S"),
            )
        )
        if summary.opening:
            st.caption(t("The customer's first words (masked)"))
            st.markdown(f"> {as_text(summary.opening)}")
        for label, values in (
            (t("Topics"), summary.topics),
            (t("Documents used"), summary.documents_used),
            (t("Documents dismissed"), summary.documents_dismissed),
        ):
            st.markdown(f"**{label}:** " + (as_text(", ".join(values)) or "-"))
        if summary.alerts:
            st.markdown(f"**{t('Escalation alerts')}:**")
            for alert in summary.alerts:
                st.markdown(
                    f"- {category_name(alert.category)} ({t(alert.severity)}), "
                    + t("turn {turn}", turn=alert.turn_index + 1)
                    + f": “{as_text(alert.matched)}”"
                    + (
                        f" · {as_text(titles[alert.procedure])}"
                        if alert.procedure in titles
                        else ""
                    )
                )
        if st.button(t("Close summary")):
            state.pop("live_summary", None)
            st.rerun()


# ---------------------------------------------------------------------- the page

st.title(t("Live call"))
open_calls = sessions.list_open(caller)
ids = [c.call_id for c in open_calls]
summary = state.get("live_summary")
if state["live_call"] not in ids:
    state["live_call"] = ids[0] if ids and summary is None else None

picker, start, finish = st.columns([4, 1, 1], vertical_alignment="bottom")
if open_calls:
    labels = {label_of(c): c.call_id for c in open_calls}
    current = ids.index(state["live_call"]) if state["live_call"] in ids else None
    chosen = picker.selectbox(t("Open calls"), list(labels), index=current)
    state["live_call"] = labels[chosen] if chosen else None
else:
    picker.caption(
        t("No open call. Start one, or a call opened for you by the phone system appears here.")
    )
if start.button(t("Start a call")):
    state["live_call"] = sessions.open(caller).call_id
    state.pop("live_summary", None)
    st.rerun()
call_id = state["live_call"]
if call_id and finish.button(t("End call"), type="primary"):
    try:
        ended(sessions.end(call_id, caller), call_id)
    except KBError as e:
        st.error(str(e))
    st.rerun()

if summary is not None:
    show_summary(summary)

if call_id is None:
    st.fragment(run_every=POLL_SECONDS)(watch_for_calls)(tuple(ids))
    st.stop()

live_area = st.container()
with st.form("live-turn", clear_on_submit=True):
    speakers = {t("customer"): Speaker.CUSTOMER, t("agent"): Speaker.AGENT}
    who, said = st.columns([1, 4])
    speaker = who.radio(t("Speaker"), list(speakers), horizontal=True)
    text = said.text_input(t("What was said"), placeholder=t("Type a turn of the call"))
    added = st.form_submit_button(t("Add to the call"), key="live-turn-add")
if added and text.strip():
    try:
        with st.spinner(t("Finding suggestions...")):
            sessions.add_turns(call_id, caller, [NewTurn(speakers[speaker], text.strip())])
    except KBError as e:
        st.error(str(e))
with live_area:
    st.fragment(run_every=POLL_SECONDS)(live_call)(call_id)
