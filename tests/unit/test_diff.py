"""The version diff (kb.diff): passages added, removed and changed, section by section, and
inside a changed passage the words that changed."""

from __future__ import annotations

import pytest

from kb.diff import Change, Mark, Passage, Span, diff_passages, diff_versions, tokens, word_changes
from kb.publishing import Draft, ReviewError, ReviewState, check_reviewer, needs_review

OLD = [
    Passage("Fees", "Fees\nA CHAPS payment costs £25 per payment."),
    Passage("Fees", "Faster Payments are free."),
    Passage("Cut-off times", "Cut-off times\nCHAPS closes at 17:30."),
    Passage("Retired", "Retired\nCheques are cleared in five days."),
]
NEW = [
    Passage("Overview", "Overview\nWhat payments cost."),
    Passage("Fees", "Fees\nA CHAPS payment costs £30 per payment."),
    Passage("Fees", "Faster Payments are free."),
    Passage("Fees", "International payments cost £15."),
    Passage("Cut-off times", "Cut-off times\nCHAPS closes at 17:30."),
]


def test_tokens_keep_amounts_times_and_join_back():
    text = "The fee is £1,250.00 (2.5%) until 17:30; 借记卡 fee."
    assert "£1,250.00" in tokens(text) and "2.5%" in tokens(text) and "17:30" in tokens(text)
    assert {"借", "记", "卡"} <= set(tokens(text))  # Chinese compared character by character
    assert "".join(tokens(text)) == text


def test_a_changed_amount_is_the_only_marked_word_on_each_side():
    old, new = word_changes(
        "A CHAPS payment costs £25 per payment.", "A CHAPS payment costs £30 per payment."
    )
    assert [s for s in old if s.mark != Mark.SAME] == [Span(Mark.REMOVED, "£25")]
    assert [s for s in new if s.mark != Mark.SAME] == [Span(Mark.ADDED, "£30")]
    assert "".join(s.text for s in new) == "A CHAPS payment costs £30 per payment."


def test_passages_added_removed_and_changed_by_section_in_the_new_order():
    changes = diff_passages(OLD, NEW)
    summary = [(c.change, c.section) for c in changes]
    assert summary == [
        (Change.ADDED, "Overview"),
        (Change.CHANGED, "Fees"),
        (Change.UNCHANGED, "Fees"),
        (Change.ADDED, "Fees"),
        (Change.UNCHANGED, "Cut-off times"),
        (Change.REMOVED, "Retired"),
    ]
    changed = changes[1]
    assert changed.old_text == OLD[0].text and changed.new_text == NEW[1].text
    assert Span(Mark.ADDED, "£30") in changed.new and Span(Mark.REMOVED, "£25") in changed.old
    removed = changes[-1]
    assert removed.new == () and removed.old_text == OLD[3].text


def test_a_version_diff_counts_and_lists_only_what_differs():
    diff = diff_versions("payment-fees", 1, OLD, 2, NEW)
    assert (diff.count(Change.ADDED), diff.count(Change.REMOVED), diff.count(Change.CHANGED)) == (
        2,
        1,
        1,
    )
    assert all(c.change != Change.UNCHANGED for c in diff.changes) and len(diff.changes) == 4
    assert diff_versions("d", 1, OLD, 2, OLD).changes == ()


def test_the_inputs_are_not_changed():
    before = list(OLD)
    diff_passages(OLD, NEW)
    assert before == OLD


def _draft(by: str = "kim", state: ReviewState = ReviewState.DRAFT) -> Draft:
    return Draft("fees", 2, "Fees", "fees.md", by, "2026-12-01T10:00:00+00:00", state, 1)


def test_who_publishes_directly_and_who_reviews():
    assert needs_review(True, "kim", reviewed_path=True)
    assert not needs_review(False, "kim", reviewed_path=True)  # four-eyes switched off
    assert not needs_review(True, "cli", reviewed_path=True)  # the operator on the server
    assert not needs_review(True, "kim", reviewed_path=False)  # kb ingest, evaluation, tests
    check_reviewer("lee", "knowledge", False, _draft())
    check_reviewer("root", "admin", False, _draft())
    for name, role, disabled, draft in (
        ("kim", "knowledge", False, _draft()),  # the uploader
        ("ana", "agent", False, _draft()),  # no reviewer right
        ("lee", "knowledge", True, _draft()),  # disabled
        ("lee", "knowledge", False, _draft(state=ReviewState.APPROVED)),  # decided already
    ):
        with pytest.raises(ReviewError):
            check_reviewer(name, role, disabled, draft)
