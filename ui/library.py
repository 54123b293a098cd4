"""The knowledge team's page: upload documents with metadata, see what the base holds and
what needs review, inspect versions and chunks, replace with a new version, edit metadata,
delete."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from ingest.pipeline import Upload
from kb.types import (
    Category,
    DocumentOptions,
    DocumentRecord,
    FileStatus,
    IngestReport,
    VersionRecord,
)
from ui.i18n import t
from ui.shared import as_text, choose, done, get_services, reader_of, require, show_done

user = require("library")
services = get_services()
reader = reader_of(user)  # the access rule: restricted documents outside the user's groups
# are not listed, opened or edited without the restricted-reader permission (kb.access)
today = dt.date.today()
st.title(t("Library"))
show_done()


def groups_of(text: str) -> tuple[str, ...] | None:
    return tuple(g.strip() for g in text.split(",") if g.strip()) or None


def ingest(uploads: list[Upload], options: DocumentOptions) -> IngestReport:
    """Ingest with a progress bar; the report's rows stay on screen across reruns."""
    bar = st.progress(0.0, text=t("Ingesting..."))

    def progress(done: int, total: int, name: str) -> None:
        bar.progress(
            done / total, text=t("{done} of {total}: {name}", done=done, total=total, name=name)
        )

    report = services.ingest(uploads, options, progress, user=user.name)
    counts = ", ".join(f"{report.count(s)} {t(s.value)}" for s in FileStatus)
    st.session_state["last_summary"] = t(
        "{files} files: {counts}.", files=len(report.files), counts=counts
    )
    st.session_state["last_report"] = [
        {t("File"): f.source_name, t("Result"): t(f.status.value), t("Document"): f.document_id,
         t("Version"): f.version, t("Chunks"): f.chunks, t("Reason"): f.reason or ""}
        for f in report.files
    ]  # fmt: skip
    return report


def status(d: DocumentRecord) -> str:
    if d.expiry_date and d.expiry_date < today:
        return "expired"
    if d.effective_date and d.effective_date > today:
        return "not yet effective"
    if d.review_by and d.review_by < today:
        return "review due"
    return "current"


def scheduled(d: DocumentRecord) -> str:
    """The next version waiting for its effective date, if any (versions carry their dates)."""
    if d.scheduled_version is None:
        return ""
    return t("v{version} scheduled from {date}", version=d.scheduled_version, date=d.scheduled_from)


def version_status(v: VersionRecord) -> str:
    if v.status == "current" and v.effective_date and v.effective_date > today:
        return t("scheduled from {date}", date=v.effective_date)
    if v.status == "current" and v.replaced_on:
        return t("current until {date}", date=v.replaced_on - dt.timedelta(days=1))
    return t(v.status)


documents = services.documents(reader=reader)
with st.expander(t("Upload documents"), expanded=not documents):
    with st.form("upload", clear_on_submit=True):
        files = st.file_uploader(
            t("Files (PDF, Word, HTML, Markdown, text, PowerPoint, Excel, CSV, e-mail)"),
            accept_multiple_files=True,
        )
        left, middle, right = st.columns(3)
        category = choose(t("Category"), ["infer", *[c.value for c in Category]], where=left)
        effective = middle.date_input(t("Effective date"), value=None)
        expiry = right.date_input(t("Expiry date"), value=None)
        left, middle, right = st.columns(3)
        owner = left.text_input(t("Owner"))
        review_by = middle.date_input(t("Review by"), value=None)
        groups = right.text_input(t("Access groups (comma-separated; empty: everyone)"))
        submitted = st.form_submit_button(t("Ingest files"))
    if submitted and files:
        ingest(
            [Upload(f.name, data=f.getvalue()) for f in files],
            DocumentOptions(
                category=None if category == "infer" else Category(category),
                effective_date=effective, expiry_date=expiry, groups=groups_of(groups),
                owner=owner.strip() or None, review_by=review_by,
            ),
        )  # fmt: skip
    if st.session_state.get("last_report"):
        st.success(st.session_state["last_summary"])
        st.dataframe(st.session_state["last_report"], hide_index=True, width="stretch")

documents = services.documents(reader=reader)
search_column, status_column = st.columns([3, 1])
search = search_column.text_input(t("Search titles, files and owners"))
wanted = choose(
    t("Status"),
    ["all", "current", "review due", "expired", "not yet effective"],
    where=status_column,
)
shown = [
    d for d in documents
    if search.lower() in f"{d.title} {d.source_name} {d.owner or ''}".lower()
    and wanted in ("all", status(d))
]  # fmt: skip
due = sum(1 for d in documents if status(d) == "review due")
metric_column, due_column = st.columns(2)
metric_column.metric(t("Documents"), len(shown))
if due:
    due_column.warning(t("{n} documents are past their review-by date.", n=due))
st.dataframe(
    [
        {t("Title"): d.title, t("Id"): d.document_id, t("Version"): d.current_version,
         t("Status"): t(status(d)), t("Category"): t(d.category.value), t("Language"): d.language,
         t("Scheduled"): scheduled(d),
         t("Effective"): d.effective_date, t("Expiry"): d.expiry_date, t("Review by"): d.review_by,
         t("Owner"): d.owner or "", t("Groups"): ", ".join(d.groups), t("Chunks"): d.chunk_count}
        for d in shown
    ],
    hide_index=True,
    width="stretch",
)  # fmt: skip
if restricted := services.restricted_counts(reader=reader):
    st.info(
        t(
            "Restricted documents you cannot open are not listed: {counts}. Reading or editing "
            "them needs the restricted-reader permission (an administrator grants it).",
            counts=", ".join(f"{n} ({group})" for group, n in sorted(restricted.items())),
        )
    )

if not documents:
    st.stop()
ids = [d.document_id for d in shown] or [d.document_id for d in documents]
chosen = st.selectbox(t("Document"), ids)
record = services.document(chosen, reader=reader)
st.subheader(as_text(record.title))
st.dataframe(
    [{t("Version"): v.version, t("Status"): version_status(v), t("Ingested"): v.ingested_at,
      t("Chunks"): v.chunk_count, t("File"): v.source_name} for v in record.versions],
    hide_index=True,
)  # fmt: skip
with st.expander(t("Chunks as the system sees them")):
    chunks = services.document_chunks(
        record.document_id, record.current_version or 1, reader=reader
    )
    for chunk in chunks:
        st.caption(as_text(f"{chunk.chunk_id} · {chunk.kind.value} · {chunk.section}"))
        st.text(chunk.text)

with st.expander(t("Replace with a new version")):
    with st.form("replace", clear_on_submit=True):
        new_file = st.file_uploader(t("New version of this document (any file name)"))
        from_date = st.date_input(
            t("Effective from (empty: at once; a later date schedules it)"), value=None
        )
        replace = st.form_submit_button(t("Replace"))
    if replace and new_file is not None:
        report = ingest(
            [Upload(new_file.name, data=new_file.getvalue())],
            DocumentOptions(replaces=record.document_id, effective_date=from_date),
        )
        outcome = report.files[0]
        if outcome.status == FileStatus.FAILED:
            st.error(t("Could not replace: {reason}", reason=outcome.reason))
        elif outcome.status == FileStatus.UNCHANGED:
            st.info(t("Same content as the current version: nothing changed."))
        elif from_date is not None and from_date > today:
            done(t("Version {version} scheduled from {date}: version {current} answers until then.",
                   version=outcome.version, date=from_date, current=record.current_version))  # fmt: skip
        else:
            done(t("Now version {version}: {chunks} passages, answerable at once.",
                   version=outcome.version, chunks=outcome.chunks))  # fmt: skip

with st.expander(t("Edit metadata")):
    with st.form("metadata"):
        left, middle, right = st.columns(3)
        categories = [c.value for c in Category]
        new_category = choose(
            t("Category"), categories, categories.index(record.category.value), where=left
        )
        new_effective = middle.date_input(t("Effective date"), value=record.effective_date)
        new_expiry = right.date_input(t("Expiry date"), value=record.expiry_date)
        left, middle, right = st.columns(3)
        new_owner = left.text_input(t("Owner"), value=record.owner or "")
        new_review = middle.date_input(t("Review by"), value=record.review_by)
        new_groups = right.text_input(t("Access groups"), value=", ".join(record.groups))
        save = st.form_submit_button(t("Save metadata"))
    if save:
        services.update_metadata(
            record.document_id,
            DocumentOptions(
                category=Category(new_category), effective_date=new_effective, expiry_date=new_expiry,
                groups=groups_of(new_groups) or ("everyone",), owner=new_owner.strip() or None,
                review_by=new_review,
            ),
            user=user.name,
            exact=True,
            reader=reader,
        )  # fmt: skip
        done(t("Saved."))

confirm = st.checkbox(t("Yes, delete {document} from search", document=record.document_id))
if st.button(t("Delete document"), disabled=not confirm):
    removed = services.delete(record.document_id, user=user.name, reader=reader)
    done(t("Deleted: {removed} passages left search.", removed=removed))
