"""Handles and small widgets every page shares: services, the signed-in user and their
server-side session (kb.sessions), role checks."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import streamlit as st

from kb.access import Reader
from kb.config import Settings
from kb.pii import mask
from kb.plain import PlainError, from_plain, to_plain
from kb.render import cite, literal_markdown
from kb.services import Services, build_services, warm_up_in_background
from kb.sessions import ACCOUNT_DISABLED, SIGN_OUT, Lookup, SessionStore
from kb.types import Answer, Citation, Step, Turn
from kb.users import User, UserNotFoundError
from ui.i18n import LANGUAGES, t

logger = logging.getLogger(__name__)

PAGES_BY_ROLE = {
    "agent": ("ask", "live", "onboarding"),
    "trainer": ("ask", "live", "onboarding"),
    "knowledge": ("ask", "live", "library", "rules", "insights"),
    "admin": ("ask", "live", "library", "rules", "onboarding", "insights", "admin"),
}


@st.cache_resource
def get_services() -> Services:
    """One set of services per server process: models and indexes load once, not per
    question; the embedding model starts loading at once, in the background."""
    services = build_services(Settings())
    warm_up_in_background(services)
    return services


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
        end_sessions_of(signed_in.name)
        _forget_session()
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
    start_session(user)
    return user


def sign_out() -> None:
    """End the session on the server and in this tab; the browser's cookie is cleared by the
    next run (session_cookie) and already on the click (see _COOKIE_SCRIPT)."""
    user = st.session_state.pop("user", None)
    token = st.session_state.get(SESSION_TOKEN)
    if token is not None and get_sessions().end(token) is not None and user is not None:
        get_services().audit.record(user.name, "session_end", reason=SIGN_OUT)
    if user is not None:
        get_services().audit.record(user.name, "sign_out")
    _forget_session()
    if get_services().settings.auth_provider and st.user.get("is_logged_in"):
        st.logout()  # ends the provider's cookie too; reruns the app
    st.rerun()


# ---------------------------------------------------------------------- sessions (kb.sessions)

SESSION_COOKIE = "answerdesk_session"
"""The cookie that carries the session token: SameSite=Strict, Path=/, expiring with the
session's absolute end. Never in a URL. Streamlit cannot set HttpOnly cookies, so a script on
the page sets it (session_cookie)."""

_TOKEN_CHARACTERS = re.compile(r"[A-Za-z0-9_-]{20,100}")
"""What secrets.token_urlsafe gives: anything else from a cookie is ignored (and never put
into a script)."""

SESSION_TOKEN = "session_token"
CALL_KEYS = ("history", "answer", "answered", "live_call")
"""The session_state keys of the call on screen that a reload must not lose: the Ask page's
turns, answer and answer count (ui/ask.py), the Live call page's call id (ui/live.py)."""
_PRIVATE_KEYS = (*CALL_KEYS, "live_summary", "live_pinned", "feedback-reason")


@st.cache_resource
def _session_store(path: str, idle_minutes: float, max_hours: float) -> SessionStore:
    return SessionStore(Path(path), idle_minutes * 60, max_hours * 3600)


def get_sessions() -> SessionStore:
    """The session store of the knowledge base being served (one per server process)."""
    settings = get_services().settings
    return _session_store(
        str(settings.sessions_path), settings.session_idle_minutes, settings.session_max_hours
    )


def start_session(user: User) -> None:
    """A new server-side session for `user`, just signed in: its token goes into this tab's
    state and, on the next run, into the browser's cookie. Sessions nobody came back to are
    swept (and audited) on the way."""
    sessions, audit = get_sessions(), get_services().audit
    for ended in sessions.sweep():
        audit.record(ended.user, "session_end", reason=ended.reason)
    token, session = sessions.start(user.name)
    st.session_state[SESSION_TOKEN] = token
    st.session_state["session_expires"] = session.expires_at
    st.session_state.pop("session_ended", None)
    audit.record(user.name, "session_start", idle_minutes=sessions.idle_seconds / 60)
    save_session()


def end_sessions_of(name: str, reason: str = ACCOUNT_DISABLED) -> int:
    """End every session of account `name` (disabled or removed), audited."""
    ended = get_sessions().end_user(name)
    if ended:
        get_services().audit.record(name, "session_end", reason=reason, sessions=ended)
    return ended


def _forget_session() -> None:
    """This tab is signed out: drop its token and the call on screen (the next person at
    this browser must not see it)."""
    for key in (SESSION_TOKEN, "session_expires", "session_saved", *_PRIVATE_KEYS):
        st.session_state.pop(key, None)


def _ran_out(lookup: Lookup) -> None:
    """A session that ended by itself (idle or past its maximum): audited, and the sign-in
    page says why."""
    if lookup.ended is not None and lookup.user is not None:
        get_services().audit.record(lookup.user, "session_end", reason=lookup.ended)
        st.session_state["session_ended"] = lookup.ended
        if get_services().settings.auth_provider and st.user.get("is_logged_in"):
            st.logout()  # else the provider's sign-in would open a new session at once


def resume_session() -> None:
    """At the start of every run: keep this tab's session alive, or end the tab's sign-in if
    the session has ended (signed out in another tab, idle, expired); in a tab without a
    signed-in user (a reload, a new tab), sign in again from the browser's session cookie,
    with the account re-read and the saved call and language restored."""
    state = st.session_state
    sessions = get_sessions()
    token = state.get(SESSION_TOKEN)
    if token is not None:
        lookup = sessions.touch(token)
        if lookup.session is None:
            _ran_out(lookup)
            state.pop("user", None)
            _forget_session()
        return
    if state.get("user") is not None:
        return  # signed in without a session yet (start_session comes with the navigation)
    cookie = sent_token()
    if not cookie:
        return
    lookup = sessions.touch(cookie)
    if lookup.session is None:
        _ran_out(lookup)
        return
    services = get_services()
    try:
        user = services.users.get(lookup.session.user) if services.users is not None else None
    except UserNotFoundError:
        user = None
    if user is None or user.disabled:
        end_sessions_of(lookup.session.user)
        return
    state["user"] = user
    state[SESSION_TOKEN] = cookie
    state["session_expires"] = lookup.session.expires_at
    restore_call(lookup.session.state)
    state["session_saved"] = lookup.session.state


KEEP_ALIVE_SECONDS = 30.0


def keep_alive(now: float | None = None) -> bool:
    """Count a live call being followed as activity: the Live call page's fragment reruns
    every few seconds without running app.py (where `resume_session` touches the session),
    so an agent who only watches a call's transcript for half an hour would otherwise be
    signed out at their next click. Touches at most every KEEP_ALIVE_SECONDS; False when the
    session has ended meanwhile (signed out elsewhere, expired), and the tab is signed out."""
    state = st.session_state
    token = state.get(SESSION_TOKEN)
    if token is None:
        return True
    now = time.time() if now is None else now
    if now - state.get("session_touched", 0.0) < KEEP_ALIVE_SECONDS:
        return True
    lookup = get_sessions().touch(token)
    if lookup.session is None:
        _ran_out(lookup)
        state.pop("user", None)
        _forget_session()
        return False
    state["session_touched"] = now
    state["session_expires"] = lookup.session.expires_at
    return True


def sent_token() -> str:
    """The session token the browser sent with this tab's connection (its cookie when the
    page was loaded), or "" if none or not the shape of one."""
    value = st.context.cookies.get(SESSION_COOKIE)
    return value if isinstance(value, str) and _TOKEN_CHARACTERS.fullmatch(value) else ""


def ensure_session(user: User) -> None:
    """A signed-in user without a session (set by a test, or from before sessions) gets one."""
    if SESSION_TOKEN not in st.session_state:
        start_session(user)


def saved_call() -> dict[str, Any]:
    """What of this tab a reload must bring back, as JSON values: the language and the call
    on screen. Customer data in the agent's questions is masked (kb.pii) before it is kept:
    the restored call shows the masked question."""
    state = st.session_state
    saved: dict[str, Any] = {"language": state.get("language", "en")}
    history = state.get("history")
    if history:
        saved["history"] = [
            to_plain(Turn(turn.role, mask(turn.text).text if turn.role == "user" else turn.text))
            for turn in history
        ]
    answer = state.get("answer")
    if isinstance(answer, Answer):
        saved["answer"] = to_plain(
            replace(
                answer,
                question=mask(answer.question).text,
                resolved_question=mask(answer.resolved_question).text,
            )
        )
    if isinstance(state.get("answered"), int):
        saved["answered"] = state["answered"]
    if isinstance(state.get("live_call"), str):
        saved["live_call"] = state["live_call"]
    return saved


def restore_call(saved: dict[str, Any]) -> None:
    """Put a saved call (saved_call) back into this tab's state; what no longer fits the
    records (an older form of an answer) is left out rather than shown wrong."""
    state = st.session_state
    if saved.get("language") in LANGUAGES:
        state["language"] = saved["language"]
    try:
        state["history"] = [from_plain(Turn, turn) for turn in saved.get("history", [])]
        if saved.get("answer") is not None:
            state["answer"] = from_plain(Answer, saved["answer"])
    except PlainError:
        logger.warning("a saved call did not fit the current records; not restored")
    if isinstance(saved.get("answered"), int):
        state["answered"] = saved["answered"]
    if isinstance(saved.get("live_call"), str):
        state["live_call"] = saved["live_call"]


def save_session() -> None:
    """Keep this tab's call and language with its session (when they changed)."""
    token = st.session_state.get(SESSION_TOKEN)
    if token is None:
        return
    try:
        saved = saved_call()
    except PlainError:
        logger.warning("the call on screen could not be saved with the session")
        return
    if saved != st.session_state.get("session_saved"):
        get_sessions().save_state(token, saved)
        st.session_state["session_saved"] = saved


_COOKIE_SCRIPT = """<script>
(function () {
  var name = "%(name)s", value = "%(value)s";
  var base = "; Path=/; SameSite=Strict" + (location.protocol === "https:" ? "; Secure" : "");
  if (value) {
    document.cookie = name + "=" + value + base + "; Max-Age=%(max_age)d";
  } else if (document.cookie.split("; ").indexOf(name + "=" + "%(stale)s") >= 0) {
    document.cookie = name + "=" + base + "; Max-Age=0";
  }
  if (!window.answerdeskSignOut) {
    window.answerdeskSignOut = true;
    document.addEventListener("click", function (event) {
      if (event.target.closest && event.target.closest(".st-key-sign-out")) {
        document.cookie = name + "=" + base + "; Max-Age=0";
      }
    }, true);
  }
})();
</script>"""


def session_cookie() -> None:
    """Bring the browser's cookie in line with this tab: set it to the session's token after
    a sign-in; clear it once signed out (only if it still holds the ended token, so another
    tab's newer session is kept). The Sign out button clears it on the click itself, so a page
    loaded right after never sends it. Drawn while signed in (for that click), and when
    signed out while the browser may still hold an ended token."""
    sent = sent_token()
    token = st.session_state.get(SESSION_TOKEN, "")
    if not token and not sent:
        return
    max_age = max(0, int(st.session_state.get("session_expires", 0) - time.time()))
    script = _COOKIE_SCRIPT % {
        "name": SESSION_COOKIE,
        "value": token if _TOKEN_CHARACTERS.fullmatch(token) else "",
        "stale": sent,
        "max_age": max_age,
    }
    with st.sidebar, st.container(key="session-cookie", height=1, border=False):
        st.html(script, unsafe_allow_javascript=True)


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
