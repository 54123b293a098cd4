"""Masking customer data: valid numbers are masked, near misses are not taken for them."""

from __future__ import annotations

import pytest

from kb.pii import chinese_id_valid, luhn_valid, mask

VALID_CARD = "4539 1488 0343 6467"  # Luhn-valid test number
NEAR_MISS_CARD = "4539 1488 0343 6468"  # last digit changed: fails Luhn
VALID_CN_ID = "11010519491231002X"  # the standard's worked example
NEAR_MISS_CN_ID = "110105194912310021"


def test_checksums():
    assert luhn_valid("4539148803436467") and not luhn_valid("4539148803436468")
    assert chinese_id_valid(VALID_CN_ID) and not chinese_id_valid(NEAR_MISS_CN_ID)
    assert not chinese_id_valid("110105194913310027")  # month 13


def test_cards_masked_only_when_luhn_valid():
    masked = mask(f"Customer card {VALID_CARD} was swallowed")
    assert masked.text == "Customer card [card ****6467] was swallowed"
    assert dict(masked.found) == {"card": 1}
    assert "[card" not in mask(f"reference {NEAR_MISS_CARD}").text


def test_chinese_resident_id_masked_with_a_right_or_a_wrong_check_character():
    # A wrong check character is a typo in the customer's ID, still theirs (issue 12): it is
    # masked too. A number without an ID's shape (no real birth date) is not taken for one.
    assert mask(f"身份证号{VALID_CN_ID}，卡丢了").text == "身份证号[ID ****002X]，卡丢了"
    assert mask(f"编号{NEAR_MISS_CN_ID}").text == "编号[ID ****0021]"
    assert "[ID" not in mask("编号110105194913310027").text  # month 13


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("email me at jane.doe@example.co.uk please", "email me at [email] please"),
        ("call me on 07700 900123", "call me on [phone ****0123]"),
        ("my number is +44 7700 900123", "my number is [phone ****0123]"),
        ("手机13812345678", "手机[phone ****5678]"),
        ("HK phone 9123 4567", "HK phone [phone ****4567]"),
        (
            "sort code 12-34-56 account 12345678",
            "sort code [account ****3456] account [account ****5678]",
        ),
        ("IBAN GB33BUKB20201555555555 thanks", "IBAN [account ****5555] thanks"),
        ("account number 31926819", "account number [account ****6819]"),
    ],
)
def test_other_customer_data(text, expected):
    assert mask(text).text == expected


def test_ordinary_banking_text_is_left_alone():
    for text in [
        "What is the daily limit of £25,000 for online transfers?",
        "Cut-off is 15:30 for CHAPS, fee £25, 5-7 working days",
        "Call the fraud line 0800 765 432",
        "ECO Manager extension 4471, P1 within 15 minutes",
        "转账每日上限为£25,000，截止时间15:00",
    ]:
        masked = mask(text)
        assert masked.text == text and not masked.changed, masked


def test_every_mask_is_recognised_as_a_placeholder():
    from kb.pii import PLACEHOLDER

    text = (
        "card 4539 1488 0343 6467, id 11010519491231002X, phone 07700 900123, "
        "mail ana@example.com, account 12-34-56 12345678"
    )
    masked = mask(text).text
    assert PLACEHOLDER.sub("", masked).count("[") == 0
    assert len(PLACEHOLDER.findall(masked)) >= 4


@pytest.mark.parametrize(
    "text",
    [
        "card ending 0392, dob 14/03/1985",
        "D.O.B. 14-03-85",
        "date of birth: 1985-03-14",
        "born on March 14, 1985",
        "her birthday is 14th March 1985",
        "出生日期1985年3月14日",
        "生日是1985年3月14日",
    ],
)
def test_a_labelled_date_of_birth_is_masked_and_its_label_kept(text):
    masked = mask(text)
    assert "[date of birth]" in masked.text
    assert "1985" not in masked.text and "85" not in masked.text.replace("[date of birth]", "")
    assert ("birth_date", 1) in masked.found
    assert mask(masked.text).text == masked.text  # idempotent


def test_dates_without_a_birth_label_are_content():
    for text in ["a CHAPS payment sent on 14/03/2026", "documents in force on 2027-02-01",
                 "fees change on 1 January 2027", "2027年1月1日起收费调整"]:  # fmt: skip
        assert mask(text).text == text
