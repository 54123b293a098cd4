"""Sign in: with the bank's identity provider when one is configured, else (or also) with a
local account; the session then carries the user and their groups, on the server
(kb.sessions), so a reload or a new tab stays signed in. A session that ran out says so here."""

from __future__ import annotations

import time

import streamlit as st

from ui.i18n import t
from ui.shared import get_services, start_session

services = get_services()
settings = services.settings
st.title("AnswerDesk")
st.caption(t("Knowledge base for contact-centre agents"))
ended = st.session_state.pop("session_ended", None)
if ended == "idle":
    st.info(
        t(
            "Your session ended after {minutes} minutes without activity: please sign in again.",
            minutes=f"{settings.session_idle_minutes:g}",
        )
    )
elif ended == "expired":
    st.info(
        t(
            "Your session ended {hours} hours after signing in: please sign in again.",
            hours=f"{settings.session_max_hours:g}",
        )
    )
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
        typed = name.strip()
        address = st.context.ip_address  # the browser's; lock-out is per name and source
        source = address if isinstance(address, str) else ""
        outcome = services.users.sign_in(typed, password, source) if services.users else None
        if outcome is None or outcome.user is None:
            # What was typed as a name is often a password or a card number: the trail gets
            # the account's name only if there is such an account, else a keyed hash.
            who = (
                typed if outcome is not None and outcome.known else services.audit.pseudonym(typed)
            )
            details = {"failures": outcome.failures} if outcome is not None else {}
            if outcome is not None and outcome.just_locked:
                services.audit.record(
                    who, "account_locked", source=source, failures=outcome.failures,
                    seconds=round(outcome.locked_until - time.time()),
                )  # fmt: skip
            elif outcome is not None and outcome.locked_until:
                details["reason"] = "locked"
            services.audit.record(who, "sign_in_failed", source=source, **details)
            if outcome is not None and outcome.locked_until:
                st.error(
                    t(
                        "Too many failed attempts: try again in {minutes} minutes, or ask an administrator to unlock the account.",
                        minutes=max(1, round((outcome.locked_until - time.time()) / 60)),
                    )
                )
            else:
                st.error(t("Wrong user name or password, or the account is disabled."))
        else:
            services.audit.record(outcome.user.name, "sign_in", role=outcome.user.role)
            st.session_state["user"] = outcome.user
            start_session(outcome.user)  # survives a reload and a new tab (kb.sessions)
            st.rerun()
