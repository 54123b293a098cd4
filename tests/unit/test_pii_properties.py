"""Masking, property by property: every format kb.pii lists is generated with its spacing and
punctuation variants inside English and Chinese sentences, and must come out as exactly its
placeholder; ordinary questions about passwords and PINs must come out unchanged; masking
masked text changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kb.pii import PLACEHOLDER, chinese_id_check_character, id_is_card, luhn_valid, mask

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Sentences around the datum: no digits, nothing that is itself masked.
ENGLISH = [
    ("Customer says ", " and wants help"),
    ("the customer gave ", ". What now?"),
    ("", ""),
    ("(", ")"),
    ("number: ", ", thanks"),
]
CHINESE = [
    ("客户说", "，请帮忙"),
    ("客户提供了", "。怎么办？"),
    ("号码：", "，谢谢"),
    ("“", "”"),
]
contexts = st.sampled_from(ENGLISH + CHINESE)
SPACES = [" ", "  ", "\u00a0", "\u202f", "\u00a0\u00a0"]


def _luhn_complete(body: str) -> str:
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


@st.composite
def cards(draw):
    """(as written, last four): Visa/Mastercard in fours or Amex in 4-6-5, any separator."""
    amex = draw(st.booleans())
    prefix = draw(st.sampled_from(["34", "37"] if amex else ["4", "51", "55", "22"]))
    length = 15 if amex else 16
    body = prefix + draw(
        st.text("0123456789", min_size=length - 1 - len(prefix))
        .map(lambda s: s[: length - 1 - len(prefix)])
        .filter(lambda s: len(s) == length - 1 - len(prefix))
    )
    number = _luhn_complete(body)
    sizes = (4, 6, 5) if amex else (4, 4, 4, 4)
    groups, at = [], 0
    for size in sizes:
        groups.append(number[at : at + size])
        at += size
    separator = draw(st.sampled_from(["", "-", ".", "/", " - ", *SPACES]))
    return separator.join(groups), number[-4:]


@st.composite
def chinese_ids(draw):
    """(as written, last four): 18 characters with a right or wrong check character, or the
    older 15 digits; optionally spaced or dashed between region, birth date and the rest."""
    region = draw(st.sampled_from(["110105", "310104", "440305", "510107", "650102"]))
    born = draw(st.dates(dt.date(1930, 1, 1), dt.date(2012, 12, 31)))
    sequence = draw(st.integers(0, 999)).__format__("03d")
    separator = draw(st.sampled_from(["", " ", "-", "\u00a0"]))
    if draw(st.booleans()):  # 15 digits, two-digit year, no check character
        parts = [region, born.strftime("%y%m%d"), sequence]
    else:
        body = region + born.strftime("%Y%m%d") + sequence
        right = chinese_id_check_character(body)
        check = right if draw(st.booleans()) else draw(st.sampled_from("0123456789X"))
        parts = [region, born.strftime("%Y%m%d"), sequence + check]
    return separator.join(parts), "".join(parts)[-4:]


@st.composite
def chinese_mobiles(draw):
    prefix = draw(st.sampled_from(["", "+86 ", "+86", "0086 ", "0086-", "+86-", "(+86) "]))
    second = draw(st.sampled_from("3456789"))
    rest = draw(st.text("0123456789", min_size=9, max_size=9))
    number = "1" + second + rest
    separator = draw(st.sampled_from(["", " ", "-"]))
    return prefix + separator.join([number[:3], number[3:7], number[7:]]), number[-4:]


@st.composite
def us_phones(draw):
    area = draw(st.sampled_from("23456789")) + draw(st.text("0123456789", min_size=2, max_size=2))
    exchange = draw(st.text("0123456789", min_size=3, max_size=3))
    line = draw(st.text("0123456789", min_size=4, max_size=4))
    shape = draw(
        st.sampled_from(
            [
                "({a}) {e}-{n}",
                "({a}){e}-{n}",
                "{a}.{e}.{n}",
                "{a}-{e}-{n}",
                "{a} {e} {n}",
                "+1 {a} {e} {n}",
                "+1 ({a}) {e}-{n}",
                "+1-{a}-{e}-{n}",
                "1-{a}-{e}-{n}",
            ]
        )
    )
    return shape.format(a=area, e=exchange, n=line), line


NAMES = ["john", "jane", "ana", "li", "wei", "smith", "doe", "chen", "k9", "mary_x"]
DOMAINS = ["example", "gmail", "hsbc", "qq", "163", "outlook"]


@st.composite
def obfuscated_emails(draw):
    first, last = draw(st.sampled_from(NAMES)), draw(st.sampled_from(NAMES))
    domain = draw(st.sampled_from(DOMAINS))
    tld = draw(st.sampled_from(["com", "co.uk", "cn", "com.hk", "net"]))
    shape = draw(
        st.sampled_from(
            [
                "{f}.{l}(at){d}.{t}",
                "{f}.{l} (at) {d}.{t}",
                "{f}.{l}[at]{d}[dot]{t}",
                "{f}.{l} [at] {d} [dot] {t}",
                "{f}.{l} {{at}} {d} {{dot}} {t}",
                "{f}.{l} AT {d} DOT {t}",
                "{f} dot {l} at {d} dot {t}",
                "{f}.{l} at {d}.{t}",
                "{f}{l}(@){d}.{t}",
                "{f}.{l}@{d}.{t}",
            ]
        )
    )
    dotted = "dot" in shape.lower() and "[dot]" not in shape and "{dot}" not in shape
    spelled_tld = tld.replace(".", " dot " if dotted else ".")
    if "[dot]" in shape:
        spelled_tld = tld.replace(".", " [dot] ")
    return shape.format(f=first, l=last, d=domain, t=spelled_tld)


NUMERIC_WORDS = [
    "PIN", "pin", "PIN number", "PIN code", "OTP", "otp code", "one-time code", "one time code",
    "one-time passcode", "verification code", "CVV", "cvv2", "CVC", "security code",
    "PIN码", "PIN碼", "验证码", "驗證碼", "动态码", "動態碼", "安全码", "安全碼",
]  # fmt: skip
WORD_SECRETS = [
    "password", "Password", "online banking password", "passcode", "passphrase",
    "memorable word", "one-time password", "密码", "密碼", "口令", "网银密码", "交易密碼",
]  # fmt: skip
CONNECTORS = [" ", " is ", " was ", ": ", ":", " = ", "=", " is: ", "是", "是 ", "：", "为", " 為 "]


@st.composite
def typed_secrets(draw):
    """(keyword + connector, value): what an agent types when the customer reads a secret out."""
    numeric = draw(st.booleans())
    word = draw(st.sampled_from(NUMERIC_WORDS if numeric else WORD_SECRETS))
    connector = draw(st.sampled_from(CONNECTORS))
    if word[-1].isascii() and connector[:1] not in (" ", ":", "="):
        connector = " " + connector  # "PIN是" is fine; "PINis" is not how anyone writes
    if numeric:
        value = draw(st.text("0123456789", min_size=3, max_size=6))
    else:
        letters = draw(
            st.text("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ", min_size=1, max_size=8)
        )
        digits = draw(st.text("0123456789", min_size=1, max_size=4))
        symbol = draw(st.sampled_from(["", "!", "#", "$", "@", "&", "*"]))
        tail = draw(st.text("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ", max_size=6))
        value = letters + symbol + digits + tail  # ends with a letter or digit, not "!"
    return word + connector, value


def _in(context, datum: str) -> str:
    before, after = context
    return before + datum + after


@pytest.mark.security
@PROPERTY
@given(cards(), contexts)
@example(("4539  1488  0343  6467", "6467"), ENGLISH[0])
@example(("4539\u00a01488\u00a00343\u00a06467", "6467"), CHINESE[0])
@example(("4539.1488.0343.6467", "6467"), ENGLISH[1])
@example(("4539/1488/0343/6467", "6467"), CHINESE[1])
def test_card_numbers_are_masked_whatever_separates_the_groups(card, context):
    """Attack: an agent types a card number with double spaces, non-breaking spaces, dots or slashes; it must not be stored raw."""
    written, last4 = card
    assert mask(_in(context, written)).text == _in(context, f"[card ****{last4}]")


@pytest.mark.security
@PROPERTY
@given(chinese_ids(), contexts)
@example(("110105194912310021", "0021"), CHINESE[0])  # wrong check character
@example(("110105491231002", "1002"), ENGLISH[0])  # 15 digits
def test_chinese_resident_ids_are_masked_with_a_wrong_check_character_and_in_15_digits(
    id_, context
):
    """Attack: an agent types a resident ID with a wrong check digit, or an old 15-digit one; it must not be stored raw."""
    written, last4 = id_
    label = "card" if id_is_card(written) else "ID"  # Luhn-valid without a right check: a card
    assert mask(_in(context, written)).text == _in(context, f"[{label} ****{last4}]")


@pytest.mark.security
@PROPERTY
@given(st.one_of(chinese_mobiles(), us_phones()), contexts)
@example(("+86 138 1234 5678", "5678"), CHINESE[0])
@example(("0086-138-1234-5678", "5678"), ENGLISH[0])
@example(("(555) 123-4567", "4567"), ENGLISH[0])
@example(("555.123.4567", "4567"), CHINESE[2])
@example(("+1 555 123 4567", "4567"), ENGLISH[1])
def test_chinese_mobiles_and_us_phones_are_masked(phone, context):
    """Attack: an agent types a Chinese mobile (+86, spaced) or a US phone ((555) 123-4567); it must not be stored raw."""
    written, last4 = phone
    assert mask(_in(context, written)).text == _in(context, f"[phone ****{last4}]")


@pytest.mark.security
@PROPERTY
@given(obfuscated_emails(), contexts)
@example("john.smith(at)example.com", ENGLISH[0])
@example("john dot smith at example dot com", CHINESE[0])
def test_obfuscated_email_addresses_are_masked(email, context):
    """Attack: an agent types "john.smith(at)example.com" or "john dot smith at example dot com"; it must not be stored raw."""
    assert mask(_in(context, email)).text == _in(context, "[email]")


@pytest.mark.security
@PROPERTY
@given(typed_secrets(), contexts)
@example(("online banking password is ", "Hunter2!Secret"), ENGLISH[0])
@example(("PIN ", "4821"), ENGLISH[1])
@example(("密码是", "Abc123"), CHINESE[0])
@example(("驗證碼 ", "884213"), CHINESE[1])
@example(("password ", "ARE0"), ENGLISH[0])  # "ARE" is a value here, not "are"
@example(("password ", "ARE!0"), ENGLISH[1])
def test_secrets_typed_in_free_text_are_masked_and_their_word_kept(secret, context):
    """Attack: an agent types what the customer reads out ("password is Hunter2!Secret", "PIN 4821", "验证码884213"); the value must not be stored, the word stays."""
    said, value = secret
    assert mask(_in(context, said + value)).text == _in(context, said + "[secret]")


@pytest.mark.security
def test_the_reported_sentence_keeps_its_words_and_loses_both_values():
    """Attack: "online banking password is Hunter2!Secret and PIN 4821" was stored raw; both values must go, the words stay."""
    masked = mask("online banking password is Hunter2!Secret and PIN 4821")
    assert masked.text == "online banking password is [secret] and PIN [secret]"
    assert dict(masked.found) == {"secret": 2}


@pytest.mark.parametrize(
    "question",
    [
        "how does a customer reset their password?",
        "How do I reset a PIN?",
        "Customer forgot their online banking password",
        "the PIN is blocked after 3 wrong PIN attempts",
        "password is wrong, what now?",
        "The password is case-sensitive",
        "password reset takes 24 hours",
        "What is a one-time passcode and why is the OTP not arriving?",
        "The OTP is valid for 5 minutes",
        "Where is the CVV on the card? The security code is on the back",
        "Change the memorable word",
        "Customer's passcode expired",
        "password policy: at least 8 characters",
        "Enter the password (8-20 characters, one digit)",
        "create a new password 8-20 characters long",
        "Telephone passcode | Balances, payments",
        "P3 | 連續3次輸入錯誤密碼 | 客戶自助或同事",
        "meet at the branch at 10 o'clock",
        "Log in at www.bank.co.uk or at online.example.com",
        "He looked at it dot by dot",
        "客户忘记密码怎么办",
        "怎么重置密码？",
        "客户网银密码输错三次被锁了",
        "验证码收不到怎么办",
        "動態碼多久有效？",
        "密碼是什麼意思",
        "安全码在卡背面",
        "PIN码忘了",
        "Call the fraud line 0800 765 432",
        "Cut-off is 15:30 for CHAPS, fee £25, 5-7 working days",
        "转账每日上限为£25,000，截止时间15:00",
        "Dates: 2026/01/15 and 2026-02-01, amounts 1,234.56",
    ],
)
def test_ordinary_questions_about_passwords_and_pins_stay_as_typed(question):
    masked = mask(question)
    assert masked.text == question and not masked.changed, masked


# Pieces the idempotence property joins at random: data, the words that introduce secrets,
# placeholders already masked, separators and bits of both languages.
PIECES = [
    "4539 1488 0343 6467", "4539.1488.0343.6467", "11010519491231002X", "110105491231002",
    "138 1234 5678", "+86", "0086", "(555) 123-4567", "+1", "555.123.4567", "07700 900123",
    "12-34-56", "12345678", "GB33BUKB20201555555555", "john.smith", "(at)", "[at]", " at ",
    " dot ", "example", ".com", "@", "PIN", "pin码", "password", "密码", "验证码", "CVV", "OTP",
    " is ", "是", ": ", "Hunter2!", "4821", "abc", "[secret]", "[card ****6467]",
    "[phone ****5678]", "[email]", "[ID ****002X]", " ", "  ", "\u00a0", "-", ".", "/", ",",
    "，", "？", "客户", "忘记", "reset", "the", "'", '"', "1", "23", "456", "7890",
]  # fmt: skip


@PROPERTY
@given(st.lists(st.sampled_from(PIECES), max_size=14).map("".join))
@example("(555) 123-4567" * 7)  # each one only a phone once the one before it is masked
def test_masking_masked_text_changes_nothing(text):
    once = mask(text)
    twice = mask(once.text)
    assert twice.text == once.text
    assert not twice.changed


@PROPERTY
@given(st.text(max_size=80))
def test_masking_any_text_is_idempotent(text):
    once = mask(text).text
    assert mask(once).text == once


@PROPERTY
@given(st.one_of(cards(), chinese_ids(), chinese_mobiles(), us_phones()), contexts)
def test_every_mask_is_a_placeholder_the_readers_skip(datum, context):
    masked = mask(_in(context, datum[0])).text
    assert len(PLACEHOLDER.findall(masked)) == 1
    assert PLACEHOLDER.sub("", masked) == _in(context, "")
