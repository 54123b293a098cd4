"""The knowledge base at a glance: which documents it holds, their versions and dates."""

from __future__ import annotations

import streamlit as st

from ui.shared import get_services, require

user = require("library")
st.title("Library")
st.caption(
    "What the knowledge base holds. Uploads and editing arrive with the next release; use `kb ingest` meanwhile."
)
documents = get_services().documents()
st.metric("Documents", len(documents))
st.dataframe(
    [
        {
            "Title": d.title,
            "Id": d.document_id,
            "Version": d.current_version,
            "Category": d.category.value,
            "Language": d.language,
            "Effective": d.effective_date,
            "Expiry": d.expiry_date,
            "Groups": ", ".join(d.groups),
            "Chunks": d.chunk_count,
        }
        for d in documents
    ],
    hide_index=True,
    width="stretch",
)
