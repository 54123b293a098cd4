"""Administrators: people, roles and groups, each account's state (active, disabled, locked
out, demo, open sessions); disabling needs a second, explicit step and ends the account's
sessions at once; the audit trail with filters and CSV export."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from kb.audit import ACTIONS, AuditProblem, events_csv
from kb.errors import KBError
from kb.users import ROLES, User
from ui.i18n import t
from ui.shared import (
    as_text,
    choose,
    done,
    end_sessions_of,
    get_services,
    get_sessions,
    require,
    show_done,
)

user = require("admin")
services = get_services()
assert services.users is not None
st.title(t("Admin"))
show_done()

st.subheader(t("Users"))
demo = set(services.users.demo_accounts())
sessions = get_sessions()


def state_of(account: User) -> str:
    """An account's state in words: disabled, locked out (until when), or active."""
    if account.disabled:
        return t("disabled")
    locked = services.users.locked_until(account.name)
    if locked is not None:
        return t("locked out until {time}", time=clock(locked))
    return t("active")


def clock(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch).strftime("%H:%M:%S")


st.dataframe(
    [
        {
            t("Name"): u.name,
            t("Role"): t(u.role),
            t("Groups"): ", ".join(u.groups),
            t("State"): state_of(u),
            t("Demo account"): u.name in demo,
            t("Open sessions"): sessions.sessions_of(u.name),
        }
        for u in services.users.list()
    ],
    hide_index=True,
)
if demo:
    st.caption(
        t(
            "Demo accounts have random passwords shown once and are removed at start-up when KB_DEMO_USERS is off."
        )
    )
with st.form("add-user", clear_on_submit=True):
    name_column, role_column = st.columns(2)
    name = name_column.text_input(t("Name"))
    role = choose(t("Role"), ROLES, where=role_column)
    groups = st.text_input(t("Access groups (comma-separated)"))
    password = st.text_input(
        t("Initial password"),
        type="password",
        help=t(
            "At least 12 characters, not the user name, not a common password. Leave empty for an account that signs in only with the identity provider."
        ),
    )
    add = st.form_submit_button(t("Add user"))
if add and name.strip():
    try:
        # Empty: no password at all (identity-provider sign-in only), never an empty one.
        added = services.users.add(
            name.strip(),
            role,
            tuple(g.strip() for g in groups.split(",") if g.strip()),
            password or None,
        )
        services.audit.record(
            user.name,
            "user_change",
            change="added",
            user=added.name,
            role=added.role,
            password=bool(password),
        )
        st.success(t("Added {name}.", name=added.name))
    except KBError as e:  # for people: weak password, duplicate name, bad role
        st.error(str(e))
others = [u.name for u in services.users.list() if u.name != user.name]
if others:
    target = services.users.get(st.selectbox(t("Account"), others))
    st.markdown(
        t("**{name}**: {state}", name=as_text(target.name), state=state_of(target))
        + (t(" · demo account") if target.name in demo else "")
    )
    with st.form("edit-user"):
        new_role = choose(t("Role of this account"), ROLES, ROLES.index(target.role))
        new_groups = st.text_input(t("Groups of this account"), value=", ".join(target.groups))
        save = st.form_submit_button(t("Save account"))
    if save:
        groups_tuple = tuple(g.strip() for g in new_groups.split(",") if g.strip())
        services.users.update(target.name, role=new_role, groups=groups_tuple)
        services.audit.record(
            user.name,
            "user_change",
            change="role and groups",
            user=target.name,
            role=new_role,
            groups=list(groups_tuple),
        )
        st.success(t("Saved {name}.", name=target.name))
    if target.disabled:
        if st.button(t("Enable account")):
            services.users.set_disabled(target.name, False)
            services.audit.record(user.name, "user_change", change="enabled", user=target.name)
            done(t("Enabled {name}.", name=target.name))
    elif st.session_state.get("confirm_disable") != target.name:
        # Disabling signs a person out mid-call: a second, explicit step.
        if st.button(t("Disable account")):
            st.session_state["confirm_disable"] = target.name
            st.rerun()
    else:
        st.warning(
            t(
                "Disable {name}? They are signed out at once, on every device, and cannot sign in until an administrator enables the account again.",
                name=as_text(target.name),
            )
        )
        confirm, cancel = st.columns(2)
        if confirm.button(t("Yes, disable {name}", name=target.name), type="primary"):
            st.session_state.pop("confirm_disable", None)
            services.users.set_disabled(target.name)
            services.audit.record(user.name, "user_change", change="disabled", user=target.name)
            end_sessions_of(target.name)
            done(t("Disabled {name}.", name=target.name))
        if cancel.button(t("Cancel")):
            st.session_state.pop("confirm_disable", None)
            st.rerun()
    if services.users.locked_until(target.name) is not None:
        st.warning(
            t(
                "{name} is locked out after failed sign-ins until {time}.",
                name=as_text(target.name),
                time=clock(services.users.locked_until(target.name) or 0),
            )
        )
        if st.button(t("Unlock account")):
            services.users.unlock(target.name)
            services.audit.record(user.name, "user_change", change="unlocked", user=target.name)
            done(t("Unlocked {name}.", name=target.name))

st.subheader(t("Audit trail"))
who_column, action_column, since_column, until_column = st.columns(4)
who = who_column.text_input(t("User"))
action = action_column.selectbox(t("Action"), ["all", *ACTIONS])
since = since_column.date_input(t("From"), value=dt.date.today() - dt.timedelta(days=30))
until = until_column.date_input(t("To"), value=dt.date.today())
events = services.audit.events(
    who.strip() or None, None if action == "all" else action, since, until
)
st.dataframe(
    [
        {t("At"): e.at, t("User"): e.user, t("Action"): e.action, t("Details"): e.details}
        for e in events
    ],
    hide_index=True,
    width="stretch",
)
if st.download_button(t("Export CSV"), events_csv(events), file_name="audit.csv", mime="text/csv"):
    services.audit.record(user.name, "export", events=len(events))


def show_problems(problems: list[AuditProblem]) -> None:
    st.error(t("Audit trail broken at event {event}!", event=problems[0].event))
    for problem in problems:
        st.text(str(problem))


# The seal on every visit (a few reads); the whole trail only when asked: reading and hashing
# every event takes seconds at a million events, which every click here would wait for.
sealed = services.audit.seal_problems()
if sealed:
    show_problems(sealed)
else:
    st.caption(t("The seal matches the trail's last event."))
if st.button(t("Verify the whole trail"), key="verify-audit"):
    bar = st.progress(0.0, text=t("Verifying the audit trail..."))
    found = services.audit.problems(
        progress=lambda read, total: bar.progress(
            min(1.0, read / max(1, total)),
            text=t("Verified {read} of {total} events", read=f"{read:,}", total=f"{total:,}"),
        )
    )
    bar.empty()
    st.session_state["audit-verified"] = (dt.datetime.now().strftime("%H:%M"), found)
if "audit-verified" in st.session_state:
    at, found = st.session_state["audit-verified"]
    if found:
        show_problems(found)
    else:
        st.caption(t("Audit trail intact (every event verified at {at}).", at=at))
