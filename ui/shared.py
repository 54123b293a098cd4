"""Handles and small widgets every page shares: services, the signed-in user, role checks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from kb.access import Reader
from kb.config import Settings
from kb.render import cite, literal_markdown
from kb.services import Services, build_services
from kb.types import Citation, Step
from kb.users import User, UserNotFoundError
from ui.i18n import t

PAGES_BY_ROLE = {
    "agent": ("ask", "live", "onboarding"),
    "trainer": ("ask", "live", "onboarding"),
    "knowledge": ("ask", "live", "library", "rules", "insights"),
    "admin": ("ask", "live", "library", "rules", "onboarding", "insights", "admin"),
}


@st.cache_resource
def get_services() -> Services:
    """One set of services per server process: models and indexes load once, not per question."""
    return build_services(Settings())


def choose(label: str, values: Sequence[str], index: int = 0, where: Any = st) -> str:
    """A select box showing `values` in the interface language, returning the value itself.

    The options are the translated labels rather than a `format_func`, so the widget behaves
    the same in the browser and in AppTest (which cannot apply a format function)."""
    shown = {t(v): v for v in values}
    return shown[where.selectbox(label, list(shown), index=index)]


def done(message: str) -> None:
    """Rerun so every table shows the change just made, and say what happened at the top
    of the page on that rerun (see show_done)."""
    st.session_state["done_message"] = message
    st.rerun()


def show_done() -> None:
    if message := st.session_state.pop("done_message", None):
        st.success(message)


def current_user() -> User | None:
    """The signed-in user as the account store has them *now*: read on every run, so a
    disabled, deleted or demoted account loses its access at once, not at the next sign-in."""
    signed_in = st.session_state.get("user")
    if signed_in is None:
        return None
    services = get_services()
    try:
        user = services.users.get(signed_in.name) if services.users is not None else None
    except UserNotFoundError:
        user = None
    if user is None or user.disabled:
        st.session_state.pop("user", None)
        services.audit.record(signed_in.name, "sign_out", reason="account disabled or removed")
        return None
    if user != signed_in:
        st.session_state["user"] = user
    return user


def signed_in_with_provider() -> User | None:
    """With an OpenID Connect provider configured, the account the identity maps to.

    The provider proves who someone is; the local account list says their role and groups.
    An identity without an account stays signed out, and the sign-in page says why."""
    services = get_services()
    if (
        not services.settings.auth_provider
        or not st.user.get("is_logged_in")
        or services.users is None
    ):
        return None
    claims = st.user.to_dict()
    user = services.users.for_identity(claims)
    if user is None:
        st.session_state["unprovisioned"] = str(claims.get("email") or claims.get("sub"))
        return None
    services.audit.record(user.name, "sign_in", role=user.role, via=services.settings.auth_provider)
    st.session_state["user"] = user
    return user


def sign_out() -> None:
    user = st.session_state.pop("user", None)
    if user is not None:
        get_services().audit.record(user.name, "sign_out")
    if get_services().settings.auth_provider and st.user.get("is_logged_in"):
        st.logout()  # ends the provider's cookie too; reruns the app
    st.rerun()


def require(page: str) -> User:
    """Stop the page unless the signed-in user's role may see it (even when reached by URL)."""
    user = current_user()  # re-read from the account store on every run
    if user is None:
        st.error(t("Please sign in."))
        st.stop()
    if page not in PAGES_BY_ROLE.get(user.role, ()):
        get_services().audit.record(
            user.name, "sign_in_failed", page=page, reason="role not allowed"
        )
        st.error(t("Your role ({role}) cannot open this page.", role=t(user.role)))
        st.stop()
    return user


def reader_of(user: User) -> Reader:
    """What the services' read paths need to apply the access rule (kb.access) for `user`."""
    return Reader.of(user)


def as_text(content: str) -> str:
    """Content (document text, a title, an agent's question) as Markdown that shows it as
    text: no live link or fetched image from content, except links to the hosts the bank
    allows (KB_ALLOWED_LINK_HOSTS, none by default); see kb.render.literal_markdown."""
    hosts = get_services().settings.allowed_link_hosts.split(",")
    return literal_markdown(content, hosts)


def source_label(citation: Citation) -> str:
    """Where a passage comes from, in the interface language, as Markdown showing it as text
    (a title or section comes from the document)."""
    if st.session_state.get("language", "en") == "en":
        return literal_markdown(cite(citation))
    pages = f"，第 {','.join(map(str, citation.pages))} 页" if citation.pages else ""
    effective = f"，{citation.effective_date} 生效" if citation.effective_date else ""
    return literal_markdown(
        f"{citation.title} > {citation.section}{pages}"
        f"（v{citation.version}{effective}；{citation.source_name}）"
    )


def render_step(step: Step, checkbox_key: str | None = None) -> None:
    """One step of a procedure as the Ask and Live call pages show it: warnings and notes as
    call-outs, the rest numbered and indented by level; with `checkbox_key`, an ordinary step
    is a box the agent ticks off as they go."""
    text = as_text(step.text)
    label = f"{step.number}. {text}" if step.number else text  # a number or letter parsed
    indent = "\u2003" * (step.level - 1)
    if step.kind == "warning":
        st.warning(text)
    elif step.kind == "note":
        st.info(text)
    elif checkbox_key is not None:
        st.checkbox(indent + label, key=checkbox_key)
    else:
        st.markdown(indent + label)
