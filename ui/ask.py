"""The agent's page: one question box, the answer card, steps to tick, sources, feedback."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import streamlit as st

from kb.pii import mask
from kb.types import AnswerStatus, Category, Highlighted, Query, Turn
from ui.i18n import say, t
from ui.shared import (
    as_text,
    choose,
    get_services,
    reader_of,
    render_step,
    require,
    source_label,
)

user = require("ask")
services = get_services()
state = st.session_state
state.setdefault("history", [])
state.setdefault("answer", None)
state.setdefault("answered", 0)


def marked(text: Highlighted) -> str:
    """The text shown as text (kb.render.literal_markdown), its matches in bold."""
    out, position = [], 0
    for start, end in text.highlights:
        out += [as_text(text.text[position:start]), "**", as_text(text.text[start:end]), "**"]
        position = end
    out.append(as_text(text.text[position:]))
    return "".join(out)


def reader(path: Path):  # type: ignore[no-untyped-def]
    """Read the original only when the agent clicks, not on every rerun of the page."""
    return lambda: path.read_bytes()


header, new_call = st.columns([5, 1])
header.title(t("Ask"))
if new_call.button(t("New call"), help=t("Forget this call's questions")):
    state["history"], state["answer"], state["answered"] = [], None, 0
    st.rerun()

with st.sidebar:
    category = choose(t("Category"), ["all", *[c.value for c in Category]])
    as_of = st.date_input(t("Documents in force on"), value=dt.date.today())
    if state["history"]:
        st.subheader(t("This call"))
        for turn in state["history"]:
            if turn.role == "user":
                st.caption(as_text(mask(turn.text).text))
    # Four-eyes publishing: reviewers see drafts answer before approving them (kb.publishing).
    preview = services.may_preview(user.name) and st.toggle(
        t("Preview drafts"),
        help=t("Answers use drafts awaiting review in place of the versions they would replace (only you see this)."),
    )  # fmt: skip

with st.form("ask", clear_on_submit=True):
    question = st.text_input(
        t("Question"),
        placeholder=t("What did the customer ask?"),
        max_chars=services.settings.question_max_chars,  # Services.ask refuses longer ones
    )
    asked = st.form_submit_button(t("Ask"))

if asked and question.strip():
    query = Query(
        text=question.strip(),
        history=tuple(state["history"]),
        groups=user.access_groups,
        category=None if category == "all" else Category(category),
        as_of=as_of,
        preview=preview,
    )
    with st.spinner(t("Searching the knowledge base...")):
        state["answer"] = services.ask(query, user=user.name)
    state["answered"] += 1
    # The call so far is the context of the next question: what the agent asked, and what
    # the agent was given to tell the customer (the answer's first sentence).
    reply = (
        [Turn("assistant", state["answer"].sentences[0][0].text)]
        if state["answer"].sentences
        else []
    )
    state["history"] = [*state["history"], Turn("user", question.strip()), *reply]

answer = state["answer"]
if answer is not None:
    st.caption(t("Answer {n} of this call", n=state["answered"]))
    if answer.resolved_question != answer.question:
        st.caption(t("Searched as: {question}", question=as_text(answer.resolved_question)))
    if answer.status == AnswerStatus.NOT_COVERED:
        st.error(t("Not covered in the knowledge base: escalate."))
        st.write(as_text(say(answer.advice or "")))
        if answer.related:
            st.write(t("Closest related articles:"))
            for citation in answer.related:
                st.write(f"- {source_label(citation)}")
    else:
        st.metric(t("Confidence"), f"{answer.confidence:.0%}")
        for text, citation in answer.sentences:
            st.markdown(f"> {marked(text)}")
            st.caption(source_label(citation))
        if answer.steps:
            st.subheader(t("Steps"))
            for i, step in enumerate(answer.steps):
                render_step(step, checkbox_key=f"step-{state['answered']}-{i}")
            st.caption(source_label(answer.steps[0].citation))
        st.subheader(t("Sources"))
        for i, passage in enumerate(answer.passages):
            with st.expander(source_label(passage.citation)):
                st.markdown(marked(passage.text))  # line breaks kept by as_text
                original = services.original_file(
                    passage.citation.document_id, passage.citation.version, reader=reader_of(user)
                )
                if original is not None and original.exists():
                    st.download_button(
                        t("Open the original"), reader(original), file_name=passage.citation.source_name,
                        key=f"open-{i}", on_click="ignore",
                    )  # fmt: skip
    for notice in answer.notices:
        st.warning(as_text(say(notice)))

    st.divider()
    helpful, not_helpful, reason_column = st.columns([1, 1, 3])
    reason = reason_column.text_input(t("Reason (optional)"), key="feedback-reason")
    if helpful.button(t("Helpful")):
        services.give_feedback(user.name, answer, True, reason)
        st.success(t("Thank you: feedback recorded."))
    if not_helpful.button(t("Not helpful")):
        services.give_feedback(user.name, answer, False, reason)
        st.success(t("Thank you: the knowledge team will see this."))
