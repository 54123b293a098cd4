"""Streamlit entry: page config, sign-in, and navigation over the pages the user's role allows.

Pages a role may not use are not registered at all, so their URLs are not served; each page
also checks the role itself (ui.shared.require).
"""

from __future__ import annotations

import streamlit as st

from ui.shared import PAGES_BY_ROLE, current_user

st.set_page_config(page_title="AnswerDesk", layout="wide")
PAGES = {
    "ask": st.Page("ui/ask.py", title="Ask", url_path="ask"),
    "library": st.Page("ui/library.py", title="Library", url_path="library"),
    "admin": st.Page("ui/admin.py", title="Admin", url_path="admin"),
}
user = current_user()
if user is None:
    navigation = st.navigation([st.Page("ui/signin.py", title="Sign in")])
else:
    with st.sidebar:
        st.write(f"Signed in as **{user.name}** ({user.role})")
        if st.button("Sign out"):
            del st.session_state["user"]
            st.rerun()
    navigation = st.navigation([PAGES[name] for name in PAGES_BY_ROLE.get(user.role, ())])
navigation.run()
