"""Handles and small widgets every page shares: services, the signed-in user, role checks."""

from __future__ import annotations

import streamlit as st

from kb.config import Settings
from kb.services import Services, build_services
from kb.users import User

PAGES_BY_ROLE = {
    "agent": ("ask",),
    "trainer": ("ask",),
    "knowledge": ("ask", "library"),
    "admin": ("ask", "library", "admin"),
}


@st.cache_resource
def get_services() -> Services:
    """One set of services per server process: models and indexes load once, not per question."""
    return build_services(Settings())


def current_user() -> User | None:
    return st.session_state.get("user")


def require(page: str) -> User:
    """Stop the page unless the signed-in user's role may see it (even when reached by URL)."""
    user = current_user()
    if user is None:
        st.error("Please sign in.")
        st.stop()
    if page not in PAGES_BY_ROLE.get(user.role, ()):
        get_services().audit.record(
            user.name, "sign_in_failed", page=page, reason="role not allowed"
        )
        st.error(f"Your role ({user.role}) cannot open this page.")
        st.stop()
    return user
