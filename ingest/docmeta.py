"""Find the facts a policy document states about itself: effective date, expiry, owner.

Banks write these in a header block ("Document owner: Card Services | Effective date:
2025-03-01") or in Chinese ("生效日期：2025年3月1日"). What the knowledge team gives at
upload wins over what is found here; this only fills the gaps.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

_MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        1,
    )
    for m in names
}

_DATE = (
    r"(\d{4}-\d{1,2}-\d{1,2}|\d{4}/\d{1,2}/\d{1,2}|\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日"
    r"|\d{1,2}/\d{1,2}/\d{4}|\d{1,2}\s+[A-Za-z]{3,9}\.?\s+\d{4}|[A-Za-z]{3,9}\.?\s+\d{1,2},?\s+\d{4})"
)
_SEP = r"\s*[:：|｜]?\s*"
_EFFECTIVE = re.compile(
    rf"(?:effective(?:\s+date|\s+from)?|in\s+force\s+from|生效日期|生效日|實施日期|实施日期){_SEP}{_DATE}",
    re.I,
)
_EXPIRY = re.compile(
    rf"(?:expiry\s+date|expiration\s+date|expires(?:\s+on)?|valid\s+until|失效日期|到期日期|有效期至){_SEP}{_DATE}",
    re.I,
)
_OWNER = re.compile(
    r"(?:document\s+owner|policy\s+owner|owner|文件负责部门|文件負責部門|负责部门|負責部門)\s*[:：|｜]\s*"
    r"([^|｜\n;；]{2,80})",
    re.I,
)


@dataclass(frozen=True)
class StatedFacts:
    effective_date: dt.date | None = None
    expiry_date: dt.date | None = None
    owner: str | None = None


def parse_date(text: str) -> dt.date | None:
    """Parse the date formats banks write; day-first for slashed dates (UK and HK usage)."""
    text = text.strip().rstrip(".")
    try:
        if m := re.fullmatch(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})", text):
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        if m := re.fullmatch(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日", text):
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        if m := re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text):
            return dt.date(int(m[3]), int(m[2]), int(m[1]))
        if m := re.fullmatch(r"(\d{1,2})\s+([A-Za-z]{3,9})\.?\s+(\d{4})", text):
            month = _MONTHS.get(m[2].lower())
            return dt.date(int(m[3]), month, int(m[1])) if month else None
        if m := re.fullmatch(r"([A-Za-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})", text):
            month = _MONTHS.get(m[1].lower())
            return dt.date(int(m[3]), month, int(m[2])) if month else None
    except ValueError:
        return None
    return None


def find_stated_facts(texts: Iterable[str], look_at: int = 20) -> StatedFacts:
    """Search the first `look_at` text pieces (the header area) for dates and the owner."""
    effective = expiry = None
    owner = None
    for i, text in enumerate(texts):
        if i >= look_at:
            break
        if effective is None and (m := _EFFECTIVE.search(text)):
            effective = parse_date(m.group(1))
        if expiry is None and (m := _EXPIRY.search(text)):
            expiry = parse_date(m.group(1))
        if owner is None and (m := _OWNER.search(text)):
            owner = m.group(1).strip(" .")
    return StatedFacts(effective, expiry, owner)
