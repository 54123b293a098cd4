"""Structure-aware chunking (ingest/chunk.py): sections, procedures, tables, ids, categories."""

from __future__ import annotations

import hashlib

import jieba
import pytest

from ingest.chunk import chunk_document, infer_category, render_table
from ingest.clean import weighted_length
from ingest.steps import is_step, parse_step_number
from kb.types import Block, BlockKind, Category, ChunkKind, DocumentInfo, ParsedDocument

TITLE, TEXT, ITEM, TABLE = BlockKind.TITLE, BlockKind.TEXT, BlockKind.LIST_ITEM, BlockKind.TABLE


def _info(document_id: str = "card-services", version: int = 2) -> DocumentInfo:
    return DocumentInfo(
        document_id=document_id,
        version=version,
        title="Card services",
        source_name="card_services.docx",
        format="docx",
        language="en",
        category=Category.PROCEDURE,
        effective_date=None,
        expiry_date=None,
        groups=("everyone",),
    )


def _doc(*blocks: Block, title: str = "Card services") -> ParsedDocument:
    return ParsedDocument(
        source_name="card_services.docx", format="docx", title=title, blocks=blocks, language="en"
    )


LOST_CARD_PROCEDURE = (
    Block(TITLE, "Card services", 1, 1),
    Block(TEXT, "This guide covers debit and credit cards issued by the bank.", 1),
    Block(TITLE, "Lost or stolen cards", 1, 2),
    Block(TITLE, "Reporting", 2, 3),
    Block(TEXT, "When a customer reports a lost or stolen card, follow these steps:", 2),
    Block(ITEM, "1. Verify the caller's identity with two security questions.", 2),
    Block(ITEM, "2. Open the card record in CardView.", 2),
    Block(ITEM, "a. Check the last five transactions with the customer.", 2, 2),
    Block(ITEM, "3. Block the card with reason code LOST or STOLEN.", 2),
    Block(TEXT, "Note: a blocked card cannot be unblocked; a replacement must be ordered.", 3),
    Block(ITEM, "4. Order a replacement card to the address on file.", 3),
    Block(ITEM, "5. Tell the customer the replacement arrives within 5 working days.", 3),
    Block(ITEM, "6. Record the outcome of the call in the case notes.", 3),
    Block(TEXT, "Suspected fraud is escalated to the fraud team the same day.", 3),
    Block(TITLE, "Replacement fees", 1, 2),
    Block(TEXT, "Replacement is free for lost cards reported within 24 hours.", 4),
)


# --- step numbering --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1. Verify the caller", (1, "Verify the caller")),
        ("2) Open CardView", (2, "Open CardView")),
        ("(3) Block the card", (3, "Block the card")),
        ("（3）冻结该卡", (3, "冻结该卡")),
        ("Step 4: Order a replacement", (4, "Order a replacement")),
        ("step 12 - Close the case", (12, "Close the case")),
        ("第1步：核实客户身份", (1, "核实客户身份")),
        ("第三步 冻结银行卡", (3, "冻结银行卡")),
        ("一、受理挂失申请", (1, "受理挂失申请")),
        ("十二、记录通话结果", (12, "记录通话结果")),
        ("（二）核实身份", (2, "核实身份")),
        ("5、告知客户", (5, "告知客户")),
        ("② 冻结该卡", (2, "冻结该卡")),
        (
            "2.5% fee applies to foreign transactions",
            (None, "2.5% fee applies to foreign transactions"),
        ),
        ("Verify the caller", (None, "Verify the caller")),
        ("2024 annual fee waiver", (None, "2024 annual fee waiver")),
    ],
)
def test_parse_step_number(text: str, expected: tuple[int | None, str]) -> None:
    assert parse_step_number(text) == expected
    assert is_step(text) is (expected[0] is not None)


# --- sections --------------------------------------------------------------------------------


def test_section_paths_follow_the_heading_stack() -> None:
    chunks = chunk_document(_doc(*LOST_CARD_PROCEDURE), _info())
    assert [c.section_path for c in chunks] == [
        ("Card services",),
        ("Card services", "Lost or stolen cards", "Reporting"),
        ("Card services", "Lost or stolen cards", "Reporting"),
        ("Card services", "Replacement fees"),
    ]
    assert chunks[1].section == "Card services > Lost or stolen cards > Reporting"
    # the document title equals the first heading: it is not repeated
    assert chunks[0].text == (
        "Card services\nThis guide covers debit and credit cards issued by the bank."
    )
    assert chunks[3].text.splitlines()[0] == "Card services > Replacement fees"


def test_document_without_headings_uses_the_title() -> None:
    chunks = chunk_document(
        _doc(Block(TEXT, "Wire transfers above 50,000 need a second approver."), title="Wires"),
        _info(),
    )
    assert [c.section_path for c in chunks] == [("Wires",)]
    assert chunks[0].text == "Wires\nWire transfers above 50,000 need a second approver."


def test_a_new_heading_always_starts_a_new_chunk() -> None:
    chunks = chunk_document(
        _doc(
            Block(TITLE, "Wire transfers", None, 1),
            Block(TEXT, "Domestic wires settle the same day."),
            Block(TITLE, "International", None, 2),
            Block(TEXT, "International wires settle in two working days."),
        ),
        _info(),
    )
    assert [c.text for c in chunks] == [
        "Wire transfers\nDomestic wires settle the same day.",
        "Wire transfers > International\nInternational wires settle in two working days.",
    ]


# --- procedures ------------------------------------------------------------------------------


def test_six_step_procedure_with_intro_and_note_is_one_chunk() -> None:
    chunks = chunk_document(_doc(*LOST_CARD_PROCEDURE), _info())
    procedure = chunks[1]
    assert procedure.kind == ChunkKind.PROCEDURE
    assert procedure.text == (
        "Card services > Lost or stolen cards > Reporting\n"
        "When a customer reports a lost or stolen card, follow these steps:\n"
        "1. Verify the caller's identity with two security questions.\n"
        "2. Open the card record in CardView.\n"
        "   a. Check the last five transactions with the customer.\n"
        "3. Block the card with reason code LOST or STOLEN.\n"
        "Note: a blocked card cannot be unblocked; a replacement must be ordered.\n"
        "4. Order a replacement card to the address on file.\n"
        "5. Tell the customer the replacement arrives within 5 working days.\n"
        "6. Record the outcome of the call in the case notes."
    )
    assert procedure.pages == (2, 3)
    # the paragraph after the last step is not a note: it is ordinary text
    assert chunks[2].kind == ChunkKind.TEXT
    assert chunks[2].text.endswith("Suspected fraud is escalated to the fraud team the same day.")


def test_procedure_stays_whole_even_when_longer_than_a_text_chunk() -> None:
    steps = [
        Block(ITEM, f"{n}. " + "Confirm the beneficiary details with the customer. " * 3)
        for n in range(1, 7)
    ]
    chunks = chunk_document(
        _doc(Block(TITLE, "Sending a wire", None, 1), *steps), _info(), max_chars=300
    )
    assert len(chunks) == 1
    assert chunks[0].kind == ChunkKind.PROCEDURE
    assert weighted_length(chunks[0].text) > 300


def _long_procedure() -> tuple[Block, ...]:
    blocks: list[Block] = [
        Block(TITLE, "Wire transfers", 1, 1),
        Block(TITLE, "Recalling a wire", 1, 2),
        Block(TEXT, "Use this procedure when a customer asks to recall a sent wire:", 1),
    ]
    for n in range(1, 9):
        blocks.append(
            Block(
                ITEM,
                f"{n}. Step {n} of the recall: check the SWIFT status and the cut-off "
                f"time, and write down the reference of the original payment order.",
                n,
            )
        )
        blocks.append(Block(ITEM, f"Sub-step {n}.a: confirm the amount and currency.", n, 2))
        if n == 4:
            blocks.append(
                Block(
                    TEXT,
                    "Warning: recalls after settlement need the customer's written consent.",
                    n,
                )
            )
    return tuple(blocks)


def test_long_procedure_is_split_only_at_step_boundaries_and_repeats_the_heading() -> None:
    chunks = chunk_document(_doc(*_long_procedure()), _info(), procedure_max_chars=500)
    assert len(chunks) > 1
    assert all(c.kind == ChunkKind.PROCEDURE for c in chunks)
    first_lines = [c.text.splitlines()[0] for c in chunks]
    assert first_lines[0] == "Wire transfers > Recalling a wire"
    assert all(line == "Wire transfers > Recalling a wire (continued)" for line in first_lines[1:])
    step_numbers = []
    for chunk in chunks:
        body = chunk.text.splitlines()[1:]
        # every part starts with a top-level step (or the intro, for the first part)
        assert body[0].startswith("Use this procedure") if chunk.position == 0 else is_step(body[0])
        # no sub-step or note is separated from its step
        for line in body:
            number, _ = parse_step_number(line)
            if line.startswith("1. ") or (number and not line.startswith(" ")):
                step_numbers.append(number)
            if line.strip().startswith("- Sub-step"):
                n = int(line.split("Sub-step ")[1].split(".")[0])
                assert step_numbers[-1] == n
            if line.startswith("Warning:"):
                assert step_numbers[-1] == 4
        assert weighted_length(chunk.text) <= 500
    assert step_numbers == list(range(1, 9))
    assert sum(c.text.count("Sub-step") for c in chunks) == 8


def test_two_numbered_lists_in_one_section_are_two_procedures() -> None:
    chunks = chunk_document(
        _doc(
            Block(TITLE, "Card blocks", None, 1),
            Block(TEXT, "To block a card:"),
            Block(ITEM, "1. Verify identity."),
            Block(ITEM, "2. Block the card."),
            Block(TEXT, "To unblock a card:"),
            Block(ITEM, "1. Verify identity."),
            Block(ITEM, "2. Remove the temporary block."),
        ),
        _info(),
    )
    assert [c.kind for c in chunks] == [ChunkKind.PROCEDURE, ChunkKind.PROCEDURE]
    assert chunks[0].text.splitlines()[1:] == [
        "To block a card:",
        "1. Verify identity.",
        "2. Block the card.",
    ]
    assert chunks[1].text.splitlines()[1] == "To unblock a card:"


def test_bullets_and_a_lone_numbered_item_are_plain_text() -> None:
    chunks = chunk_document(
        _doc(
            Block(TITLE, "Eligibility", None, 1),
            Block(TEXT, "A customer can apply for a Platinum card if:"),
            Block(ITEM, "they are 21 or older"),
            Block(ITEM, "• their income is above 60,000 a year"),
            Block(ITEM, "1. Exception: staff accounts"),
        ),
        _info(),
    )
    assert len(chunks) == 1
    assert chunks[0].kind == ChunkKind.TEXT
    assert chunks[0].text.splitlines()[1:] == [
        "A customer can apply for a Platinum card if:",
        "- they are 21 or older",
        "• their income is above 60,000 a year",
        "1. Exception: staff accounts",
    ]


def test_numbered_lines_in_one_paragraph_become_a_procedure() -> None:
    chunks = chunk_document(
        _doc(
            Block(TITLE, "挂失流程", 1, 1),
            Block(
                TEXT,
                "客户报告银行卡丢失时：\n第1步：核实客户身份\n第2步：冻结该卡\n第3步：告知补卡费用",
                1,
            ),
        ),
        _info(),
    )
    assert len(chunks) == 1
    assert chunks[0].kind == ChunkKind.PROCEDURE
    assert chunks[0].language == "zh"
    assert chunks[0].text == (
        "挂失流程\n客户报告银行卡丢失时：\n第1步：核实客户身份\n第2步：冻结该卡\n第3步：告知补卡费用"
    )


def test_long_procedure_parts_in_chinese_say_continued_in_chinese() -> None:
    blocks = [Block(TITLE, "境外电汇操作步骤", 1, 1)]
    blocks += [
        Block(
            ITEM, f"{n}. 核对收款人姓名、账号、收款银行SWIFT代码及汇款用途，并向客户确认手续费。", 1
        )
        for n in range(1, 7)
    ]
    chunks = chunk_document(_doc(*blocks), _info(), procedure_max_chars=250)
    assert len(chunks) >= 2
    assert chunks[1].text.splitlines()[0] == "境外电汇操作步骤（续）"


# --- tables ----------------------------------------------------------------------------------


def _fee_table(rows: int) -> Block:
    header = ("Service", "Fee (RM)", "Notes")
    body = tuple(
        (f"Service {i}", f"{i * 1.5:.2f}", f"charged per item {i}") for i in range(1, rows)
    )
    return Block(TABLE, "", 5, rows=(header, *body))


def test_forty_row_table_is_one_chunk_with_heading_caption_and_all_rows() -> None:
    table = _fee_table(40)
    chunks = chunk_document(
        _doc(
            Block(TITLE, "Fee schedule", 5, 1),
            Block(TITLE, "Account services", 5, 2),
            Block(TEXT, "Table 3: Account service charges (effective 1 July)", 5),
            table,
        ),
        _info(),
        max_chars=200,
    )
    assert len(chunks) == 1
    chunk = chunks[0]
    assert chunk.kind == ChunkKind.TABLE
    assert chunk.table_rows == table.rows
    assert len(chunk.table_rows) == 40
    lines = chunk.text.splitlines()
    assert lines[0] == "Fee schedule > Account services"
    assert lines[1] == "Table 3: Account service charges (effective 1 July)"
    assert lines[2] == "| Service | Fee (RM) | Notes |"
    assert lines[3] == "| --- | --- | --- |"
    assert lines[-1] == "| Service 39 | 58.50 | charged per item 39 |"
    assert len(lines) == 2 + 1 + 1 + 39
    assert chunk.pages == (5,)


def test_table_is_separate_from_surrounding_text() -> None:
    chunks = chunk_document(
        _doc(
            Block(TITLE, "Wire fees", None, 1),
            Block(TEXT, "Wire fees are charged to the sender."),
            Block(TABLE, "", rows=(("Type", "Fee"), ("Domestic", "10"), ("International", "35"))),
            Block(TEXT, "Fees are waived for Premier customers."),
        ),
        _info(),
    )
    assert [c.kind for c in chunks] == [ChunkKind.TEXT, ChunkKind.TABLE, ChunkKind.TEXT]
    assert chunks[1].text == (
        "Wire fees\n| Type | Fee |\n| --- | --- |\n| Domestic | 10 |\n| International | 35 |"
    )


def test_render_table_pads_short_rows_and_escapes_pipes() -> None:
    assert render_table((("Card", "Fee"), ("Gold|Plus",), ("Classic", "RM 50\nper year"))) == (
        "| Card | Fee |\n| --- | --- |\n| Gold\\|Plus |  |\n| Classic | RM 50 per year |"
    )
    assert render_table(()) == ""


# --- text packing ----------------------------------------------------------------------------


def test_paragraphs_are_packed_up_to_max_chars() -> None:
    paragraph = "Customers may dispute a card transaction within 60 days of the statement date."
    blocks = [Block(TITLE, "Disputes", None, 1)] + [Block(TEXT, paragraph) for _ in range(10)]
    chunks = chunk_document(_doc(*blocks), _info(), max_chars=300)
    assert all(weighted_length(c.text) <= 300 for c in chunks)
    assert sum(c.text.count(paragraph) for c in chunks) == 10
    assert len(chunks) == 4  # 3 paragraphs of 78 chars fit after the heading line
    assert all(c.text.startswith("Disputes\n") for c in chunks)


def test_long_chinese_paragraph_is_split_between_words() -> None:
    paragraph = (
        "客户致电报告银行卡丢失或被盗时，客服人员必须立即冻结该卡并核实客户身份。"
        "核实身份后应告知客户补卡费用及新卡寄送时间，并在系统中记录挂失时间和受理人员工号。"
    ) * 3
    chunks = chunk_document(
        _doc(Block(TITLE, "挂失", 1, 1), Block(TEXT, paragraph, 1)), _info(), max_chars=120
    )
    assert len(chunks) > 2
    bodies = [c.text.split("\n", 1)[1] for c in chunks]
    assert "".join(bodies) == paragraph
    boundaries = set()
    offset = 0
    for token in jieba.lcut(paragraph):
        offset += len(token)
        boundaries.add(offset)
    offset = 0
    for body in bodies[:-1]:
        offset += len(body)
        assert offset in boundaries, f"cut inside a word after {body[-4:]!r}"
    assert all(weighted_length(c.text) <= 120 for c in chunks)
    assert all(c.language == "zh" for c in chunks)


# --- metadata --------------------------------------------------------------------------------


def test_ids_positions_and_hashes_are_stable_across_runs() -> None:
    first = chunk_document(_doc(*LOST_CARD_PROCEDURE), _info("card-services", 7))
    second = chunk_document(_doc(*LOST_CARD_PROCEDURE), _info("card-services", 7))
    assert [c.chunk_id for c in first] == [f"card-services:v7:{i}" for i in range(4)]
    assert first == second
    assert [c.position for c in first] == [0, 1, 2, 3]
    assert first[1].content_hash == hashlib.sha256(first[1].text.encode()).hexdigest()
    assert len({c.content_hash for c in first}) == 4
    assert all(c.document == _info("card-services", 7) for c in first)


def test_pages_are_sorted_and_distinct() -> None:
    chunks = chunk_document(
        _doc(
            Block(TITLE, "Overdrafts", 3, 1),
            Block(TEXT, "Arranged overdrafts carry a monthly fee.", 4),
            Block(TEXT, "The fee is waived below 50.", 3),
            Block(TEXT, "Interest is charged daily.", None),
            Block(TEXT, "Unarranged overdrafts are declined.", 4),
        ),
        _info(),
    )
    assert len(chunks) == 1
    assert chunks[0].pages == (3, 4)


def test_empty_blocks_are_dropped_and_no_chunk_is_empty() -> None:
    chunks = chunk_document(
        _doc(
            Block(TITLE, "   ", None, 1),
            Block(TITLE, "Cheques", None, 1),
            Block(TEXT, "  "),
            Block(ITEM, ""),
            Block(TABLE, "", rows=(("", ""),)),
            Block(TITLE, "Empty section", None, 2),
            Block(TEXT, "\n"),
        ),
        _info(),
    )
    assert chunks == []
    chunks = chunk_document(
        _doc(
            Block(TITLE, "Cheques", None, 1),
            Block(TEXT, ""),
            Block(TEXT, "Cheques clear in 2 days."),
        ),
        _info(),
    )
    assert [c.text for c in chunks] == ["Cheques\nCheques clear in 2 days."]


def test_invalid_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="max_chars is 0"):
        chunk_document(_doc(*LOST_CARD_PROCEDURE), _info(), max_chars=0)


# --- categories ------------------------------------------------------------------------------


def test_infer_category_procedure() -> None:
    blocks = (
        Block(TITLE, "How to report a lost card", None, 1),
        Block(ITEM, "1. Verify identity."),
        Block(ITEM, "2. Block the card."),
    )
    assert infer_category(_doc(*blocks, title="Lost cards")) == Category.PROCEDURE
    assert infer_category(_doc(*blocks[1:], title="银行卡挂失操作流程")) == Category.PROCEDURE
    # procedure words without numbered steps are not enough
    assert infer_category(_doc(blocks[0], Block(TEXT, "Call the hotline."))) == Category.POLICY


def test_infer_category_faq_product_sheet_and_policy() -> None:
    text = Block(TEXT, "Customers can ask about their cards.")
    assert infer_category(_doc(text, title="Credit card FAQ")) == Category.FAQ
    assert infer_category(_doc(text, title="信用卡常见问题")) == Category.FAQ
    assert (
        infer_category(_doc(text, title="Schedule of fees and charges")) == Category.PRODUCT_SHEET
    )
    assert infer_category(_doc(text, title="个人账户收费标准")) == Category.PRODUCT_SHEET
    assert infer_category(_doc(text, _fee_table(10), title="Rewards")) == Category.PRODUCT_SHEET
    assert infer_category(_doc(text, title="Anti-money laundering policy")) == Category.POLICY


def test_table_between_steps_follows_the_procedure_as_its_own_chunk() -> None:
    chunks = chunk_document(
        _doc(
            Block(TITLE, "Sending an international wire", 1, 1),
            Block(ITEM, "1. Check the customer's daily limit.", 1),
            Block(TEXT, "Table 2: Daily wire limits", 1),
            Block(TABLE, "", 2, rows=(("Channel", "Limit"), ("Branch", "200,000"))),
            Block(ITEM, "2. Enter the beneficiary's SWIFT code.", 2),
            Block(ITEM, "3. Read back the amount and currency.", 2),
        ),
        _info(),
    )
    assert [c.kind for c in chunks] == [ChunkKind.PROCEDURE, ChunkKind.TABLE]
    assert chunks[0].text.splitlines()[1:] == [
        "1. Check the customer's daily limit.",
        "2. Enter the beneficiary's SWIFT code.",
        "3. Read back the amount and currency.",
    ]
    assert chunks[1].text.splitlines()[:3] == [
        "Sending an international wire",
        "Table 2: Daily wire limits",
        "| Channel | Limit |",
    ]
    assert chunks[1].pages == (1, 2)
