"""Mask customer data typed into a question before it is stored anywhere. Pure.

Agents paste what the customer says, card numbers and all. The question is still answered
from the full text (nothing is sent anywhere), but every stored copy (audit trail,
feedback, recent questions, call transcripts) gets the masked text.

What is masked, in this order, and what takes its place (FORMATS holds the same list):

====================  ===================================================  =====================
kind                  written as (any of these, in English or Chinese text) placeholder
====================  ===================================================  =====================
email                 jane.doe@example.co.uk                                [email]
email (obfuscated)    john.smith(at)example.com, john [at] example [dot]    [email]
                      com, john dot smith at example dot com
birth_date            a date after DOB, D.O.B., date of birth, born (on),    [date of birth]
                      birthday, 出生日期, 生日: 14/03/1985, 14-03-85,
                      1985-03-14, 14 March 1985, March 14, 1985,
                      1985年3月14日
id_number             Chinese resident ID: 18 characters (check character   [ID ****002X]
                      right or wrong) or the older 15 digits, with a
                      plausible birth date; spaces or dashes between the
                      region, the birth date and the rest
card                  13 to 19 digits passing the Luhn check, together or   [card ****6467]
                      in groups of 3 to 6 separated by spaces (also double
                      or non-breaking), dashes, dots or slashes
account               IBAN; UK sort code with or without an account number  [account ****5678]
phone                 UK mobile and landline; mainland China mobile         [phone ****5678]
                      (1[3-9]x, +86/0086, spaces or dashes); Hong Kong;
                      US ((555) 123-4567, 555.123.4567, +1 555 123 4567)
secret                the value after password, passcode, passphrase, PIN,  [secret]
                      OTP, one-time code, verification code, CVV/CVC,
                      security code, memorable word, 密码/密碼, 口令,
                      验证码/驗證碼, 动态码/動態碼, 安全码/安全碼, PIN码
account               any other run of 8 to 12 digits                        [account ****6819]
====================  ===================================================  =====================

A date is a date of birth only after a label that says so; every other date is content.
Checksums and shapes keep false alarms down: a card must pass the Luhn check; an ID must have
a region code and a real month and day where the birth date goes (its check character may be
wrong: a typo in an ID is still the customer's ID). A secret is masked only when a value
follows its word: "PIN 4821", "password is Hunter2!" and "密码是abc123" are masked, "how do
I reset a password?", "the PIN is blocked" and "客户忘记密码怎么办" are not. For words that
name numbers (PIN, OTP, CVV, codes) the value must hold a digit; for passwords and memorable
words a plain word counts after "is", ":" or "是", unless it describes the password ("is
wrong", "is expired"). The word stays, so the stored question still says what was given.

Masking is idempotent: masked text comes back unchanged (placeholders are never re-masked).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

PLACEHOLDER = re.compile(r"\[(?:card|ID|account|phone|email|secret|date of birth)[^\]]*\]")
"""What `mask` puts in place of customer data; readers that analyse text skip it."""

SECRET = "[secret]"
BIRTH_DATE = "[date of birth]"

FORMATS: tuple[tuple[str, str, str], ...] = (
    ("email", "jane.doe@example.co.uk, john.smith(at)example.com", "[email]"),
    (
        "birth_date",
        "DOB 14/03/1985, date of birth 14 March 1985, 出生日期1985年3月14日",
        BIRTH_DATE,
    ),
    ("id_number", "11010519491231002X, 110105491231002", "[ID ****002X]"),
    ("card", "4539 1488 0343 6467, 4539.1488.0343.6467, 4539/1488/0343/6467", "[card ****6467]"),
    ("account", "GB33BUKB20201555555555, 12-34-56 12345678", "[account ****5678]"),
    ("phone", "07700 900123, +86 138 1234 5678, (555) 123-4567", "[phone ****5678]"),
    ("secret", "password is Hunter2!, PIN 4821, 验证码884213", "[secret]"),
    ("account", "31926819", "[account ****6819]"),
)
"""(kind, examples, placeholder) for every format `mask` knows, in the order it applies them."""

# ----------------------------------------------------------------------------- patterns

_SPACE = r"[ \u00a0\u2007\u202f]"  # ordinary, non-breaking, figure and narrow spaces
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}(?![A-Za-z0-9])"
)

_AT = (
    r"(?P<at>\s*(?:\(\s*(?:at|@)\s*\)|\[\s*(?:at|@)\s*\]|\{\s*(?:at|@)\s*\}|<\s*(?:at|@)\s*>)\s*"
    r"|\s+at\s+|@)"
)
_DOT = r"(?:\s*(?:\(\s*dot\s*\)|\[\s*dot\s*\]|\{\s*dot\s*\}|<\s*dot\s*>)\s*|\s+dot\s+|\.)"
_TLD = (
    r"(?:com|net|org|edu|gov|info|biz|io|co|uk|cn|hk|mo|tw|sg|us|me|de|fr|jp|au|ca|in|eu|"
    r"ie|nl|email|mail)"
)
_LABEL = r"[A-Za-z0-9_%+-]+"
_OBFUSCATED_EMAIL = re.compile(
    rf"(?<![A-Za-z0-9._%+-])(?P<local>{_LABEL}(?:{_DOT}{_LABEL}){{0,5}}){_AT}"
    rf"(?P<domain>[A-Za-z0-9-]+(?:{_DOT}[A-Za-z0-9-]+){{0,4}}{_DOT}{_TLD})(?![A-Za-z0-9])",
    re.IGNORECASE,
)

_DATE8 = r"(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
_DATE6 = r"\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
_ID_SEP = rf"(?:{_SPACE}|-)?"
_CN_ID = re.compile(
    rf"(?<!\d)[1-9]\d{{5}}{_ID_SEP}{_DATE8}{_ID_SEP}\d{{3}}[\dXx](?![\dA-Za-z])"
    rf"|(?<!\d)[1-9]\d{{5}}{_ID_SEP}{_DATE6}{_ID_SEP}\d{{3}}(?![\dA-Za-z])"
)

_CARD_SEP = rf"(?:{_SPACE}|[\t./-]){{1,3}}"
_CARD = re.compile(rf"(?<!\d)(?:\d{{13,19}}|\d{{3,6}}(?:{_CARD_SEP}\d{{3,6}}){{1,6}})(?!\d)")
_DIGIT_GROUP = re.compile(r"\d+")

_IBAN = re.compile(
    r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])"
)
_SORT_CODE_ACCOUNT = re.compile(
    r"(?<![\d-])\d{2}-\d{2}-\d{2}[ ,/]*\d{8}(?!\d)|(?<![\d-])\d{2}-\d{2}-\d{2}(?![\d-])"
)

_PS = rf"(?:{_SPACE}|-)?"  # one optional space or dash inside a phone number
_US_PS = rf"(?:{_SPACE}|[.-])?"
_PHONE = re.compile(
    r"(?<![\d+])(?:\+44\s?7\d{3}|07\d{3})\s?\d{3}\s?\d{3}(?!\d)"  # UK mobile
    r"|(?<![\d+])(?:\+44\s?|0)(?:1|2|3)\d{1,3}\s?\d{3,4}\s?\d{3,4}(?!\d)"  # UK landline
    # mainland China mobile: 138 1234 5678, +86 138-1234-5678, 0086 13812345678, (+86)...
    rf"|(?<![\d+])(?:(?:\((?:\+|00)86\)|(?:\+|00)86){_PS})?1[3-9]\d(?:{_PS}\d{{4}}){{2}}(?!\d)"
    # US: (555) 123-4567, 555.123.4567, 555-123-4567, +1 555 123 4567, 1-555-123-4567
    rf"|(?<![\d+])(?:\+1{_US_PS}|1[ .-])?(?:\([2-9]\d{{2}}\){_SPACE}?|[2-9]\d{{2}}{_US_PS})"
    rf"\d{{3}}{_US_PS}\d{{4}}(?!\d)"
    r"|(?<![\d+])(?:\+852\s?)?[5-9]\d{3}\s?\d{4}(?!\d)"  # Hong Kong
)
_ACCOUNT = re.compile(r"(?<![\d*])\d{8,12}(?![\d*])")
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_BIRTH_DATE = re.compile(
    r"(?P<label>(?<![A-Za-z])(?:d\.?\s?o\.?\s?b\.?|date\s+of\s+birth|birth\s?date|birthday"
    r"|born(?:\s+on)?)(?![A-Za-z])|出生日期|出生年月日|出生于|出生於|生日)"
    r"(?P<gap>\s*(?:is|was)?\s*[:：=]?\s*(?:是|为|為)?\s*)"
    r"(?P<date>\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})(?!\d)"
    r"|\d{4}[/.-]\d{1,2}[/.-]\d{1,2}(?!\d)"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+\d{{4}}"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    r"|\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*[日号號]?)",
    re.IGNORECASE,
)
"""A date of birth, only where a label says it is one: other dates are content ("a payment
sent on 14/03/2026", "in force on 2027-02-01")."""

# Secrets: a word that names one, then (maybe) "is" / ":" / "是", then the value.
_NUMERIC_SECRETS = (
    r"pin(?:\s*(?:number|code|码|碼))?|otp(?:\s*code)?|one[\s-]?time\s*(?:pass)?(?:code|pin)"
    r"|verification\s*code|auth(?:entication)?\s*code|cvv2?|cvc2?|cv2|security\s*code"
    r"|验证码|驗證碼|动态码|動態碼|安全码|安全碼|校验码|校驗碼|短信码|短信碼"
)
_WORD_SECRETS = (
    r"one[\s-]?time\s*password|passwords?|passcodes?|pass\s+code|passphrase|pass\s+phrase"
    r"|memorable\s*(?:word|information|answer|phrase|date)|密码|密碼|口令"
)
_SECRET_WORD = re.compile(
    rf"(?<![A-Za-z])(?:(?P<word>{_WORD_SECRETS})|(?P<numeric>{_NUMERIC_SECRETS}))(?![A-Za-z])",
    re.IGNORECASE,
)
_CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff01-\uff20"
_SECRET_VALUE = re.compile(
    r"(?P<connector>(?:\s*(?:(?:is|was|are|were|'s|’s)(?=[\s:：=])|=|:|：|是|为|為|就是))*)"
    r"\s*(?:"
    r"(?P<quoted>[\"'“‘「『][^\"'”’」』\n]{1,100}[\"'”’」』])"
    rf"|(?P<digits>\d+(?:[ -]\d+)*(?![^\s{_CJK}]))"
    rf"|(?P<token>[^\s{_CJK}]{{1,128}})"
    r")",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?)]}'\"”’"
_OPENING = "([{<（【「『"
_RANGE = re.compile(r"\d{1,2}\s?-\s?\d{1,2}")  # "8-20 characters" is a rule, not a value
# Words that say something about a password rather than being one ("the password is wrong").
_DESCRIBING = frozenset(
    {
        "a", "an", "the", "not", "no", "never", "too", "very", "so", "also", "only", "just",
        "still", "now", "already", "always", "usually", "wrong", "incorrect", "correct", "right",
        "valid", "invalid", "ok", "okay", "fine", "same", "different", "new", "old", "weak",
        "strong", "long", "short", "empty", "blank", "unknown", "required", "mandatory",
        "optional", "needed", "necessary", "sensitive", "secure", "insecure", "safe", "unsafe",
        "temporary", "case", "case-sensitive", "compromised", "lost", "stolen", "forgotten",
        "missing", "expired", "locked", "blocked", "disabled", "enabled", "reset", "changed",
        "set", "sent", "being", "been", "for", "in", "on", "at", "of", "to", "by", "with", "from",
        "and", "or", "but", "if", "what", "which", "how", "when", "where", "why", "who", "that",
        "this", "it", "its", "his", "her", "their", "my", "your", "our", "there", "here", "due",
        "about", "more", "less", "probably", "definitely", "likely", "unlikely", "really", "quite",
    }
)  # fmt: skip


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


_CN_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CN_CHECK = "10X98765432"


def chinese_id_check_character(body: str) -> str:
    """GB 11643's check character for the first 17 digits of a resident ID."""
    return _CN_CHECK[sum(int(d) * w for d, w in zip(body, _CN_WEIGHTS, strict=True)) % 11]


def chinese_id_valid(number: str) -> bool:
    """GB 11643: 17 digits weighted, mod 11, mapped to the check character; birth date sane.

    `mask` masks IDs whose check character is wrong as well; this says whether it is right."""
    body, check = number[:17], number[17].upper()
    if not body.isdigit():
        return False
    month, day = int(number[10:12]), int(number[12:14])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return False
    return chinese_id_check_character(body) == check


def _last4(value: str) -> str:
    return re.sub(r"\D", "", value)[-4:]


def id_is_card(written: str) -> bool:
    """A resident-ID-shaped number that is a card: Luhn-valid, and not an 18-character ID
    whose check character is right (IDs of 15 digits have none)."""
    digits = re.sub(r"[^0-9Xx]", "", written)
    if not digits.isdigit() or not luhn_valid(digits):
        return False
    return len(digits) == 15 or not chinese_id_valid(digits)


def _secret_value(text: str, start: int, numeric: bool) -> tuple[int, int] | None:
    """Where the secret value after a secret's word (ending at `start`) is, if there is one."""
    found = _SECRET_VALUE.match(text, start)
    if found is None:
        return None
    connected = bool(found.group("connector").strip())
    if found.group("quoted"):
        return found.span("quoted")
    if found.group("digits"):
        digits = re.sub(r"\D", "", found.group("digits"))
        if len(digits) >= 3 and not _RANGE.fullmatch(found.group("digits")):
            return found.span("digits")
        return None
    value_start, value_end = found.span("token")
    value = found.group("token")
    stripped = value.rstrip(_TRAILING)
    value_end -= len(value) - len(stripped)
    value = stripped
    if not any(c.isalnum() for c in value) or value[0] in _OPENING or PLACEHOLDER.search(value):
        return None  # "passcode | Balances", "password (8-20 characters)", "PIN [secret]"
    has_digit = any(c.isdigit() for c in value)
    if numeric:
        return (value_start, value_end) if has_digit else None
    plain_word = value.replace("-", "").replace("'", "").isalpha()
    if not plain_word:  # Hunter2!Secret, hunter2, ABCdef, p@ss
        return (value_start, value_end)
    lowered = value.lower()
    describing = lowered in _DESCRIBING or lowered.endswith(("ed", "ing", "ly"))
    return (value_start, value_end) if connected and not describing else None


def _mask_secrets(text: str, found: Counter[str]) -> str:
    spans: list[tuple[int, int]] = []
    position = 0
    while True:
        word = _SECRET_WORD.search(text, position)
        if word is None:
            break
        span = _secret_value(text, word.end(), numeric=word.group("numeric") is not None)
        if span is None:
            position = word.end()
            continue
        spans.append(span)
        position = span[1]
    for start, end in reversed(spans):
        text = text[:start] + SECRET + text[end:]
    found["secret"] += len(spans)
    return text


def _mask_card(match: re.Match[str], found: Counter[str]) -> str:
    """The longest run of whole digit groups inside the match that is a card (13 to 19
    digits, Luhn-valid) is masked; the rest of the match is kept as it was."""
    value = match.group()
    groups = list(_DIGIT_GROUP.finditer(value))
    best: tuple[int, int] | None = None
    for first in range(len(groups)):
        for last in range(len(groups) - 1, first - 1, -1):
            digits = "".join(g.group() for g in groups[first : last + 1])
            if 13 <= len(digits) <= 19 and luhn_valid(digits):
                if best is None or last - first > best[1] - best[0]:
                    best = (first, last)
                break
    if best is None:
        return value
    start, end = groups[best[0]].start(), groups[best[1]].end()
    digits = "".join(g.group() for g in groups[best[0] : best[1] + 1])
    found["card"] += 1
    return f"{value[:start]}[card ****{digits[-4:]}]{value[end:]}"


def _mask_obfuscated_email(match: re.Match[str], found: Counter[str]) -> str:
    """ "at" and "dot" as plain words pass only when the address is clearly one: the name
    has a dot, digit or underscore, or the domain spells out its dots ("meet at the
    branch.com" and "log in at www.bank.co.uk" stay)."""
    plain_at = match.group("at").strip().lower() == "at"
    domain = match.group("domain")
    if domain.lower().startswith("www"):
        return match.group()
    if plain_at:
        local = match.group("local")
        spelled_dot = re.search(r"(?i)dot", domain) is not None
        handle = re.search(r"(?i)[0-9_%+.]|\sdot\s|\(dot\)|\[dot\]", local) is not None
        if not (spelled_dot or handle):
            return match.group()
    found["email"] += 1
    return "[email]"


def mask(text: str) -> Masked:
    """The text with customer data replaced by labelled placeholders ("[card ****1234]").

    See the module docstring for the formats. Idempotent: mask(mask(x).text).text equals
    mask(x).text. A placeholder can change what surrounds an earlier format (an ID directly
    followed by a card number is only an ID once the card is masked), so the formats are
    applied again until nothing changes."""
    found: Counter[str] = Counter()
    for _ in range(_MAX_PASSES):
        masked = _mask_once(text, found)
        if masked == text:
            break
        text = masked
    return Masked(text, tuple(sorted((kind, n) for kind, n in found.items() if n)))


_MAX_PASSES = 64
"""A safety stop only: every pass that changes the text turns raw text into placeholders,
which are never masked again, so the passes end long before."""


def _mask_once(text: str, found: Counter[str]) -> str:
    """One pass of every format, in order, counting what it masks into `found`."""

    def counted(kind: str) -> Callable[[re.Match[str]], str]:
        def replace(match: re.Match[str]) -> str:
            found[kind] += 1
            return f"[{kind} ****{_last4(match.group())}]"

        return replace

    def chinese_id(match: re.Match[str]) -> str:
        if id_is_card(match.group()):
            found["card"] += 1
            return f"[card ****{_last4(match.group())}]"
        found["id_number"] += 1
        return f"[ID ****{re.sub(r'[^0-9Xx]', '', match.group())[-4:].upper()}]"

    def international(match: re.Match[str]) -> str | None:
        return (
            counted("phone")(match) if match.group().lstrip("(").startswith(("+", "00")) else None
        )

    def email(match: re.Match[str]) -> str:
        found["email"] += 1
        return "[email]"

    def birth_date(match: re.Match[str]) -> str:
        found["birth_date"] += 1
        return f"{match.group('label')}{match.group('gap')}{BIRTH_DATE}"

    text = _EMAIL.sub(email, text)
    text = _OBFUSCATED_EMAIL.sub(lambda m: _mask_obfuscated_email(m, found), text)
    # Before the numbers: "14-03-85" after "DOB" is a birth date, not a sort code.
    text = _BIRTH_DATE.sub(birth_date, text)
    text = _CN_ID.sub(chinese_id, text)
    # A number with its country code (+86, 0086, +1, +44, +852) is a phone even when its
    # digits would pass the Luhn check; other phones go after cards and accounts.
    text = _PHONE.sub(lambda m: international(m) or m.group(), text)
    text = _CARD.sub(lambda m: _mask_card(m, found), text)
    text = _IBAN.sub(counted("account"), text)
    text = _SORT_CODE_ACCOUNT.sub(counted("account"), text)
    text = _PHONE.sub(counted("phone"), text)
    text = _mask_secrets(text, found)
    return _ACCOUNT.sub(counted("account"), text)
