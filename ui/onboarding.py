"""Placeholder while the page is being built (issue 6)."""

from __future__ import annotations

import streamlit as st

from ui.i18n import t
from ui.shared import require

require("onboarding")
st.title(t("Onboarding"))
