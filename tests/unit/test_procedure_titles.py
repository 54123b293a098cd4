"""kb.procedures.TitleIndex: references found by reading a passage once give exactly what
searching the passage for every title gave (the code before, kept here as the reference)."""

from __future__ import annotations

import random

from kb.procedures import _HANDING_OVER, _REFERRING, TitleIndex, referenced_documents


def _every_title(text: str, titles: dict[str, str], exclude=None, strong_only=False) -> list[str]:
    """The earlier implementation: every title searched for in the text."""
    referring = _HANDING_OVER if strong_only else _REFERRING
    lowered = text.lower()
    found = []
    for document_id, title in titles.items():
        if document_id == exclude or len(title) < 6:
            continue
        needle = title.lower()
        start = lowered.find(needle)
        while start >= 0:
            if referring.search(lowered[max(0, start - 40) : start]):
                found.append((start, document_id))
                break
            start = lowered.find(needle, start + 1)
    return [document_id for _, document_id in sorted(found)]


TITLES = {
    "lost": "Lost or Stolen Card Reporting Procedure",
    "lost-short": "Lost or Stolen Card",  # a prefix of another title
    "pin": "Card PIN FAQ",
    "fees": "Fee Schedule",
    "fees-2027": "Fee Schedule 2027",
    "tiny": "FAQ",  # under six characters: never a reference
    "zh": "挂失规程",  # four characters: short for the key
    "zh-long": "银行卡挂失及补办规程",
    "caps": "İSTANBUL Branch Notes",  # lower() changes its length
    "repeat": "aaaaaaaa",  # overlapping occurrences
}
PHRASES = [
    "following the ",
    "see ",
    "按照《",
    "The ",
    "as set out in our ",
    "per ",
    "mentioned: ",
    "",
    " aaaa",
]


def test_same_references_as_searching_every_title() -> None:
    rng = random.Random(14)
    index = TitleIndex(TITLES)
    names = list(TITLES.values())
    for _ in range(600):
        parts = [rng.choice(PHRASES) + rng.choice(names) for _ in range(rng.randint(0, 5))]
        text = ". ".join(parts) + rng.choice(["", " and more text.", "》的要求"])
        if rng.random() < 0.3:
            text = text.upper()
        exclude = rng.choice([None, "lost", "fees"])
        for strong in (False, True):
            expected = _every_title(text, TITLES, exclude, strong)
            assert referenced_documents(text, index, exclude, strong) == expected, text
            assert referenced_documents(text, TITLES, exclude, strong) == expected, text


def test_title_index_is_the_titles_mapping() -> None:
    index = TitleIndex(TITLES)
    assert dict(index) == TITLES and len(index) == len(TITLES) and index["pin"] == "Card PIN FAQ"
    # Both the longer title and its prefix are found where the longer one is written.
    text = "Cancel it following the Lost or Stolen Card Reporting Procedure."
    assert referenced_documents(text, index) == ["lost", "lost-short"]
