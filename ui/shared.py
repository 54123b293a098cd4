"""Widgets and handles every page shares."""

from __future__ import annotations

import streamlit as st

from kb.config import Settings
from kb.services import Services, build_services


@st.cache_resource
def get_services() -> Services:
    """One set of services per server process: models and indexes load once."""
    return build_services(Settings())
