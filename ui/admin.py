"""Administrators: people, roles and groups; the audit trail with filters and CSV export."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from kb.audit import ACTIONS, events_csv
from kb.errors import KBError
from kb.users import ROLES
from ui.i18n import t
from ui.shared import choose, get_services, require

user = require("admin")
services = get_services()
assert services.users is not None
st.title(t("Admin"))

st.subheader(t("Users"))
st.dataframe(
    [
        {
            t("Name"): u.name,
            t("Role"): t(u.role),
            t("Groups"): ", ".join(u.groups),
            t("Disabled"): u.disabled,
            t("Locked out"): services.users.locked_until(u.name) is not None,
        }
        for u in services.users.list()
    ],
    hide_index=True,
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
    if st.button(t("Disable account")):
        services.users.set_disabled(target.name)
        services.audit.record(user.name, "user_change", change="disabled", user=target.name)
        st.success(t("Disabled {name}.", name=target.name))
    if services.users.locked_until(target.name) is not None:
        st.warning(t("{name} is locked out after failed sign-ins.", name=target.name))
        if st.button(t("Unlock account")):
            services.users.unlock(target.name)
            services.audit.record(user.name, "user_change", change="unlocked", user=target.name)
            st.success(t("Unlocked {name}.", name=target.name))

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
problems = services.audit.problems()
if not problems:
    st.caption(t("Audit trail intact."))
else:
    st.error(t("Audit trail broken at event {event}!", event=problems[0].event))
    for problem in problems:
        st.text(str(problem))
