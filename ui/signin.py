"""Sign in: with the bank's identity provider when one is configured, else (or also) with a
local account; the session then carries the user and their groups."""

from __future__ import annotations

import streamlit as st

from ui.i18n import t
from ui.shared import get_services

services = get_services()
settings = services.settings
st.title("AnswerDesk")
st.caption(t("Knowledge base for contact-centre agents"))
if settings.auth_provider:
    if st.session_state.get("unprovisioned"):
        st.error(
            t(
                "Your sign-in ({email}) has no AnswerDesk account yet: ask an administrator to add it.",
                email=st.session_state["unprovisioned"],
            )
        )
    if st.button(t("Sign in with {provider}", provider=settings.auth_provider), type="primary"):
        st.login(settings.auth_provider)
    if settings.allow_local_sign_in:
        st.caption(t("or with a local account"))
if not settings.auth_provider or settings.allow_local_sign_in:
    with st.form("sign-in"):
        name = st.text_input(t("User name"))
        password = st.text_input(t("Password"), type="password")
        submitted = st.form_submit_button(t("Sign in"))
    if submitted:
        user = services.users.authenticate(name.strip(), password) if services.users else None
        if user is None:
            services.audit.record(name.strip() or "(blank)", "sign_in_failed")
            st.error(t("Wrong user name or password, or the account is disabled."))
        else:
            services.audit.record(user.name, "sign_in", role=user.role)
            st.session_state["user"] = user
            st.rerun()
