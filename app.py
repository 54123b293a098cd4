"""Streamlit entry: page config and navigation. The pages live in ui/.

Until the full app lands ([4 of 5]) there is one page: what the knowledge base holds.
"""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="AnswerDesk", layout="wide")
navigation = st.navigation([st.Page("ui/library.py", title="Knowledge base", default=True)])
navigation.run()
