"""Sign in with a local account; the session then carries the user and their groups."""

from __future__ import annotations

import streamlit as st

from ui.shared import get_services

st.title("AnswerDesk")
st.caption("Knowledge base for contact-centre agents")
with st.form("sign-in"):
    name = st.text_input("User name")
    password = st.text_input("Password", type="password")
    submitted = st.form_submit_button("Sign in")
if submitted:
    services = get_services()
    user = services.users.authenticate(name.strip(), password) if services.users else None
    if user is None:
        services.audit.record(name.strip() or "(blank)", "sign_in_failed")
        st.error("Wrong user name or password, or the account is disabled.")
    else:
        services.audit.record(user.name, "sign_in", role=user.role)
        st.session_state["user"] = user
        st.rerun()
