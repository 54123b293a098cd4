"""The knowledge team's page: upload documents with metadata, see what the base holds,
inspect versions and chunks, edit metadata, delete."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from ingest.pipeline import Upload
from kb.types import Category, DocumentOptions
from ui.shared import get_services, require

user = require("library")
services = get_services()
st.title("Library")

with st.expander("Upload documents", expanded=not services.documents()):
    with st.form("upload", clear_on_submit=True):
        files = st.file_uploader(
            "Files (PDF, Word, HTML, Markdown, text, PowerPoint, Excel, CSV, e-mail)",
            accept_multiple_files=True,
        )
        left, middle, right = st.columns(3)
        category = left.selectbox("Category", ["infer", *[c.value for c in Category]])
        effective = middle.date_input("Effective date", value=None)
        expiry = right.date_input("Expiry date", value=None)
        groups = st.text_input("Access groups (comma-separated; empty: everyone)")
        submitted = st.form_submit_button("Ingest files")
    if submitted and files:
        options = DocumentOptions(
            category=None if category == "infer" else Category(category),
            effective_date=effective,
            expiry_date=expiry,
            groups=tuple(g.strip() for g in groups.split(",") if g.strip()) or None,
        )
        bar = st.progress(0.0, text="Ingesting...")

        def progress(done: int, total: int, name: str) -> None:
            bar.progress(done / total, text=f"{done} of {total}: {name}")

        uploads = [Upload(f.name, data=f.getvalue()) for f in files]
        report = services.ingest(uploads, options, progress, user=user.name)
        counts = ", ".join(f"{report.count(s)} {s.value}" for s in type(report.files[0].status))
        st.session_state["last_summary"] = f"{len(report.files)} files: {counts}."
        st.session_state["last_report"] = [
            {"File": f.source_name, "Result": f.status.value, "Document": f.document_id, "Version": f.version,
             "Chunks": f.chunks, "Reason": f.reason or ""}
            for f in report.files
        ]  # fmt: skip
    if st.session_state.get("last_report"):
        st.success(st.session_state["last_summary"])
        st.dataframe(st.session_state["last_report"], hide_index=True, width="stretch")

documents = services.documents()
today = dt.date.today()
search = st.text_input("Search titles, files and owners")


def status(d) -> str:  # type: ignore[no-untyped-def]
    if d.expiry_date and d.expiry_date < today:
        return "expired"
    if d.effective_date and d.effective_date > today:
        return "not yet effective"
    return "current"


rows = [
    {
        "Title": d.title, "Id": d.document_id, "Version": d.current_version, "Status": status(d),
        "Category": d.category.value, "Language": d.language, "Effective": d.effective_date,
        "Expiry": d.expiry_date, "Owner": d.owner or "", "Groups": ", ".join(d.groups), "Chunks": d.chunk_count,
    }
    for d in documents
    if search.lower() in f"{d.title} {d.source_name} {d.owner or ''}".lower()
]  # fmt: skip
st.metric("Documents", len(rows))
st.dataframe(rows, hide_index=True, width="stretch")

if documents:
    chosen = st.selectbox("Document", [d.document_id for d in documents], format_func=lambda i: i)
    record = services.document(chosen)
    st.subheader(record.title)
    st.dataframe(
        [{"Version": v.version, "Status": v.status, "Ingested": v.ingested_at, "Chunks": v.chunk_count,
          "File": v.source_name} for v in record.versions],
        hide_index=True,
    )  # fmt: skip
    with st.expander("Chunks as the system sees them"):
        for chunk in services.document_chunks(record.document_id, record.current_version or 1):
            st.caption(f"{chunk.chunk_id} · {chunk.kind.value} · {chunk.section}")
            st.text(chunk.text)
    with st.form("metadata"):
        new_groups = st.text_input("Access groups", value=", ".join(record.groups))
        save = st.form_submit_button("Save metadata")
    if save:
        groups_tuple = tuple(g.strip() for g in new_groups.split(",") if g.strip()) or ("everyone",)
        services.update_metadata(record.document_id, DocumentOptions(groups=groups_tuple))
        services.audit.record(
            user.name, "metadata_edit", document=record.document_id, groups=list(groups_tuple)
        )
        st.success("Saved.")
    confirm = st.checkbox(f"Yes, delete {record.document_id} from search")
    if st.button("Delete document", disabled=not confirm):
        removed = services.delete(record.document_id, user=user.name)
        st.success(f"Deleted: {removed} passages left search.")
