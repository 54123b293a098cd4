"""Mask customer data typed into a question before it is stored anywhere. Pure.

Agents paste what the customer says, card numbers and all. The question is still answered
from the full text (nothing is sent anywhere), but every stored copy (audit trail,
feedback, recent questions) gets the masked text. Checksums keep false alarms down: a
16-digit number is masked as a card only if it passes the Luhn check, an 18-character
Chinese resident ID only if its ISO 7064 check character is right; near misses fall through
to the broader account-number rule or stay as they are.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_CN_ID = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b")
_SORT_CODE_ACCOUNT = re.compile(r"\b\d{2}-\d{2}-\d{2}[ ,/]*\d{8}\b|\b\d{2}-\d{2}-\d{2}\b")
_PHONE = re.compile(
    r"(?<![\d+])(?:\+44\s?7\d{3}|07\d{3})\s?\d{3}\s?\d{3}(?!\d)"  # UK mobile
    r"|(?<![\d+])(?:\+44\s?|0)(?:1|2|3)\d{1,3}\s?\d{3,4}\s?\d{3,4}(?!\d)"  # UK landline
    r"|(?<![\d+])(?:\+86\s?)?1[3-9]\d{9}(?!\d)"  # mainland China mobile
    r"|(?<![\d+])(?:\+852\s?)?[5-9]\d{3}\s?\d{4}(?!\d)"  # Hong Kong
)
PLACEHOLDER = re.compile(r"\[(?:card|ID|account|phone|email)[^\]]*\]")
"""What `mask` puts in place of customer data; readers that analyse text skip it."""
_ACCOUNT = re.compile(r"(?<![\d*])\d{8,12}(?![\d*])")

_CN_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CN_CHECK = "10X98765432"


@dataclass(frozen=True)
class Masked:
    text: str
    found: tuple[tuple[str, int], ...]  # (kind, how many), for the audit trail's details

    @property
    def changed(self) -> bool:
        return bool(self.found)


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def chinese_id_valid(number: str) -> bool:
    """GB 11643: 17 digits weighted, mod 11, mapped to the check character; birth date sane."""
    body, check = number[:17], number[17].upper()
    if not body.isdigit():
        return False
    month, day = int(number[10:12]), int(number[12:14])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return False
    return _CN_CHECK[sum(int(d) * w for d, w in zip(body, _CN_WEIGHTS, strict=True)) % 11] == check


def _last4(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    return digits[-4:]


def mask(text: str) -> Masked:
    """The text with customer data replaced by labelled placeholders ("[card ****1234]")."""
    found: Counter[str] = Counter()

    def card(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            found["card"] += 1
            return f"[card ****{digits[-4:]}]"
        return match.group()

    def chinese_id(match: re.Match[str]) -> str:
        if chinese_id_valid(match.group()):
            found["id_number"] += 1
            return f"[ID ****{match.group()[-4:]}]"
        return match.group()

    def labelled(kind: str, label: str):  # type: ignore[no-untyped-def]
        def replace(match: re.Match[str]) -> str:
            found[kind] += 1
            return f"[{label} ****{_last4(match.group())}]" if kind != "email" else "[email]"

        return replace

    text = _EMAIL.sub(labelled("email", "email"), text)
    text = _CN_ID.sub(chinese_id, text)
    text = _CARD.sub(card, text)
    text = _IBAN.sub(labelled("account", "account"), text)
    text = _SORT_CODE_ACCOUNT.sub(labelled("account", "account"), text)
    text = _PHONE.sub(labelled("phone", "phone"), text)
    text = _ACCOUNT.sub(labelled("account", "account"), text)
    return Masked(text, tuple(sorted(found.items())))
