"""The onboarding page: trainers turn the knowledge base into reviewed practice and learning
paths; new agents work through the paths assigned to them.

Trainers and admins see five tabs (topics, exercises under review, call drills from real
customer messages, learning paths, a progress dashboard); agents see their paths and the
topics. Every action is one call to kb.onboarding, which does the work and the audit trail.
Each answer is shown with its source (document > section, page, version) and the verbatim
passage, so a trainee told they were wrong can check the document themselves.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import streamlit as st

from kb import onboarding
from kb.errors import KBError
from kb.training.banking77 import category_label
from kb.training.types import (
    EXERCISE_KINDS,
    STATUSES,
    Attempt,
    DrillPayload,
    Exercise,
    FillPayload,
    GivenAnswer,
    LearningPath,
    OrderPayload,
    PathItem,
)
from ui.i18n import t
from ui.shared import as_text, choose, done, get_services, require, show_done, source_label

user = require("onboarding")
services = get_services()
state = st.session_state
V = TypeVar("V")


# ---------------------------------------------------------------- small helpers


def plain(text: str) -> str:
    """Document text as Markdown that shows it literally: a blank "____" is not a rule, "$"
    starts no formula, a link is no link; line breaks are kept (ui.shared.as_text)."""
    return as_text(text)


def unique(pairs: Iterable[tuple[str, V]]) -> dict[str, V]:
    """Options for a widget, label -> value; a repeated label gets " (2)", " (3)" ..."""
    options: dict[str, V] = {}
    for label, value in pairs:
        shown, n = label, 1
        while shown in options:
            n += 1
            shown = f"{label} ({n})"
        options[shown] = value
    return options


def pick(label: str, options: Mapping[str, V], key: str, where: Any = st) -> V:
    """A select box over labels that need no translation (titles, messages), returning the
    value behind the chosen label (like ui.shared.choose, never a format_func)."""
    return options[where.selectbox(label, list(options), key=key)]


@contextmanager
def errors_shown() -> Iterator[None]:
    """A domain error (an unapproved exercise on a path, an answer not in the source...) is
    shown with its message instead of stopping the page."""
    try:
        yield
    except KBError as error:
        st.error(str(error))


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def numbered(steps: Iterable[str]) -> str:
    return "\n".join(f"{i}. {plain(step)}" for i, step in enumerate(steps, 1))


# ---------------------------------------------------------------- shared sections


def show_answer(exercise: Exercise, titles: Mapping[str, str]) -> None:
    payload = exercise.payload
    if isinstance(payload, FillPayload):
        st.markdown(t("Correct answer: **{answer}**", answer=plain(payload.answer)))
        if payload.accepted:
            st.caption(t("Also accepted: {answers}", answers=plain(", ".join(payload.accepted))))
    elif isinstance(payload, OrderPayload):
        st.markdown(t("Correct order:"))
        st.markdown(numbered(payload.steps))
    elif isinstance(payload, DrillPayload):
        title = titles.get(payload.document_id, payload.document_id)
        st.markdown(t("Document that answers it: **{title}**", title=plain(title)))
        if payload.steps:
            st.markdown(numbered(payload.steps))
        else:
            st.caption(t("This document has no procedure: finding it is the whole answer."))


def show_source(exercise: Exercise) -> None:
    st.caption(t("Source: {source}", source=source_label(exercise.source)))
    with st.expander(t("Source text, as the document has it")):
        st.text(exercise.source_text)


def show_reading(read: onboarding.Reading) -> None:
    """A procedure as its steps (notes and warnings highlighted), a document passage by
    passage, each with where it comes from."""
    if read.steps:
        for step in read.steps:
            if step.kind == "warning":
                st.warning(plain(step.text))
            elif step.kind == "note":
                st.info(plain(step.text))
            else:
                label = f"{step.number}. " if step.number else ""
                st.markdown("\u2003" * (step.level - 1) + label + plain(step.text))
        st.caption(t("Source: {source}", source=source_label(read.passages[0][0])))
        return
    for citation, text in read.passages:
        st.caption(source_label(citation))
        st.text(text)


def show_topics() -> None:
    """The knowledge base by category and by top-level section; any procedure can be opened."""
    found = onboarding.topics(services, user.access_groups)
    if not found:
        st.info(t("The knowledge base has no documents yet."))
        return
    for topic in found:
        counts = t(
            "{documents} documents, {procedures} procedures",
            documents=len(topic.documents),
            procedures=len(topic.procedures),
        )
        name = t(topic.name) if topic.kind == "category" else plain(topic.name)
        with st.expander(f"{name} · {counts}"):
            for _, title in topic.documents:
                st.markdown(f"- {plain(title)}")
            for procedure in topic.procedures:
                st.markdown(
                    f"- {t('procedure')}: {plain(procedure.section)} ({plain(procedure.title)})"
                )
    procedures = onboarding.procedures(services, user.access_groups)
    if procedures:
        options = unique((f"{p.title} > {p.section}", p) for p in procedures)
        chosen = pick(t("Open a procedure"), options, key="open-procedure")
        item = PathItem("procedure", chosen.chunk_ids[0], chosen.section)
        with errors_shown():
            show_reading(onboarding.reading(services, item, user.access_groups))


# ---------------------------------------------------------------- trainer: exercises


def generate_section() -> None:
    if st.button(t("Generate from the knowledge base"), type="primary"):
        with st.spinner(t("Generating exercises...")):
            report = onboarding.generate(services, user.name)
        kept = report.kinds.get("order", 0) + report.kinds.get("fill", 0)
        left_out = ", ".join(
            f"{n} {t(DROP_LABELS[reason])}" for reason, n in report.dropped.items() if n
        )
        done(
            t("Exercises: {added} new, {updated} updated, {unchanged} unchanged.", **report.counts)
            + " "
            + t(
                "Kept {kept} of {candidates} found in the documents in force; left out: "
                "{left_out}.",
                kept=kept,
                candidates=report.candidates,
                left_out=left_out or "—",
            )
            + (
                " " + t("{n} earlier drafts it no longer keeps were discarded.", n=report.retired)
                if report.retired
                else ""
            )
        )
    stale = onboarding.outdated(services)
    if stale:
        st.warning(
            t(
                "{n} exercises come from a document version that is no longer current: their "
                "answers may have changed.",
                n=len(stale),
            )
        )
        if st.button(t("Discard outdated exercises")):
            with errors_shown():
                changed = onboarding.discard(services, [e.id for e in stale], user.name)
                done(t("Discarded {n} exercises.", n=len(changed)))


DROP_LABELS = {
    "unanswerable": "unanswerable from the sentence alone",
    "template": "table rows that name nothing",
    "ambiguous_order": "orderings of alternative steps",
    "near_duplicate": "near-duplicates",
    "low_value": "trivia (opening hours, contact details)",
    "section_cap": "beyond the best per section",
    "document_cap": "beyond the best per document",
}


def exercise_rows(shown: list[Exercise]) -> list[dict[str, Any]]:
    return [
        {t("Id"): e.id, t("Status"): t(e.status), t("Kind"): t(e.kind), t("Topic"): e.topic,
         t("Question"): e.prompt.splitlines()[-1], t("Document"): e.source.title,
         t("Section"): e.source.section, t("Pages"): ", ".join(map(str, e.source.pages)),
         t("Version"): e.source.version, t("Edited"): e.edited}
        for e in shown
    ]  # fmt: skip


def edit_form(exercise: Exercise) -> None:
    """Correct the question or the answer; the store refuses an answer not in the source."""
    payload = exercise.payload
    with st.form("edit-exercise"):
        prompt = st.text_area(t("Question"), value=exercise.prompt, key=f"prompt-{exercise.id}")
        answer: str | list[str] | None
        accepted: list[str] | None = None
        if isinstance(payload, FillPayload):
            answer = st.text_input(
                t("Answer (quoted from the source)"), payload.answer, key=f"answer-{exercise.id}"
            )
            others = st.text_input(
                t("Other accepted answers (comma-separated)"),
                ", ".join(payload.accepted),
                key=f"accepted-{exercise.id}",
            )
            accepted = [a.strip() for a in others.split(",") if a.strip()]
        else:
            steps = payload.steps if isinstance(payload, OrderPayload | DrillPayload) else ()
            answer = st.text_area(
                t("Steps in the right order, one per line"),
                "\n".join(steps),
                key=f"steps-{exercise.id}",
            ).splitlines()
        saved = st.form_submit_button(t("Save changes"))
    if saved:
        with errors_shown():
            onboarding.edit(
                services, exercise.id, user.name, prompt=prompt, answer=answer, accepted=accepted
            )
            done(t("Saved: the edit is kept when exercises are generated again."))


def review_exercise(exercise: Exercise, titles: Mapping[str, str]) -> None:
    edited = f" · {t('edited')}" if exercise.edited else ""
    st.caption(
        f"{exercise.id} · {t(exercise.status)} · {t(exercise.kind)} · {plain(exercise.topic)}{edited}"
    )
    st.markdown(plain(exercise.prompt))
    if isinstance(exercise.payload, OrderPayload):
        st.caption(t("The trainee sees the steps in this order:"))
        st.markdown(numbered(exercise.payload.presented))
    show_answer(exercise, titles)
    show_source(exercise)
    approve_column, discard_column = st.columns(2)
    if approve_column.button(
        t("Approve"), key="approve-one", disabled=exercise.status == "approved"
    ):
        onboarding.approve(services, [exercise.id], user.name)
        done(t("Approved {id}.", id=exercise.id))
    if discard_column.button(
        t("Discard"), key="discard-one", disabled=exercise.status == "discarded"
    ):
        with errors_shown():
            onboarding.discard(services, [exercise.id], user.name)
            done(t("Discarded {id}.", id=exercise.id))
    edit_form(exercise)


def exercises_section() -> None:
    generate_section()
    documents = onboarding.document_titles(services, user.access_groups)
    titles = dict(documents)
    left, middle, right = st.columns(3)
    status = choose(t("Status"), ["all", *STATUSES], where=left)
    kind = choose(t("Kind"), ["all", *EXERCISE_KINDS], where=middle)
    document_options = {t("all"): None, **unique((title, d) for d, title in documents)}
    document = pick(t("Document"), document_options, key="exercise-document", where=right)
    shown = onboarding.exercises(
        services,
        status=None if status == "all" else status,
        kind=None if kind == "all" else kind,
        document_id=document,
        groups=user.access_groups,
        best_first=True,
    )
    if not shown:
        st.info(
            t("No exercises match: generate them from the knowledge base or change the filters.")
        )
        return
    # One page at a time: approving vouches for each question, so the bulk buttons act on
    # the page the trainer has just read, never on everything the filters match.
    size = onboarding.REVIEW_PAGE
    pages = (len(shown) + size - 1) // size
    page_box, _ = st.columns([1, 3])
    number = int(
        page_box.number_input(
            t("Page (of {pages})", pages=pages), 1, pages, 1, key=f"exercise-page-{pages}"
        )
    )
    on_page = shown[(number - 1) * size : number * size]
    first = (number - 1) * size + 1
    st.caption(
        t(
            "Showing {first}–{last} of {total}, most important first.",
            first=first,
            last=first + len(on_page) - 1,
            total=len(shown),
        )
    )
    st.dataframe(exercise_rows(on_page), hide_index=True, width="stretch")
    approve_page, discard_page = st.columns(2)
    if approve_page.button(t("Approve the {n} on this page", n=len(on_page)), key="approve-page"):
        with errors_shown():
            changed = onboarding.approve(services, [e.id for e in on_page], user.name)
            done(t("Approved {n} exercises.", n=len(changed)))
    if discard_page.button(t("Discard the {n} on this page", n=len(on_page)), key="discard-page"):
        with errors_shown():
            changed = onboarding.discard(services, [e.id for e in on_page], user.name)
            done(t("Discarded {n} exercises.", n=len(changed)))
    st.subheader(t("Review one exercise"))
    by_id = {e.id: e for e in shown}
    review_exercise(by_id[st.selectbox(t("Exercise"), list(by_id), key="exercise")], titles)


# ---------------------------------------------------------------- trainer: call drills


def suggestions(message: str) -> list[tuple[str, str]]:
    """Retrieval's candidates for a message, kept for the session: the trainer flips between
    tabs and messages, and the search need not run again each time."""
    cache = state.setdefault("drill_suggestions", {})
    if message not in cache:
        cache[message] = onboarding.suggest_documents(services, message, user.access_groups)
    return cache[message]


def drills_section() -> None:
    st.caption(t("Real customer messages (BANKING77): map one to the document that answers it."))
    try:
        categories = onboarding.message_categories(services)
    except KBError as error:
        st.error(str(error))
        return
    category = pick(
        t("Intent category"), {category_label(c): c for c in categories}, key="drill-category"
    )
    messages = [m.text for m in onboarding.customer_messages(services, category)]
    message = st.selectbox(t("Customer message"), messages, key="drill-message")
    documents = onboarding.document_titles(services, user.access_groups)
    if not message or not documents:
        return
    suggested = suggestions(message)
    titles = dict(documents)
    suggested = [(d, title) for d, title in suggested if d in titles]  # readable ones only
    ids = [d for d, _ in suggested] + [d for d, _ in documents if d not in dict(suggested)]
    options = unique((("★ " if d in dict(suggested) else "") + titles[d], d) for d in ids)
    st.caption(t("★ found by the knowledge base's search for this message"))
    document = pick(
        t("Document that answers it"),
        options,
        key=f"drill-document-{zlib.crc32(message.encode('utf-8'))}",
    )
    if st.button(t("Create call drill")):
        with errors_shown():
            drill = onboarding.map_drill(services, message, document, user.name, user.access_groups)
            done(t("Call drill {id} saved as a draft: review it under Exercises.", id=drill.id))
    mapped = onboarding.drills(services, user.access_groups)
    if mapped:
        st.subheader(t("Call drills"))
        st.dataframe(
            [
                {t("Customer message"): m.message,
                 t("Document"): titles.get(m.document_id, m.document_id),
                 t("Status"): t(e.status) if e else "—", t("By"): m.created_by}
                for m, e in mapped
            ],
            hide_index=True,
            width="stretch",
        )  # fmt: skip


# ---------------------------------------------------------------- trainer: paths, dashboard


def create_path_form() -> None:
    choices = onboarding.path_choices(services, user.access_groups)
    readings = unique((f"{t(item.kind)}: {item.title}", item) for item in choices.readings)
    exercises = unique(
        (f"{t(e.kind)} · {item.title} · {e.source.title}", item) for item, e in choices.exercises
    )
    with st.form("path", clear_on_submit=True):
        name = st.text_input(t("Path name"))
        chosen_readings = st.multiselect(t("Documents and procedures to read"), list(readings))
        chosen_exercises = st.multiselect(t("Approved exercises"), list(exercises))
        st.caption(t("The path lists the readings first, then the exercises, in the order chosen."))
        created = st.form_submit_button(t("Create path"))
    if not choices.exercises:
        st.caption(t("No approved exercises yet: approve some under Exercises."))
    if created:
        items = [readings[r] for r in chosen_readings] + [exercises[e] for e in chosen_exercises]
        with errors_shown():
            path = onboarding.create_path(services, name, items, user.name)
            done(t("Created “{name}” with {n} items.", name=path.name, n=len(path.items)))


def edit_path_form(paths: list[LearningPath]) -> None:
    """Rename, reorder, add or remove items: the items box keeps the order they are chosen."""
    st.subheader(t("Edit a path"))
    path = pick(t("Path to edit"), unique((f"{p.name} (#{p.id})", p) for p in paths), "edit-path")
    choices = onboarding.path_choices(services, user.access_groups)
    openable = {*choices.readings, *(i for i, _ in choices.exercises)}
    items = dict.fromkeys([*path.items, *choices.readings, *(i for i, _ in choices.exercises)])
    options = unique(
        (
            f"{i.title} ({t(i.kind)})"
            if i in openable
            else t("An item you cannot open (restricted or removed)"),
            i,
        )
        for i in items
    )
    current = [label for label, item in options.items() if item in path.items]
    with st.form(f"edit-path-{path.id}"):
        name = st.text_input(t("Path name"), value=path.name)
        chosen = st.multiselect(t("Items, in order"), list(options), default=current)
        saved = st.form_submit_button(t("Save path"))
    if saved:
        with errors_shown():
            updated = onboarding.update_path(
                services, path.id, name, [options[label] for label in chosen], user.name
            )
            done(t("Saved “{name}” with {n} items.", name=updated.name, n=len(updated.items)))


def paths_section() -> None:
    create_path_form()
    paths = onboarding.paths(services)
    if not paths:
        return
    assigned = onboarding.assigned(services)
    st.subheader(t("Learning paths"))
    st.dataframe(
        [
            {t("Path"): p.name, t("Items"): len(p.items), t("Created by"): p.created_by,
             t("Assigned to"): ", ".join(assigned.get(p.id, []))}
            for p in paths
        ],
        hide_index=True,
        width="stretch",
    )  # fmt: skip
    edit_path_form(paths)
    with st.form("assign"):
        path_id = pick(
            t("Learning path"), unique((f"{p.name} (#{p.id})", p.id) for p in paths), "assign-path"
        )
        names = st.multiselect(t("Agents"), onboarding.trainees(services))
        submitted = st.form_submit_button(t("Assign"))
    if submitted:
        with errors_shown():
            onboarding.assign(services, path_id, names, user.name)
            done(t("Assigned to {names}.", names=", ".join(names)))


def dashboard_section() -> None:
    board = onboarding.dashboard(services, user.access_groups)
    if not board.paths:
        st.info(t("No learning paths yet."))
        return
    for report in board.paths:
        st.subheader(report.path.name)
        if not report.rows:
            st.caption(t("Not assigned to anyone yet."))
            continue
        st.dataframe(
            [
                {t("Trainee"): r.trainee, t("Done"): r.done, t("Total"): r.total,
                 t("Completion"): percent(r.completion), t("Mean score"): percent(r.mean_score),
                 t("Attempts"): r.attempts, t("Last activity"): r.last_at or "—"}
                for r in report.rows
            ],
            hide_index=True,
            width="stretch",
        )  # fmt: skip
        st.bar_chart(
            [
                {t("Trainee"): r.trainee, t("Completion"): r.completion,
                 t("Mean score"): r.mean_score or 0.0}
                for r in report.rows
            ],
            x=t("Trainee"),
            y=[t("Completion"), t("Mean score")],
            stack=False,
        )  # fmt: skip
    st.subheader(t("Weak topics"))
    st.caption(
        t("Topics with a mean score below {threshold}.", threshold=percent(board.weak_below))
    )
    weak = [(t("all trainees"), s) for s in board.weak] + [
        (name, s) for name, scores in board.weak_by_trainee.items() for s in scores
    ]
    if weak:
        st.dataframe(
            [
                {t("Trainee"): name, t("Topic"): s.topic, t("Mean score"): percent(s.mean_score),
                 t("Exercises"): s.exercises, t("Attempts"): s.attempts}
                for name, s in weak
            ],
            hide_index=True,
            width="stretch",
        )  # fmt: skip
    elif board.topics:
        st.success(t("No weak topics so far."))
    if board.topics:
        st.bar_chart(
            [{t("Topic"): s.topic, t("Mean score"): s.mean_score} for s in board.topics],
            x=t("Topic"),
            y=t("Mean score"),
        )
    if board.scores:
        st.subheader(t("Scores over attempts"))
        st.line_chart(
            [{t("Attempt"): p.number, t("Score"): p.score, t("Trainee"): p.trainee}
             for p in board.scores],
            x=t("Attempt"),
            y=t("Score"),
            color=t("Trainee"),
        )  # fmt: skip


# ---------------------------------------------------------------- trainee


def order_answer(exercise: Exercise, payload: OrderPayload, key: str) -> GivenAnswer | None:
    """One number box per step (its position, 1 = first), typed or stepped with the
    keyboard: eleven steps are at most eleven entries, not a select box opened twice per
    position. Positions must be 1..n, each once."""
    steps = payload.presented
    with st.form(f"order-{key}"):
        st.caption(t("Give each step its position in the procedure (1 = first)."))
        positions = []
        for n, step in enumerate(steps, 1):
            box, text = st.columns([1, 6], vertical_alignment="center")
            positions.append(
                box.number_input(
                    t("Position of: {step}", step=short(step)),
                    min_value=1,
                    max_value=len(steps),
                    value=n,
                    step=1,
                    key=f"{key}-position-{n}",
                    label_visibility="collapsed",
                )
            )
            text.markdown(plain(step))
        checked = st.form_submit_button(t("Check"))
    if not checked:
        return None
    if sorted(int(p) for p in positions) != list(range(1, len(steps) + 1)):
        st.error(t("Give each step a different position from 1 to {n}.", n=len(steps)))
        return None
    ordered = [step for _, step in sorted(zip(positions, steps, strict=True))]
    return GivenAnswer(steps=tuple(ordered))


def fill_answer(key: str) -> GivenAnswer | None:
    with st.form(f"fill-{key}"):
        text = st.text_input(t("Your answer"), key=f"{key}-answer")
        checked = st.form_submit_button(t("Check"))
    return GivenAnswer(text=text) if checked else None


def drill_answer(key: str, documents: Mapping[str, str]) -> GivenAnswer | None:
    """Not a form: the steps to pick from depend on the document chosen."""
    chosen = st.selectbox(
        t("Which document answers this?"),
        list(documents),
        index=None,
        placeholder=t("Choose a document"),
        key=f"{key}-document",
    )
    document_id = documents.get(chosen) if chosen else None
    steps = (
        onboarding.document_steps(services, document_id, user.access_groups) if document_id else []
    )
    picked = st.multiselect(t("Steps to follow, in order"), steps, key=f"{key}-steps-{document_id}")
    if st.button(t("Check"), key=f"{key}-check"):
        return GivenAnswer(document_id=document_id, steps=tuple(picked))
    return None


def short(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def show_result(exercise: Exercise, attempt: Attempt, titles: Mapping[str, str]) -> None:
    score = attempt.score or 0.0
    st.metric(t("Your score"), percent(score))
    if score == 1.0:
        st.success(t("Right."))
    else:
        st.warning(t("Not quite: compare with the answer and the source below."))
    check = onboarding.order_check(exercise, attempt.answer)
    for swap in check.swaps[:3] if check else ():
        st.error(
            t(
                "You put “{then}” before “{first}”: “{first}” protects the customer and "
                "must come first. A safety step out of order scores 0.",
                then=plain(short(swap.then)),
                first=plain(short(swap.first)),
            )
        )
    show_answer(exercise, titles)
    show_source(exercise)


def item_heading(number: int, finished: bool, text: str) -> None:
    st.markdown(f"**{'✓ ' if finished else ''}{number}. {text}**")


def exercise_item(
    path_id: int,
    item: PathItem,
    number: int,
    mine: onboarding.TraineePath,
    titles: Mapping[str, str],
) -> None:
    exercise = onboarding.exercise(services, item.ref)
    onboarding.check_visible(services, exercise.document_id, user.access_groups)
    payload = exercise.payload
    what = {"order": t("Put the steps in order"), "fill": t("Fill in the blank"),
            "drill": t("Call drill")}[exercise.kind]  # fmt: skip
    item_heading(number, item.ref in mine.progress.done_items, what)
    st.markdown(plain(exercise.prompt))
    key = f"item-{path_id}-{number}"
    if isinstance(payload, OrderPayload):
        given = order_answer(exercise, payload, key)
    elif isinstance(payload, FillPayload):
        given = fill_answer(key)
    else:
        given = drill_answer(key, unique((title, d) for d, title in titles.items()))
    if given is not None:
        onboarding.submit(services, user.name, path_id, item.ref, given)
        st.rerun()
    latest = mine.latest.get(item.ref)
    if latest is not None and latest.score is not None:
        show_result(exercise, latest, titles)


def reading_item(path_id: int, item: PathItem, number: int, mine: onboarding.TraineePath) -> None:
    read_already = item.ref in mine.progress.done_items
    read = onboarding.reading(services, item, user.access_groups)  # refused: no title shown
    item_heading(number, read_already, plain(item.title))
    st.caption(t(item.kind))
    key = f"item-{path_id}-{number}"
    with st.expander(t("Read"), expanded=not read_already):
        show_reading(read)
    if st.button(t("Mark as read"), key=f"{key}-read", disabled=read_already):
        onboarding.mark_read(services, user.name, path_id, item.ref)
        st.rerun()


def my_paths_section() -> None:
    assigned = onboarding.my_paths(services, user.name)
    if not assigned:
        st.info(t("No learning path has been assigned to you yet."))
        return
    path_id = pick(t("Learning path"), unique((p.name, p.id) for p in assigned), "my-path")
    mine = onboarding.trainee_path(services, user.name, path_id)
    st.progress(
        mine.progress.completion,
        text=t("{done} of {total} done", done=mine.progress.done, total=mine.progress.total),
    )
    titles = dict(onboarding.document_titles(services, user.access_groups))
    for number, item in enumerate(mine.path.items, 1):
        with st.container(border=True), errors_shown():
            if item.kind == "exercise":
                exercise_item(path_id, item, number, mine, titles)
            else:
                reading_item(path_id, item, number, mine)


# ---------------------------------------------------------------- the page

st.title(t("Onboarding"))
show_done()

if user.role in ("trainer", "admin"):
    # Tracked tabs: the trainer stays on the tab they were using when an action reruns the page.
    tabs = st.tabs(
        [t("Topics"), t("Exercises"), t("Call drills"), t("Learning paths"), t("Dashboard")],
        key="trainer-tab",
        on_change="rerun",
    )
    sections = (show_topics, exercises_section, drills_section, paths_section, dashboard_section)
    for tab, section in zip(tabs, sections, strict=True):
        with tab:
            section()
else:
    paths_tab, topics_tab = st.tabs(
        [t("My learning paths"), t("Topics")], key="trainee-tab", on_change="rerun"
    )
    with paths_tab:
        my_paths_section()
    with topics_tab:
        show_topics()
