"""Exercise generation on hand-made chunks: ordering, fill-ins (sentences and tables, English
and Chinese), drills and topics. No model, no files."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from kb.training.generate import (
    drill_exercises,
    fill_in_exercises,
    find_key_facts,
    ordering_exercises,
    outdated_exercises,
    procedure_groups,
    shuffled_order,
    topics,
)
from kb.training.types import BLANK, DrillMapping, FillPayload, OrderPayload
from kb.types import Category, Chunk, ChunkKind, DocumentInfo, DocumentRecord


def info(
    document_id: str = "lost-card",
    title: str = "Lost Card Procedure",
    language: str = "en",
    category: Category = Category.PROCEDURE,
    version: int = 1,
) -> DocumentInfo:
    return DocumentInfo(
        document_id=document_id,
        version=version,
        title=title,
        source_name=f"{document_id}.md",
        format="md",
        language=language,
        category=category,
        effective_date=dt.date(2026, 3, 1),
        expiry_date=None,
        groups=("everyone",),
    )


def chunk(
    position: int,
    body: str,
    section_path: tuple[str, ...] = ("Card services", "Reporting by phone"),
    kind: ChunkKind = ChunkKind.TEXT,
    document: DocumentInfo | None = None,
    table_rows: tuple[tuple[str, ...], ...] = (),
    heading: str | None = None,
) -> Chunk:
    """A chunk as the chunker makes it: the heading path first, then the body."""
    document = document or info()
    heading = heading if heading is not None else " > ".join(section_path)
    return Chunk(
        chunk_id=f"{document.document_id}:v{document.version}:{position}",
        document=document,
        position=position,
        kind=kind,
        text=f"{heading}\n{body}",
        section_path=section_path,
        pages=(1,),
        language=document.language,
        content_hash=f"hash-{position}",
        table_rows=table_rows,
    )


def table_text(rows: tuple[tuple[str, ...], ...]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "| " + " | ".join("---" for _ in rows[0]) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


PHONE_STEPS = (
    "1. Greet the customer and confirm the card is lost.\n"
    "2. Complete caller authentication to Level 2.\n"
    "   a. If the phone was stolen, ask two knowledge questions.\n"
    "3. Cancel the card in CardView.\n"
    "Note: Cancel the card before asking about transactions.\n"
    "4. Order a replacement card.\n"
    "   a. Express delivery costs £15 and arrives the next working day if ordered by 16:00."
)


# ---------------------------------------------------------------- ordering


def test_ordering_exercise_keeps_top_level_steps_in_document_order():
    procedure = chunk(4, PHONE_STEPS, kind=ChunkKind.PROCEDURE)
    [exercise] = ordering_exercises([procedure])
    assert exercise.id == "order:lost-card:v1:4"
    assert exercise.kind == "order"
    assert exercise.status == "draft"
    assert isinstance(exercise.payload, OrderPayload)
    assert exercise.payload.steps == (
        "Greet the customer and confirm the card is lost.",
        "Complete caller authentication to Level 2.",
        "Cancel the card in CardView.",
        "Order a replacement card.",
    )
    assert sorted(exercise.payload.presented) == sorted(exercise.payload.steps)
    assert exercise.payload.presented != exercise.payload.steps
    assert exercise.source.chunk_id == procedure.chunk_id
    assert exercise.source.section == "Card services > Reporting by phone"
    assert exercise.source_text == procedure.text
    assert all(step in exercise.source_text for step in exercise.payload.steps)
    assert exercise.topic == "Card services"
    assert "Reporting by phone" in exercise.prompt


def test_ordering_is_deterministic():
    procedure = chunk(4, PHONE_STEPS, kind=ChunkKind.PROCEDURE)
    assert ordering_exercises([procedure]) == ordering_exercises([procedure])


def test_procedure_with_fewer_than_three_steps_gives_no_ordering_exercise():
    short = chunk(2, "1. Verify the caller.\n2. Unlock the account.", kind=ChunkKind.PROCEDURE)
    assert ordering_exercises([short]) == []


def test_text_chunks_give_no_ordering_exercise():
    assert ordering_exercises([chunk(1, "1. One.\n2. Two.\n3. Three.")]) == []


def test_procedure_split_by_the_chunker_is_one_exercise():
    first = chunk(
        4, "1. Greet the customer.\n2. Authenticate the caller.", kind=ChunkKind.PROCEDURE
    )
    second = chunk(
        5,
        "3. Cancel the card.\n4. Order a replacement.",
        kind=ChunkKind.PROCEDURE,
        heading="Card services > Reporting by phone (continued)",
    )
    assert procedure_groups([second, first]) == [(first, second)]
    [exercise] = ordering_exercises([first, second])
    assert exercise.id == f"order:{first.chunk_id}"
    assert exercise.payload.steps == (
        "Greet the customer.",
        "Authenticate the caller.",
        "Cancel the card.",
        "Order a replacement.",
    )
    assert exercise.payload.chunk_ids == (first.chunk_id, second.chunk_id)
    assert all(step in exercise.source_text for step in exercise.payload.steps)


def test_chinese_procedure_steps():
    document = info("zh-lost-card", "银行卡挂失操作规程", language="zh")
    procedure = chunk(
        4,
        "1. 核实客户身份。\n   a. 第一级核验。\n2. 确认挂失卡片。\n3. 执行挂失并告知客户挂失即时生效。\n4. 安排补卡。",
        section_path=("银行卡服务", "四、操作步骤"),
        kind=ChunkKind.PROCEDURE,
        document=document,
    )
    [exercise] = ordering_exercises([procedure])
    assert exercise.payload.steps == (
        "核实客户身份。",
        "确认挂失卡片。",
        "执行挂失并告知客户挂失即时生效。",
        "安排补卡。",
    )
    assert exercise.payload.presented != exercise.payload.steps
    assert "银行卡挂失操作规程" in exercise.prompt
    assert exercise.topic == "银行卡服务"


def test_repeated_step_texts_are_skipped_as_ambiguous():
    procedure = chunk(1, "1. Check.\n2. Wait.\n3. Check.", kind=ChunkKind.PROCEDURE)
    assert ordering_exercises([procedure]) == []


@pytest.mark.parametrize("length", range(2, 9))
def test_shuffle_never_returns_the_correct_order(length):
    items = [f"step {i}" for i in range(length)]
    for seed in range(300):
        shuffled = shuffled_order(items, f"order:doc:v1:{seed}")
        assert list(shuffled) != items
        assert sorted(shuffled) == sorted(items)


def test_shuffle_depends_only_on_the_seed():
    items = [f"step {i}" for i in range(8)]
    assert shuffled_order(items, "order:a:v1:1") == shuffled_order(items, "order:a:v1:1")
    orders = {shuffled_order(items, f"order:a:v1:{n}") for n in range(20)}
    assert len(orders) > 1  # the seed matters


# ---------------------------------------------------------------- key facts


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("Express delivery costs £15.", ["£15"]),
        ("A fee of HK$180 applies, or US$25 for USD.", ["HK$180", "US$25"]),
        ("Up to RMB 50,000 a day, or ¥3,000 in cash.", ["RMB 50,000", "¥3,000"]),
        ("每日限额为50,000元，手续费为交易金额的2.75%。", ["50,000元", "2.75%"]),
        ("Arrives in 5-7 working days; PIN within 3 days.", ["5-7", "3"]),
        ("新卡在5至7个工作日内寄达，挂失24小时内生效。", ["5至7", "24"]),
        ("Cheques paid in before 16:00 clear the same day.", ["16:00"]),
        ("If there are more than 5 unrecognised transactions, call us.", ["5"]),
        ("如不认可的交易超过5笔，须转接。", ["5"]),
        ("热线7×24小时服务，also open 24/7.", []),
        ("Effective date: 2026-03-01. 生效日期：2025年3月1日。", []),
        ("Value date D+1 for EUR.", []),
    ],
)
def test_find_key_facts(text, values):
    assert [fact.value for fact in find_key_facts(text)] == values


def test_duration_keeps_its_unit_as_an_accepted_phrase():
    [fact] = find_key_facts("Standard replacement arrives in 5-7 working days.")
    assert (fact.value, fact.phrase) == ("5-7", "5-7 working days")


# ---------------------------------------------------------------- fill-ins


def test_fill_ins_from_sentences_blank_a_verbatim_value():
    procedure = chunk(4, PHONE_STEPS, kind=ChunkKind.PROCEDURE)
    exercises = fill_in_exercises([procedure])
    answers = {e.payload.answer for e in exercises}
    assert answers == {"£15", "16:00"}
    for exercise in exercises:
        assert isinstance(exercise.payload, FillPayload)
        assert exercise.kind == "fill"
        assert BLANK in exercise.prompt
        assert exercise.payload.answer in exercise.source_text
        assert exercise.payload.original in exercise.source_text
        assert exercise.payload.answer not in exercise.prompt
        assert exercise.source.chunk_id == procedure.chunk_id
    express = next(e for e in exercises if e.payload.answer == "£15")
    assert express.id == "fill:lost-card:v1:4:1"
    assert "Step 4: Order a replacement card." in express.prompt  # the sub-step's context
    assert express.prompt.endswith(
        "Express delivery costs ____ and arrives the next working day if ordered by 16:00."
    )


def test_fill_ins_are_deterministic():
    procedure = chunk(4, PHONE_STEPS, kind=ChunkKind.PROCEDURE)
    assert fill_in_exercises([procedure]) == fill_in_exercises([procedure])


def test_chinese_fill_ins():
    document = info("zh-fees", "收费标准", language="zh", category=Category.PRODUCT_SHEET)
    text = chunk(
        2,
        "加急补卡收费£15，新卡在5至7个工作日内寄达客户登记地址。\n"
        "客户须在未经授权交易扣账之日起13个月内报告。",
        section_path=("收费标准", "三、补卡"),
        document=document,
    )
    exercises = fill_in_exercises([text])
    by_answer = {e.payload.answer: e for e in exercises}
    assert set(by_answer) == {"£15", "5至7", "13"}
    assert by_answer["5至7"].payload.accepted == ("5至7个工作日",)
    assert by_answer["13"].prompt.endswith("客户须在未经授权交易扣账之日起____个月内报告。")
    assert all(e.payload.answer in e.source_text for e in exercises)


def test_clauses_joined_by_a_chinese_semicolon_stay_together():
    document = info("zh-card", "补卡", language="zh")
    text = chunk(
        1,
        "客户在工作日16:00前申请加急补卡的，新卡于下一个工作日送达；逾期申请的顺延一个工作日。",
        section_path=("银行卡服务", "补卡"),
        document=document,
    )
    [exercise] = fill_in_exercises([text])
    assert exercise.prompt.endswith(
        "客户在工作日____前申请加急补卡的，新卡于下一个工作日送达；逾期申请的顺延一个工作日。"
    )


FEES = (
    ("Service", "Fee", "Notes"),
    ("Standard replacement", "Free", "Arrives in 5-7 working days"),
    ("Express delivery", "£15", "Next working day if ordered by 16:00"),
    ("Emergency cash abroad", "£20", "Up to £500"),
)


def test_fill_ins_from_table_rows():
    table = chunk(
        11,
        "Table 2: Card replacement fees\n" + table_text(FEES),
        section_path=("Card services", "Fees summary"),
        kind=ChunkKind.TABLE,
        table_rows=FEES,
    )
    exercises = fill_in_exercises([table])
    questions = {e.prompt.splitlines()[-1]: e.payload.answer for e in exercises}
    assert questions["For Express delivery, Fee is ____."] == "£15"
    assert questions["For Emergency cash abroad, Fee is ____."] == "£20"
    assert questions["For Standard replacement, Fee is ____."] == "Free"
    assert questions["For Standard replacement, Notes is: Arrives in ____ working days"] == "5-7"
    assert questions["For Emergency cash abroad, Notes is: Up to ____"] == "£500"
    for exercise in exercises:
        assert exercise.payload.answer in exercise.source_text
        assert exercise.payload.original.startswith("| ")  # the row as the document has it
        assert exercise.payload.original in exercise.source_text
    free = next(e for e in exercises if e.payload.answer == "Free")
    assert "0" in free.payload.accepted


def test_table_rows_with_the_same_label_are_told_apart_by_another_column():
    rows = (
        ("Currency", "Payment type", "Online cut-off"),
        ("Pound sterling", "Faster Payment", "24/7"),
        ("Pound sterling", "CHAPS", "15:30"),
        ("Euro", "SEPA", "14:00"),
    )
    table = chunk(
        4, table_text(rows), section_path=("Cut-off times",), kind=ChunkKind.TABLE, table_rows=rows
    )
    questions = [e.prompt.splitlines()[-1] for e in fill_in_exercises([table])]
    assert "For Pound sterling / CHAPS, Online cut-off is ____." in questions
    assert "For Euro / SEPA, Online cut-off is ____." in questions


def test_chinese_table_fill_in():
    document = info("zh-fees", "收费标准", language="zh", category=Category.PRODUCT_SHEET)
    rows = (("服务项目", "收费标准", "备注"), ("加急补卡", "£15/张", "下一个工作日送达"))
    table = chunk(
        3,
        table_text(rows),
        section_path=("收费标准", "三、收费明细"),
        kind=ChunkKind.TABLE,
        table_rows=rows,
        document=document,
    )
    [exercise] = fill_in_exercises([table])
    assert exercise.prompt.splitlines()[-1] == "「加急补卡」的收费标准：____/张"
    assert exercise.payload.answer == "£15"


def test_a_table_value_not_in_the_chunk_text_is_never_asked():
    rows = (("Service", "Fee"), ("Express delivery", "£15"))
    rendered = (("Service", "Fee"), ("Express delivery", "£16"))  # text and cells disagree
    table = chunk(
        1, table_text(rendered), section_path=("Fees",), kind=ChunkKind.TABLE, table_rows=rows
    )
    assert fill_in_exercises([table]) == []


def test_revision_history_gives_no_fill_ins():
    rows = (
        ("Version", "Date", "Change"),
        ("3.1", "2025-06-15", "Emergency cash limit set at £500"),
    )
    table = chunk(
        13,
        table_text(rows),
        section_path=("Card services", "Revision history"),
        kind=ChunkKind.TABLE,
        table_rows=rows,
    )
    assert fill_in_exercises([table]) == []


def test_a_question_that_would_give_its_answer_away_is_skipped():
    text = chunk(1, "The fee is £25 for a card, and £25 again for a second card on the account.")
    assert fill_in_exercises([text]) == []


def test_too_short_a_sentence_is_skipped():
    assert fill_in_exercises([chunk(1, "- £25.")]) == []


# ---------------------------------------------------------------- drills


def test_drill_gold_steps_are_the_documents_first_procedure():
    procedure = chunk(4, PHONE_STEPS, kind=ChunkKind.PROCEDURE)
    later = chunk(
        6,
        "1. Cancel the card.\n2. Offer emergency cash.\n3. Record the service.",
        section_path=("Card services", "Reporting from abroad"),
        kind=ChunkKind.PROCEDURE,
    )
    intro = chunk(1, "This procedure covers lost cards.", section_path=("Card services", "Purpose"))
    faq = info("card-faq", "Card FAQ", category=Category.FAQ)
    faq_chunk = chunk(0, "Cards arrive in 5-7 working days.", ("Cards", "Delivery"), document=faq)
    mappings = [
        DrillMapping(7, "I lost my card yesterday", "lost-card", "trainer", "2026-01-01"),
        DrillMapping(8, "When will my card arrive?", "card-faq", "trainer", "2026-01-01"),
        DrillMapping(9, "Something about a deleted doc", "gone", "trainer", "2026-01-01"),
    ]
    drills = drill_exercises(
        mappings, {"lost-card": [later, intro, procedure], "card-faq": [faq_chunk]}
    )
    assert [d.id for d in drills] == ["drill:7", "drill:8"]
    lost, arrival = drills
    assert lost.payload.document_id == "lost-card"
    assert lost.payload.steps == ordering_exercises([procedure])[0].payload.steps
    assert lost.source.chunk_id == procedure.chunk_id
    assert "I lost my card yesterday" in lost.prompt
    assert arrival.payload.steps == ()
    assert arrival.source.chunk_id == faq_chunk.chunk_id


# ---------------------------------------------------------------- topics


def record(document: DocumentInfo, current_version: int | None = 1) -> DocumentRecord:
    return DocumentRecord(
        document_id=document.document_id,
        title=document.title,
        source_name=document.source_name,
        format=document.format,
        language=document.language,
        category=document.category,
        effective_date=document.effective_date,
        expiry_date=None,
        groups=document.groups,
        owner=None,
        current_version=current_version,
        chunk_count=1,
        updated_at="2026-01-01",
    )


def test_topics_from_categories_and_top_level_sections():
    lost = info()
    fees = info("fees", "Fee Schedule", category=Category.PRODUCT_SHEET)
    deleted = info("old", "Old Policy", category=Category.POLICY)
    chunks = [
        chunk(0, "Owner: Cards", section_path=("Lost Card Procedure",), document=lost),
        chunk(4, PHONE_STEPS, kind=ChunkKind.PROCEDURE, document=lost),
        chunk(1, "Fees in pounds.", section_path=("Fee Schedule",), document=fees),
        chunk(0, "Old text.", section_path=("Policies",), document=deleted),
    ]
    found = {t.id: t for t in topics([record(lost), record(fees), record(deleted, None)], chunks)}
    assert set(found) == {
        "category:procedure",
        "category:product_sheet",
        "section:card services",
        "section:fee schedule",
    }
    procedures = found["category:procedure"]
    assert procedures.name == "Procedures"
    assert procedures.documents == (("lost-card", "Lost Card Procedure"),)
    assert procedures.sections == ("section:card services",)
    cards = found["section:card services"]
    assert cards.kind == "section"
    assert [p.chunk_ids for p in cards.procedures] == [("lost-card:v1:4",)]
    assert cards.procedures[0].section == "Card services > Reporting by phone"
    # a document with no section of its own is listed under its title
    assert found["section:fee schedule"].documents == (("fees", "Fee Schedule"),)


def test_outdated_exercises_point_at_replaced_or_deleted_versions():
    procedure = chunk(4, PHONE_STEPS, kind=ChunkKind.PROCEDURE)
    exercises = ordering_exercises([procedure]) + fill_in_exercises([procedure])
    assert outdated_exercises(exercises, [record(info())]) == []
    assert outdated_exercises(exercises, [record(info(), current_version=2)]) == exercises
    assert outdated_exercises(exercises, []) == exercises


def test_every_generated_id_is_unique():
    procedure = chunk(4, PHONE_STEPS, kind=ChunkKind.PROCEDURE)
    table = chunk(
        11, table_text(FEES), section_path=("Card services", "Fees"), kind=ChunkKind.TABLE,
        table_rows=FEES,
    )  # fmt: skip
    exercises = list(
        itertools.chain(
            ordering_exercises([procedure, table]), fill_in_exercises([procedure, table])
        )
    )
    assert len({e.id for e in exercises}) == len(exercises)


def test_a_time_after_a_currency_code_is_a_time_not_an_amount():
    from kb.training.generate import find_key_facts

    facts = [f.value for f in find_key_facts("HKD wires close at HKD 17:30; the fee is HKD 250.")]
    assert facts == ["17:30", "HKD 250"]
