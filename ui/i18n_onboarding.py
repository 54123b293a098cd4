"""Chinese for the Onboarding page's labels (merged into ui.i18n.ZH)."""

from __future__ import annotations

ZH_ONBOARDING: dict[str, str] = {}
