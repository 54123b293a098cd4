"""The agent's page: one question box, then the answer card in the order an agent reads it
mid-call: warnings first, the question as understood, the answer in large plain text, the
steps, a small confidence badge, the sources (each opens its original at the cited place),
feedback."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import streamlit as st

from kb.errors import DocumentNotFoundError
from kb.messages import Message
from kb.originals import PageView, SectionView, pages_html, view
from kb.pii import mask
from kb.types import Answer, AnswerStatus, Category, Citation, Highlighted, Passage, Query, Turn
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

# Notices by how much they change what the agent may say: escalate, the documents disagree,
# the answer may not fit, then what changed or was left out.
SEVERITY = ("escalation", "conflict", "low_confidence", "changed", "question_cut")
ERRORS = {"escalation", "conflict"}
WARNINGS = {"low_confidence", "changed", "question_cut", "superseded"}

# The card is laid out for a 1366x768 screen: a compact header, the answer in large type.
# Only style (no content) goes into this <style>, so nothing from a document reaches it.
STYLE = """<style>
[data-testid="stMainBlockContainer"] { padding-top: 4rem; }
.st-key-ask-header h1 { font-size: 1.6rem; padding: 0; line-height: 40px; }
.st-key-ask-header [data-testid="stHeaderActionElements"] { display: none; }
.st-key-answer-text [data-testid="stMarkdownContainer"] p { font-size: 1.3rem; line-height: 1.45;
  margin-bottom: 0.1rem; color: inherit; }
.st-key-answer-text [data-testid="stCaptionContainer"] p { font-size: 0.8rem; }
.st-key-asked-as [data-testid="stMarkdownContainer"] p { margin-bottom: 0; }
</style>"""


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


def kind_of(notice: str) -> str:
    return notice.kind if isinstance(notice, Message) else ""


def show_notices(notices: tuple[str, ...]) -> None:
    """Warnings before everything else, the most serious first, each in the box its weight
    calls for (red: escalate or the documents disagree; amber: check before quoting)."""
    order = {kind: rank for rank, kind in enumerate(SEVERITY)}
    for notice in sorted(notices, key=lambda n: order.get(kind_of(n), len(SEVERITY))):
        shown = as_text(say(notice))
        if kind_of(notice) in ERRORS:
            st.error(shown, icon="⛔")
        elif kind_of(notice) in WARNINGS:
            st.warning(shown, icon="⚠️")
        else:
            st.info(shown)


def show_question(answer: Answer, number: int) -> None:
    """The question as it was understood (searched), with what was typed when different."""
    with st.container(key="asked-as"):
        question, count = st.columns([4, 1], vertical_alignment="bottom")
        question.markdown(t("**Question:** {question}", question=as_text(answer.resolved_question)))
        count.caption(t("Answer {n} of this call", n=number))
        if answer.resolved_question != answer.question:
            st.caption(t("You typed: {question}", question=as_text(answer.question)))


def show_answer_text(sentences: tuple[tuple[Highlighted, Citation], ...]) -> None:
    """The headline sentences in large plain type, matches in bold, one small source label
    under each run of sentences from the same place."""
    with st.container(key="answer-text"):
        run: list[Highlighted] = []
        for index, (text, citation) in enumerate(sentences):
            run.append(text)
            following = sentences[index + 1][1] if index + 1 < len(sentences) else None
            if following != citation:
                st.markdown(" ".join(marked(s) for s in run))
                st.caption(source_label(citation))
                run = []


def show_confidence(answer: Answer) -> None:
    """A small badge: the agent reads the answer first, the number only to weigh it (amber
    when the answer carries the low-confidence warning, shown at the top)."""
    low = any(kind_of(n) == "low_confidence" for n in answer.notices)
    value = f"{answer.confidence:.0%}"
    st.badge(t("Confidence {value}", value=value), color="orange" if low else "green")


def show_source(index: int, passage: Passage, number: int) -> None:
    """One source: its passage, "Open" (the original at the cited place, shown here) and
    "Download the original" (the stored file)."""
    with st.expander(source_label(passage.citation)):
        st.markdown(marked(passage.text))  # line breaks kept by as_text
        original = services.original_file(
            passage.citation.document_id, passage.citation.version, reader=reader_of(user)
        )
        key = f"{number}-{index}"
        opened = viewing()
        with st.container(horizontal=True):
            st.button(
                t("Close the original") if key in opened else t("Open"), key=f"view-{key}",
                icon=":material/visibility:", on_click=toggle_original, args=(key, passage.citation),
            )  # fmt: skip
            if original is not None and original.exists():
                st.download_button(
                    t("Download the original"), reader(original), file_name=passage.citation.source_name,
                    key=f"download-{key}", on_click="ignore", icon=":material/download:",
                )  # fmt: skip
        if key in opened:
            show_original(opened[key])


def viewing() -> dict[str, PageView | SectionView | None]:
    """The originals open on this answer. Kept with who opened them and for which answer,
    so another person signing in at this desk, or the next answer, starts with none."""
    owner = (user.name, state["answered"])
    if state.get("viewing", {}).get("owner") != owner:
        state["viewing"] = {"owner": owner, "views": {}}
    return state["viewing"]["views"]


def toggle_original(key: str, citation: Citation) -> None:
    """Open the original at the cited place (read, rendered and audited once, on the
    click), or close it."""
    opened = viewing()
    if key in opened:
        del opened[key]
        return
    try:
        original = services.open_original(citation, reader=reader_of(user))
    except DocumentNotFoundError:  # deleted, or no longer readable by this agent
        opened[key] = None
        return
    opened[key] = view(original)


def show_original(shown: PageView | SectionView | None) -> None:
    """The page image(s) or the section, in a frame scrolled to the marked passage."""
    if shown is None:
        st.error(t("The original is no longer available."))
        return
    if not shown.found:
        st.info(
            t("The passage could not be marked on the page; the cited page is shown.")
            if isinstance(shown, PageView)
            else t("The passage could not be marked; its section is shown.")
        )
    if isinstance(shown, PageView):
        page = t("Page {n}, the passage marked", n="{page}")
        st.iframe(pages_html(shown, page), height=520, alt=t("The cited page of the original"))
    else:
        st.iframe(shown.html, height=380, alt=t("The cited section of the original"))


def focus_question() -> None:
    """Put the cursor back in the question box after an answer, so the agent can type the
    next question at once (the form is redrawn on submit and the box loses focus)."""
    label = json.dumps(t("Question"))
    st.html(
        f"<script>/* answer {state['answered']} */ const label = {label};"
        "const focusBox = () => { for (const box of document.querySelectorAll('input')) {"
        " if (box.getAttribute('aria-label') === label) { box.focus({preventScroll: true});"
        " return; } } };"
        "setTimeout(focusBox, 50); setTimeout(focusBox, 500);</script>",
        unsafe_allow_javascript=True,  # our own script; no content in it
    )


st.html(STYLE)
if state.get("language", "en") != "en":  # Streamlit's "Press Enter to submit form" is English only
    st.html(
        '<style>[data-testid="stForm"] [data-testid="InputInstructions"] { display: none; }</style>'
    )
with st.container(key="ask-header"):
    header, new_call = st.columns([6, 1], vertical_alignment="top")
    header.title(t("Ask"))
    if new_call.button(t("New call"), help=t("Forget this call's questions"), width="stretch"):
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

with st.form("ask", clear_on_submit=True, border=False):
    box, button = st.columns([6, 1], vertical_alignment="bottom")
    question = box.text_input(
        t("Question"),
        placeholder=t("What did the customer ask?"),
        max_chars=services.settings.question_max_chars,  # Services.ask refuses longer ones
        label_visibility="collapsed",
    )
    asked = button.form_submit_button(t("Ask"), type="primary", width="stretch")

if asked and not question.strip():
    st.warning(t("Type the customer's question first, then press Enter."))
elif asked:
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
    for key in [k for k in state if str(k).startswith("feedback-reason-")]:
        del state[key]  # a reason typed for an earlier answer (or by whoever sat here before)
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
    number = state["answered"]
    if answer.status == AnswerStatus.NOT_COVERED:
        st.error(t("Not covered in the knowledge base: escalate."), icon="⛔")
        show_notices(answer.notices)
        show_question(answer, number)
        st.markdown(as_text(say(answer.advice or "")))
        if answer.related:
            st.markdown(t("Closest related articles:"))
            for citation in answer.related:
                st.markdown(f"- {source_label(citation)}")
    else:
        show_notices(answer.notices)
        show_question(answer, number)
        show_answer_text(answer.sentences)
        if answer.steps:
            st.markdown(f"**{t('Steps')}**")
            for i, step in enumerate(answer.steps):
                render_step(step, checkbox_key=f"step-{number}-{i}")
            st.caption(source_label(answer.steps[0].citation))
        show_confidence(answer)
        st.markdown(f"**{t('Sources')}**")
        for i, passage in enumerate(answer.passages):
            show_source(i, passage, number)

    st.divider()
    helpful, not_helpful, reason_column = st.columns([1, 1, 3], vertical_alignment="bottom")
    # Keyed by the answer's number: a reason typed for one answer is not left for the next.
    reason = reason_column.text_input(t("Reason (optional)"), key=f"feedback-reason-{number}")
    if helpful.button(t("Helpful")):
        services.give_feedback(user.name, answer, True, reason)
        st.success(t("Thank you: feedback recorded."))
    if not_helpful.button(t("Not helpful")):
        services.give_feedback(user.name, answer, False, reason)
        st.success(t("Thank you: the knowledge team will see this."))

if asked:
    focus_question()
