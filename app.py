"""Streamlit entry: page config, the signed-in session, interface language, and navigation.

A reload or a new tab keeps the sign-in, the call on screen and the language: the session
lives on the server (kb.sessions) and the browser holds only its token, in a cookie
(ui.shared.resume_session). Every page is registered for a signed-in user, so any page's URL
opens: a page the role may not use is hidden from the menu and says so itself
(ui.shared.require, with the account re-read on every run) while the session goes on.
Signed out, every page's URL shows the sign-in form, and after signing in that page. While
demo accounts exist (KB_DEMO_USERS=true) every page shows a banner saying so.
"""

from __future__ import annotations

import streamlit as st

from kb.job_runner import ensure_background
from ui.i18n import LANGUAGES, t
from ui.shared import (
    PAGES_BY_ROLE,
    current_user,
    ensure_session,
    get_services,
    resume_session,
    save_session,
    session_cookie,
    sign_out,
    signed_in_with_provider,
)

st.set_page_config(page_title="AnswerDesk", layout="wide")
resume_session()  # before the language is drawn: a reload brings the saved one back
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
PAGES = {  # name (the URL) -> the page's file and title
    "ask": ("ui/ask.py", t("Ask")),
    "live": ("ui/live.py", t("Live call")),
    "library": ("ui/library.py", t("Library")),
    "rules": ("ui/rules.py", t("Escalation rules")),
    "onboarding": ("ui/onboarding.py", t("Onboarding")),
    "insights": ("ui/insights.py", t("Insights")),
    "admin": ("ui/admin.py", t("Admin")),
}
accounts = get_services().users  # building the services removes demo accounts when off
ensure_background(get_services())  # unfinished ingestion jobs resume after a restart
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
    # The sign-in form at every page's address: after signing in, that page opens.
    navigation = st.navigation(
        [st.Page("ui/signin.py", title=t("Sign in"), default=True)]
        + [
            st.Page("ui/signin.py", title=t("Sign in"), url_path=name, visibility="hidden")
            for name in PAGES
        ]
    )
else:
    ensure_session(user)
    allowed = PAGES_BY_ROLE.get(user.role, ())
    first = next((name for name in PAGES if name in allowed), "ask")
    with st.sidebar:
        st.write(t("Signed in as **{name}** ({role})", name=user.name, role=t(user.role)))
        if st.button(t("Sign out"), key="sign-out"):
            sign_out()
    navigation = st.navigation(
        [
            st.Page(
                path,
                title=title,
                url_path=name,
                default=name == first,
                visibility="visible" if name in allowed else "hidden",
            )
            for name, (path, title) in PAGES.items()
        ]
    )
session_cookie()
try:
    navigation.run()
finally:  # also after st.stop or st.rerun in the page: what it changed is kept
    save_session()
