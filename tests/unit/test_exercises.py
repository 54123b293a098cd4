"""Selecting exercises worth a trainer's time (kb.exercises) and checking a step order for
safety-critical swaps (kb.exercises_order). Pure functions on small made-up exercises."""

from __future__ import annotations

import pytest

from kb.exercises import (
    ambiguous_order,
    importance,
    is_generic_heading,
    near_duplicate,
    not_a_procedure,
    select_exercises,
    topic_name,
    unanswerable,
)
from kb.exercises_order import alternative_pairs, check_order, is_instruction, is_safety_step
from kb.training.types import BLANK, Exercise, FillPayload, OrderPayload
from kb.types import Citation

TITLE = "Lost or Stolen Card Reporting Procedure"


def citation(document: str = "lost-card", section: str = "Card services > Fees") -> Citation:
    return Citation(document, TITLE, f"{document}.docx", section, (1,), 1, None, f"{document}:v1:3")


def fill(
    question: str,
    answer: str,
    original: str | None = None,
    *,
    n: int = 1,
    document: str = "lost-card",
    section: str = "Card services > Fees",
) -> Exercise:
    """A fill-in as kb.training.generate makes it: the section, then the blanked line."""
    original = original or question.replace(BLANK, answer)
    return Exercise(
        id=f"fill:{document}:v1:3:{n}",
        kind="fill",
        prompt=f"{section}\n{question}",
        payload=FillPayload(original, answer),
        source=citation(document, section),
        source_text=original,
        topic=section.split(" > ")[0],
    )


def row(label: str, column: str, answer: str, cells: str, n: int = 1, **kw: str) -> Exercise:
    return fill(f"For {label}, {column} is {BLANK}.", answer, f"| {cells} |", n=n, **kw)


def order(steps: tuple[str, ...], n: int = 4, document: str = "lost-card") -> Exercise:
    return Exercise(
        id=f"order:{document}:v1:{n}",
        kind="order",
        prompt="Put the steps in the right order.",
        payload=OrderPayload(steps, tuple(reversed(steps))),
        source=citation(document, "Card services > Reporting from abroad"),
        source_text="\n".join(steps),
        topic="Card services",
    )


# ---------------------------------------------------------------- answerable


@pytest.mark.parametrize(
    "question",
    [
        f"It is valid for {BLANK} minutes.",
        f"They must be raised within {BLANK} days of the transaction date.",
        f"Yes, up to {BLANK} Easy Access Savers.",
        f"No. Only one deposit is allowed, within {BLANK} days of opening.",
        f"Reference number format: {BLANK}.",  # a bare number with nothing after it
    ],
)
def test_a_question_that_leans_on_another_sentence_is_unanswerable(question):
    answer = "12" if "format" in question else "10"
    assert unanswerable(fill(question, answer)) is not None


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        (f"OTPs are valid for {BLANK} minutes.", "10"),
        (f"Up to {BLANK} authorised signatories.", "6"),
        (f"The maximum reimbursement is {BLANK} per claim.", "£85,000"),
        (f"支援需要登記冊的每項紀錄在建立後{BLANK}個月設定檢討日期。", "12"),
    ],
)
def test_a_question_that_names_its_subject_and_unit_is_answerable(question, answer):
    assert unanswerable(fill(question, answer)) is None


def test_a_table_row_must_name_a_thing_not_a_duration_date_or_code():
    assert unanswerable(row("30 days", "Interest", "£1.20", "30 days | £1.20")) is not None
    assert unanswerable(row("24 December 2026", "Hours", "16:00", "x")) is not None
    assert unanswerable(row("P1", "First action within", "15", "P1 | 15 minutes")) is not None
    assert unanswerable(row("Express delivery", "Fee", "£15", "Express delivery | £15")) is None
    assert unanswerable(row("Swiss franc / SWIFT", "Fee", "£15", "Swiss franc | £15")) is None


# ---------------------------------------------------------------- importance


def test_amounts_limits_and_safety_rules_rank_above_opening_hours_and_footers():
    safety = fill(f"Never send more than {BLANK} by courier.", "£500")
    fee = row("Express delivery", "Fee", "£15", "Express delivery | £15")
    deadline = fill(f"Unauthorised transactions must be reported within {BLANK} months.", "13")
    hours = fill(f"Hours: Monday to Friday 08:00-{BLANK}.", "20:00")
    footer = fill(f"Call us on 0800 123 456, option 6, from {BLANK}.", "08:00")
    scores = {name: importance(e).score for name, e in locals().items()}
    assert scores["safety"] > scores["fee"] and scores["deadline"] > scores["fee"]
    assert min(scores["fee"], scores["deadline"]) > max(scores["hours"], scores["footer"])
    assert scores["hours"] < 1.0 and any("opening hours" in r for r in importance(hours).reasons)


def test_a_cut_off_time_counts_a_clock_time_in_a_range_does_not():
    cut_off = fill(f"Payments made by {BLANK} are sent the same day.", "16:00")
    range_half = fill(f"Queue open 08:00-{BLANK} on weekdays.", "18:00")
    assert importance(cut_off).score > importance(range_half).score + 2


def test_a_number_inside_a_product_name_is_not_a_fact_to_learn():
    named = fill(f"We offer Easy Access Savers and {BLANK} Day Notice Savers.", "95")
    plain = fill(f"Money must be paid in within {BLANK} days of opening.", "14")
    assert importance(named).score < importance(plain).score - 2


# ---------------------------------------------------------------- near-duplicates


def test_the_same_sentence_with_another_value_blanked_is_a_near_duplicate():
    sentence = "The cut-off times are: HKD 17:30, USD 16:00 and EUR 14:00."
    hkd = fill(sentence.replace("17:30", BLANK), "17:30", sentence, n=1)
    usd = fill(sentence.replace("16:00", BLANK), "16:00", sentence, n=2)
    assert near_duplicate(hkd, usd)


def test_the_same_column_and_answer_in_another_row_is_a_near_duplicate():
    krona = row("Swedish krona / SWIFT", "Online fee", "£15", "Swedish krona | £15", n=1)
    krone = row("Norwegian krone / SWIFT", "Online fee", "£15", "Norwegian krone | £15", n=2)
    euro = row("Euro / SEPA", "Online fee", "£5", "Euro | £5", n=3)
    assert near_duplicate(krona, krone)
    assert not near_duplicate(krona, euro)


def test_near_identical_wording_with_the_same_answer_is_a_duplicate_across_documents():
    wording = "New and replacement cards arrive within {} working days, in a plain {}envelope."
    a = fill(wording.format(BLANK, "white "), "5-7")
    b = fill(wording.format(BLANK, ""), "5-7", document="faq")
    c = fill(f"New PINs arrive within {BLANK} working days of being ordered.", "3-5")
    assert near_duplicate(a, b)
    assert not near_duplicate(a, c)


def test_selection_keeps_the_best_of_duplicates_caps_sections_and_names_topics():
    sentence = "Fees: express £15, abroad £25."
    express = fill(sentence.replace("£15", BLANK), "£15", sentence, n=1)
    abroad = fill(sentence.replace("£25", BLANK), "£25", sentence, n=2)
    others = [
        fill(f"Limit number {i}: up to {BLANK} a day.", f"£{i}00", n=10 + i) for i in range(1, 5)
    ]
    leaning = fill(f"It is valid for {BLANK} minutes.", "10", n=30)
    hours = fill(f"Hours: Monday to Friday 08:00-{BLANK}.", "20:00", n=31)
    selection = select_exercises([express, abroad, *others, leaning, hours], per_section=2)
    kept = {e.id for e in selection.kept}
    assert len(kept) == 2  # the best two of the section
    counts = selection.counts()
    assert counts["near_duplicate"] + counts["section_cap"] == 4
    assert counts["unanswerable"] == 1 and counts["low_value"] == 1
    assert {e.topic for e in selection.kept} == {f"{TITLE} > Fees"}
    with pytest.raises(ValueError, match="Currently, they are 0"):
        select_exercises([], per_section=0)


def test_selection_caps_fill_ins_per_document_and_keeps_orderings_apart():
    facts = [
        fill(f"Limit {i}: up to {BLANK} a day.", f"£{i}00", n=i, section=f"Card services > S{i}")
        for i in range(1, 9)
    ]
    steps = order(("Verify the caller.", "Cancel the card.", "Order a replacement."))
    selection = select_exercises([*facts, steps], per_document=6)
    assert sum(e.kind == "fill" for e in selection.kept) == 6
    assert steps.id in {e.id for e in selection.kept}
    assert selection.counts()["document_cap"] == 2


# ---------------------------------------------------------------- topics


def test_topics_are_named_by_document_and_procedure_never_a_bare_heading():
    assert topic_name(TITLE, ("Card services", "Reporting from abroad")) == (
        f"{TITLE} > Reporting from abroad"
    )
    assert topic_name(TITLE, ("Purpose",)) == TITLE
    assert topic_name(TITLE, ("1. About",)) == TITLE
    assert topic_name("Savings", ("Savings", "About this product sheet")) == "Savings"
    assert topic_name("收费标准", ("三、目的",)) == "收费标准"
    assert is_generic_heading("2.1 Scope") and not is_generic_heading("Express delivery")


# ---------------------------------------------------------------- ordering

ABROAD = (
    "Cancel the card as in steps 1-6 above.",
    "Offer an emergency replacement card if the customer is abroad.",
    "Offer emergency cash if the customer has no other means of payment.",
    "Record the emergency service in CardView and give the customer the reference.",
)


def test_swapping_a_safety_step_scores_zero_and_names_the_swap():
    swapped = (ABROAD[1], ABROAD[0], *ABROAD[2:])
    check = check_order(ABROAD, swapped)
    assert check.score == 0.0
    assert check.swaps[0].first == ABROAD[0] and check.swaps[0].then == ABROAD[1]


def test_swapping_two_ordinary_steps_keeps_partial_credit():
    swapped = (*ABROAD[:2], ABROAD[3], ABROAD[2])
    check = check_order(ABROAD, swapped)
    assert check.swaps == () and 0.8 < check.score < 1.0
    assert check_order(ABROAD, ABROAD).score == 1.0


def test_leaving_out_a_safety_step_is_a_safety_critical_swap():
    check = check_order(ABROAD, ABROAD[1:])
    assert check.score == 0.0 and check.swaps


@pytest.mark.parametrize(
    ("step", "safe"),
    [
        ("Cancel the card in CardView.", True),
        ("Complete caller authentication to Level 2.", True),
        ("Do not confront the suspected abuser.", True),
        ("在卡片管理系统中选择“挂失”。", True),
        ("Tell the customer that digital wallets stop working.", False),
        ("Greet the customer and confirm they are calling to report a lost card.", False),
        ("Order a replacement card.", False),
    ],
)
def test_what_counts_as_a_safety_step(step, safe):
    assert is_safety_step(step) is safe


def test_neighbouring_alternatives_are_right_either_way_round():
    steps = (
        "Confirm the amount with the customer.",
        "Check the cut-off time.",
        "If the cut-off has not passed, submit the payment.",
        "If the cut-off has passed, schedule it for the next working day.",
        "Read the reference back to the customer.",
        "Record the call outcome.",
    )
    assert alternative_pairs(steps) == [(2, 3)]
    either_way = (*steps[:2], steps[3], steps[2], *steps[4:])
    assert check_order(steps, either_way).score == 1.0
    assert not ambiguous_order(order(steps))  # a third of the steps are alternatives: kept
    assert ambiguous_order(order(steps[1:5]))  # half of them: dropped


def test_a_numbered_list_that_says_what_nobody_does_is_not_a_procedure():
    documents = order(
        (
            "Proof of identity and address for the owner.",
            "Proof of the trading address, if different from home.",
            "Evidence the business is trading, such as an invoice.",
        )
    )
    questions = order(
        ('"How did you first hear about this?"', '"Has anyone told you what to say?"')
    )
    third_person = order(
        (
            "The existing holders ask in the app or in branch.",
            "All existing holders must consent to adding the new holder.",
            "The new holder completes identity checks.",
            "The new holder is added within 5 business days.",
        )
    )
    assert not_a_procedure(documents) and not_a_procedure(questions)
    assert not not_a_procedure(third_person) and not not_a_procedure(order(ABROAD))
    assert is_instruction("If the cut-off has passed, schedule it.")
    assert is_instruction("The removed holder's cards are cancelled on the day.")
    assert is_instruction("核实客户身份。")  # Chinese steps are not judged
    assert not is_instruction("Company registration number.")
