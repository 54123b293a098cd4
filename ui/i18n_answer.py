"""Chinese for the Ask page's answer card and the original viewer, merged into ui.i18n.ZH.

Kept apart like ui.i18n_live, so pages built at the same time do not edit the same lines.
"""

from __future__ import annotations

ZH_ANSWER: dict[str, str] = {}
