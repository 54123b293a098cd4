"""Streamlit entry: page config, interface language, sign-in, and navigation over the pages
the user's role allows.

Pages a role may not use are not registered at all, so their URLs are not served; each page
also checks the role itself (ui.shared.require), with the account re-read on every run. While
demo accounts exist (KB_DEMO_USERS=true) every page shows a banner saying so.
"""

from __future__ import annotations

import streamlit as st

from ui.i18n import LANGUAGES, t
from ui.shared import (
    PAGES_BY_ROLE,
    current_user,
    get_services,
    sign_out,
    signed_in_with_provider,
)

st.set_page_config(page_title="AnswerDesk", layout="wide")
with st.sidebar:
    codes = {name: code for code, name in LANGUAGES.items()}
    st.session_state["language"] = codes[
        st.radio(
            t("Interface language"),
            list(codes),
            index=list(LANGUAGES).index(st.session_state.get("language", "en")),
            horizontal=True,
        )
    ]
PAGES = {
    "ask": st.Page("ui/ask.py", title=t("Ask"), url_path="ask"),
    "live": st.Page("ui/live.py", title=t("Live call"), url_path="live"),
    "library": st.Page("ui/library.py", title=t("Library"), url_path="library"),
    "rules": st.Page("ui/rules.py", title=t("Escalation rules"), url_path="rules"),
    "onboarding": st.Page("ui/onboarding.py", title=t("Onboarding"), url_path="onboarding"),
    "insights": st.Page("ui/insights.py", title=t("Insights"), url_path="insights"),
    "admin": st.Page("ui/admin.py", title=t("Admin"), url_path="admin"),
}
accounts = get_services().users  # building the services removes demo accounts when off
demo = accounts.demo_accounts() if accounts is not None else []
if demo:
    st.warning(
        t(
            "Demo accounts exist ({names}): this is a demonstration, not for customer data. They are removed at start-up when KB_DEMO_USERS is off.",
            names=", ".join(demo),
        ),
        icon=":material/warning:",
    )
user = current_user() or signed_in_with_provider()
if user is None:
    navigation = st.navigation([st.Page("ui/signin.py", title=t("Sign in"))])
else:
    with st.sidebar:
        st.write(t("Signed in as **{name}** ({role})", name=user.name, role=t(user.role)))
        if st.button(t("Sign out")):
            sign_out()
    navigation = st.navigation([PAGES[name] for name in PAGES_BY_ROLE.get(user.role, ())])
navigation.run()
