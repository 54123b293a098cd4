"""Step numbering as banks write it, in English and Chinese. Pure.

Shared by the chunker (to keep a procedure together) and the answer module (to show the steps
of a procedure in order), so both agree on what a step is.
"""

from __future__ import annotations

import re

_CHINESE_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8}
_CHINESE_DIGITS |= {"九": 9, "〇": 0, "零": 0}
_CN_NUMBER = "[一二两三四五六七八九十〇零]{1,3}"


def _chinese_number(numeral: str) -> int | None:
    """Value of a Chinese numeral up to 99 (一, 十, 十二, 二十, 二十三); None if not one."""
    if "十" not in numeral:
        if len(numeral) != 1:
            return None
        return _CHINESE_DIGITS.get(numeral)
    tens, _, units = numeral.partition("十")
    if "十" in units:
        return None
    tens_value = _CHINESE_DIGITS.get(tens, 0) if tens else 1
    units_value = _CHINESE_DIGITS.get(units, 0) if units else 0
    if (tens and tens not in _CHINESE_DIGITS) or (units and units not in _CHINESE_DIGITS):
        return None
    return tens_value * 10 + units_value


def _number(token: str) -> int | None:
    if token.isdigit():
        return int(token)
    return _chinese_number(token)


# Explicit step words: the only numbering that makes a plain paragraph (TEXT block) a step on
# its own. "1." at the start of a paragraph is as often a numbered policy clause as a step.
_EXPLICIT_STEP_PATTERNS = (
    re.compile(r"^step\s*(\d{1,3})\b\s*[:：.)、\-–—]?\s*", re.IGNORECASE),
    re.compile(rf"^第\s*(\d{{1,3}}|{_CN_NUMBER})\s*步\s*[:：、.．,，]?\s*"),
)
_LIST_STEP_PATTERNS = (
    re.compile(r"^[(（]\s*(\d{1,3})\s*[)）]\s*"),  # (3) （3）
    re.compile(rf"^[(（]\s*({_CN_NUMBER})\s*[)）]\s*"),  # （三）
    re.compile(r"^(\d{1,3})\s*(?:[.．](?!\d)|[)）、])\s*"),  # 1.  2)  3、  (not 2.5%)
    re.compile(rf"^({_CN_NUMBER})\s*[、.．]\s*"),  # 一、
)
_CIRCLED = (("\u2460", "\u2473"), ("\u2474", "\u2487"), ("\u2488", "\u249b"))  # ① ⑴ ⒈


def _parse(text: str, patterns: tuple[re.Pattern[str], ...]) -> tuple[int | None, str]:
    stripped = text.strip()
    for pattern in patterns:
        match = pattern.match(stripped)
        if match:
            number = _number(match.group(1))
            if number is not None:
                return number, stripped[match.end() :].strip()
    if stripped:
        for first, last in _CIRCLED:
            if first <= stripped[0] <= last:
                return ord(stripped[0]) - ord(first) + 1, stripped[1:].strip()
    return None, stripped


def parse_step_number(text: str) -> tuple[int | None, str]:
    """Split a leading step number off a line: "3. Freeze the card" -> (3, "Freeze the card").

    Understands "1." "2)" "(3)" "（3）" "3、" "Step 4:" "第1步" "第三步" "一、" "（二）" "①".
    A decimal ("2.5% fee") is not a number label. Returns (None, stripped text) otherwise.
    """
    number, rest = _parse(text, _EXPLICIT_STEP_PATTERNS)
    if number is not None:
        return number, rest
    return _parse(text, _LIST_STEP_PATTERNS)


def is_step(text: str) -> bool:
    """True when `text` starts with step numbering (see parse_step_number)."""
    return parse_step_number(text)[0] is not None


def has_explicit_step_word(text: str) -> bool:
    """True for "Step 4: ..." and "第四步：...": numbering that makes even a paragraph a step."""
    return _parse(text, _EXPLICIT_STEP_PATTERNS)[0] is not None


NOTE_LABEL = re.compile(r"^(?:note|warning|important|caution|注意|警告|重要|提示)\s*[:：]", re.I)
"""A line that starts a note or warning ("Note:", "注意："): its own paragraph, never a step."""
