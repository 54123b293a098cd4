"""The knowledge team's page: upload documents with metadata, see what the base holds and
what needs review, inspect versions and chunks, replace with a new version, edit metadata,
delete; review the drafts others submitted (four-eyes publishing, kb.publishing) and compare
two versions side by side (kb.diff)."""

from __future__ import annotations

import datetime as dt
import math

import streamlit as st

from ingest.pipeline import Upload
from kb.diff import Change, Mark, PassageChange, Span, VersionDiff
from kb.errors import KBError
from kb.ingest_jobs import runs_in_background
from kb.publishing import Draft, ReviewState
from kb.types import (
    Category,
    DocumentOptions,
    DocumentRecord,
    FileStatus,
    IngestReport,
    VersionRecord,
)
from ui.i18n import t
from ui.job_panel import explain, show_jobs, start_job
from ui.ocr_status import ocr_status, show_ocr
from ui.shared import as_text, choose, done, get_services, reader_of, require, show_done

user = require("library")
services = get_services()
reader = reader_of(user)  # the access rule: restricted documents outside the user's groups
# are not listed, opened or edited without the restricted-reader permission (kb.access)
today = dt.date.today()
four_eyes = services.settings.four_eyes  # uploads here are drafts until a second person approves
max_mb = services.settings.max_file_mb  # one limit: the uploader, Streamlit and the pipeline
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

    report = services.ingest(uploads, options, progress, user=user.name, as_draft=True)
    st.session_state["last_report"] = report  # shown on every rerun, in the current language
    return report


def result(status: FileStatus, draft: bool) -> str:
    if draft and status in (FileStatus.ADDED, FileStatus.UPDATED):
        return t("{status} (draft: awaiting review)", status=t(status.value))
    return t(status.value)


def show_report(report: IngestReport) -> None:
    """A batch's outcome. Never a green box for a batch with failures (issue 13): red when
    every file failed, amber when some did, each failed file named with its reason."""
    counts = ", ".join(f"{report.count(s)} {t(s.value)}" for s in FileStatus)
    summary = t("{files} files: {counts}.", files=len(report.files), counts=counts)
    drafts = sum(1 for f in report.files if f.draft and f.status != FileStatus.UNCHANGED)
    if drafts:
        summary += " " + t(
            "{n} awaiting review: a second person (knowledge team or admin) approves them "
            "below before agents see them.",
            n=drafts,
        )
    failed = [f for f in report.files if f.status == FileStatus.FAILED]
    if not failed:
        st.success(summary)
    else:
        every = len(failed) == len(report.files)
        heading = t("No file was added.") if every else t("Some files failed.")
        reasons = "\n".join(
            f"- {as_text(f.source_name)}: {as_text(f.reason or '')}" for f in failed
        )
        (st.error if every else st.warning)(f"{heading} {summary}\n\n{reasons}")
    st.dataframe(
        [{t("File"): f.source_name, t("Result"): result(f.status, f.draft), t("Document"): f.document_id,
          t("Version"): f.version, t("Chunks"): f.chunks, t("Reason"): f.reason or ""}
         for f in report.files],
        hide_index=True, width="stretch",
    )  # fmt: skip


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


def draft_state(d: DocumentRecord) -> str:
    """A version awaiting review, if any (four-eyes publishing)."""
    if d.draft_version is None:
        return ""
    return t("v{version} draft: awaiting review", version=d.draft_version)


def version_status(v: VersionRecord) -> str:
    if v.status == "draft":
        return t("draft: awaiting review")
    if v.status == "current" and v.effective_date and v.effective_date > today:
        return t("scheduled from {date}", date=v.effective_date)
    if v.status == "current" and v.replaced_on:
        return t("current until {date}", date=v.replaced_on - dt.timedelta(days=1))
    return t(v.status)


_MARKUP = str.maketrans({c: f"&#{ord(c)};" for c in "[]()*_`~:$#|\\!<>&\"'"})


def as_html(text: str) -> str:
    """Content as inert HTML: every character that HTML, Markdown or a Streamlit directive
    reads as markup becomes an entity, and line breaks <br>, so the whole passage stays one
    raw HTML line that nothing interprets (kb.render.literal_markdown's rule for HTML)."""
    return text.translate(_MARKUP).replace("\r\n", "\n").replace("\n", "<br>")


_STYLE = {
    Mark.ADDED: '<ins style="background:#c6f6c6;text-decoration:none;font-weight:600">{}</ins>',
    Mark.REMOVED: '<del style="background:#ffd2d2">{}</del>',
    Mark.SAME: "{}",
}


def side(spans: tuple[Span, ...]) -> str:
    """One side of a compared passage: added words green, removed ones red and struck."""
    if not spans:
        return '<div style="color:#888">—</div>'
    return "<div>" + "".join(_STYLE[s.mark].format(as_html(s.text)) for s in spans) + "</div>"


CHANGE_LABELS = {
    Change.ADDED: "Added", Change.REMOVED: "Removed", Change.CHANGED: "Changed",
    Change.UNCHANGED: "Unchanged",
}  # fmt: skip


def show_diff(diff: VersionDiff, key: str) -> None:
    """Two versions side by side, passage by passage, the changed words highlighted."""
    st.caption(
        t(
            "v{old} → v{new}: {added} added, {removed} removed, {changed} changed, "
            "{unchanged} unchanged passages.",
            old=diff.old_version, new=diff.new_version, added=diff.count(Change.ADDED),
            removed=diff.count(Change.REMOVED), changed=diff.count(Change.CHANGED),
            unchanged=diff.count(Change.UNCHANGED),
        )
    )  # fmt: skip
    every = st.checkbox(t("Show unchanged passages too"), key=f"{key}-every")
    passages: tuple[PassageChange, ...] = diff.passages if every else diff.changes
    if not passages:
        st.info(t("The two versions have the same passages."))
        return
    left, right = st.columns(2)
    left.markdown(f"**{t('Version {version}', version=diff.old_version)}**")
    right.markdown(f"**{t('Version {version}', version=diff.new_version)}**")
    for passage in passages:
        st.caption(f"{t(CHANGE_LABELS[passage.change])} · {as_text(passage.section or '—')}")
        left, right = st.columns(2)
        left.markdown(side(passage.old), unsafe_allow_html=True)
        right.markdown(side(passage.new), unsafe_allow_html=True)


def review_drafts(drafts: list[Draft]) -> None:
    """The drafts others submitted: compare each with the version in force, approve or
    reject it with a comment. The service enforces the four-eyes rule (kb.publishing); the
    form only says it first."""
    st.dataframe(
        [{t("Document"): d.document_id, t("Version"): d.version, t("Title"): d.title,
          t("Submitted by"): d.submitted_by, t("Submitted"): d.submitted_at,
          t("Replaces"): f"v{d.live_version}" if d.live_version else t("new document")}
         for d in drafts],
        hide_index=True, width="stretch",
    )  # fmt: skip
    labels = {f"{d.document_id} v{d.version}": d for d in drafts}
    draft = labels[st.selectbox(t("Draft to review"), list(labels))]
    if draft.live_version is not None:
        show_diff(
            services.version_diff(
                draft.document_id, draft.live_version, draft.version, reader=reader
            ),
            key="review",
        )
    else:
        st.caption(t("A new document: every passage is new."))
        for chunk in services.document_chunks(draft.document_id, draft.version, reader=reader):
            st.caption(as_text(chunk.section))
            st.text(chunk.text)
    own = draft.submitted_by == user.name
    if own:
        st.info(t("You submitted this draft: a second person must review it."))
    with st.form("review", clear_on_submit=True, enter_to_submit=False):
        comment = st.text_area(t("Review comment (required to reject)"))
        approve_column, reject_column = st.columns(2)
        approve = approve_column.form_submit_button(t("Approve and publish"), disabled=own)
        reject = reject_column.form_submit_button(t("Reject"), disabled=own)
    if approve or reject:
        decide = services.approve_draft if approve else services.reject_draft
        try:
            decision = decide(draft.document_id, draft.version, user.name, comment)
        except KBError as e:
            st.error(as_text(str(e)))
            return
        if decision.state == ReviewState.REJECTED:
            done(t("Rejected version {version} of {document}: the version in force stays.",
                   version=decision.version, document=decision.document_id))  # fmt: skip
        elif decision.scheduled_from is not None:
            done(t("Approved version {version} of {document}: it answers from {date}.",
                   version=decision.version, document=decision.document_id,
                   date=decision.scheduled_from))  # fmt: skip
        else:
            done(t("Approved version {version} of {document}: agents get it now.",
                   version=decision.version, document=decision.document_id))  # fmt: skip


documents = services.documents(reader=reader)
with st.expander(t("Upload documents"), expanded=not documents):
    if four_eyes:
        st.caption(
            t(
                "Four-eyes publishing: what you upload here is a draft. Agents see it only "
                "after a second person from the knowledge team or an administrator approves it."
            )
        )
    with st.form("upload", clear_on_submit=True, enter_to_submit=False):
        files = st.file_uploader(
            t(
                "Files (PDF, Word, HTML, Markdown, text, PowerPoint, Excel, CSV, e-mail, scans: "
                "PNG, JPEG, TIFF)"
            ),
            accept_multiple_files=True,
            help=t("Up to {mb} MB per file (KB_MAX_FILE_MB).", mb=f"{max_mb:g}"),
            max_upload_size=math.ceil(max_mb),
        )
        left, middle, right = st.columns(3)
        category = choose(t("Category"), ["infer", *[c.value for c in Category]], where=left)
        effective = middle.date_input(t("Effective date"), value=None)
        expiry = right.date_input(t("Expiry date"), value=None)
        left, middle, right = st.columns(3)
        owner = left.text_input(t("Owner"))
        review_by = middle.date_input(t("Review by"), value=None)
        groups = right.text_input(t("Access groups (comma-separated; empty: everyone)"))
        explain()  # a large batch or a .zip becomes a background job (ui.job_panel)
        submitted = st.form_submit_button(t("Ingest files"))
    if submitted and not files:
        st.warning(t("Choose at least one file to upload, then press Ingest files."))
    elif submitted:
        batch = DocumentOptions(
            category=None if category == "infer" else Category(category),
            effective_date=effective, expiry_date=expiry, groups=groups_of(groups),
            owner=owner.strip() or None, review_by=review_by,
        )  # fmt: skip
        if runs_in_background([f.name for f in files]):
            start_job(services, user, files, batch)
        else:
            ingest([Upload(f.name, data=f.getvalue()) for f in files], batch)
    if st.session_state.get("last_report") is not None:
        show_report(st.session_state["last_report"])
show_jobs(services, user)  # background jobs: progress, failed files, cancel

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
         t("Status"): t(status(d)), t("Scan"): ocr_status(d), t("Category"): t(d.category.value),
         t("Language"): d.language,
         t("Scheduled"): scheduled(d), t("Review"): draft_state(d),
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

pending = services.drafts(reader=reader)
if pending:
    st.subheader(t("Drafts awaiting review ({n})", n=len(pending)))
    review_drafts(pending)

if not documents:
    st.stop()
ids = [d.document_id for d in shown] or [d.document_id for d in documents]
chosen = st.selectbox(t("Document"), ids)
record = services.document(chosen, reader=reader)
st.subheader(as_text(record.title))
show_ocr(record, services.settings.ocr_review_confidence)  # scanned pages: confidence, review
st.dataframe(
    [{t("Version"): v.version, t("Status"): version_status(v), t("Ingested"): v.ingested_at,
      t("Chunks"): v.chunk_count, t("File"): v.source_name} for v in record.versions],
    hide_index=True,
)  # fmt: skip
numbers = [v.version for v in record.versions]
if len(numbers) > 1:
    with st.expander(t("Compare two versions")):
        # Default: the draft against the version in force, else the last two versions.
        newest = record.draft_version or numbers[-1]
        oldest = record.current_version if record.draft_version else numbers[-2]
        old_column, new_column = st.columns(2)
        old = old_column.selectbox(
            t("Earlier version"), numbers, index=numbers.index(oldest or numbers[0])
        )
        new = new_column.selectbox(t("Later version"), numbers, index=numbers.index(newest))
        if old == new:
            st.info(t("Choose two different versions."))
        else:
            show_diff(services.version_diff(record.document_id, old, new, reader=reader), "compare")
with st.expander(t("Chunks as the system sees them")):
    chunks = services.document_chunks(
        record.document_id, record.current_version or 1, reader=reader
    )
    for chunk in chunks:
        st.caption(as_text(f"{chunk.chunk_id} · {chunk.kind.value} · {chunk.section}"))
        st.text(chunk.text)

with st.expander(t("Replace with a new version")):
    with st.form("replace", clear_on_submit=True, enter_to_submit=False):
        new_file = st.file_uploader(
            t("New version of this document (any file name)"),
            help=t("Up to {mb} MB per file (KB_MAX_FILE_MB).", mb=f"{max_mb:g}"),
            max_upload_size=math.ceil(max_mb),
        )
        from_date = st.date_input(
            t("Effective from (empty: at once; a later date schedules it)"), value=None
        )
        replace = st.form_submit_button(t("Replace"))
    if replace and new_file is None:
        st.warning(t("Choose the file of the new version, then press Replace."))
    elif replace:
        report = ingest(
            [Upload(new_file.name, data=new_file.getvalue())],
            DocumentOptions(replaces=record.document_id, effective_date=from_date),
        )
        outcome = report.files[0]
        if outcome.status == FileStatus.FAILED:
            st.error(t("Could not replace: {reason}", reason=outcome.reason))
        elif outcome.status == FileStatus.UNCHANGED:
            st.info(t("Same content as the current version: nothing changed."))
        elif outcome.draft:
            done(t("Version {version} submitted for review: version {current} answers until a "
                   "second person approves it.",
                   version=outcome.version, current=record.current_version))  # fmt: skip
        elif from_date is not None and from_date > today:
            done(t("Version {version} scheduled from {date}: version {current} answers until then.",
                   version=outcome.version, date=from_date, current=record.current_version))  # fmt: skip
        else:
            done(t("Now version {version}: {chunks} passages, answerable at once.",
                   version=outcome.version, chunks=outcome.chunks))  # fmt: skip

with st.expander(t("Edit metadata")):
    with st.form("metadata", enter_to_submit=False):
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
