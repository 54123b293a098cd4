"""Parsing real files of every supported format (tests/data, described in EXPECTED.md)."""

from __future__ import annotations

import datetime as dt

import jieba
import pytest

from ingest.chunk import chunk_document, infer_category
from ingest.load import load_document
from kb.access import OPERATOR
from kb.errors import (
    CorruptDocumentError,
    EmptyDocumentError,
    EncryptedDocumentError,
    UnsupportedFormatError,
)
from kb.types import BlockKind, ChunkKind, DocumentInfo, ParsedDocument
from tests.conftest import BAD, GOOD

pytestmark = pytest.mark.integration
LIMIT = 50_000_000


def parse(name: str) -> ParsedDocument:
    return load_document(GOOD / name, max_bytes=LIMIT)


def chunks_of(parsed: ParsedDocument, **sizes):
    info = DocumentInfo(
        "doc", 1, parsed.title, parsed.source_name, parsed.format, parsed.language,
        infer_category(parsed), None, None, ("everyone",),
    )  # fmt: skip
    return chunk_document(parsed, info, **sizes)


def titles(parsed: ParsedDocument) -> list[str]:
    return [b.text for b in parsed.blocks if b.kind == BlockKind.TITLE]


def steps(parsed: ParsedDocument) -> list[str]:
    return [b.text for b in parsed.blocks if b.kind == BlockKind.LIST_ITEM and b.text[:1].isdigit()]


def tables(parsed: ParsedDocument):
    return [b for b in parsed.blocks if b.kind == BlockKind.TABLE]


def test_every_supported_format_parses_with_its_facts():
    expected = {
        "policy.pdf": ("pdf", "Wire Transfer Cut-off Times and Fees Policy", dt.date(2025, 1, 15)),
        "zh_procedure.pdf": ("pdf", "借记卡挂失及补卡操作规程", dt.date(2025, 6, 1)),
        "procedure.docx": ("docx", "Reporting a Lost or Stolen Debit Card", dt.date(2025, 3, 1)),
        "zh_hant.docx": ("docx", "網上銀行密碼重設程序", dt.date(2025, 5, 15)),
        "page.html": ("html", "Online Banking Password Reset", dt.date(2025, 2, 10)),
        "guide.md": ("md", "Standing Order Set-up Guide", dt.date(2025, 4, 1)),
        "notes.txt": ("txt", "Branch Cash Deposit Limits", dt.date(2025, 1, 2)),
        "deck.pptx": ("pptx", "Using Cards Overseas - Agent Briefing", dt.date(2025, 7, 1)),
        "fees.xlsx": ("xlsx", "Personal Banking Fee Schedule", dt.date(2025, 4, 1)),
        "message.eml": (
            "eml",
            "Change to USD wire cut-off time from 5 May 2025",
            dt.date(2025, 5, 5),
        ),
    }
    for name, (fmt, title, effective) in expected.items():
        parsed = parse(name)
        assert (parsed.format, parsed.title, parsed.effective_date) == (fmt, title, effective), name
        assert parsed.source_name == name
    csv = parse("fees.csv")
    assert csv.format == "csv" and tables(csv)[0].rows[0] == ("Service", "Fee", "Notes")


def test_pdf_pages_headings_steps_and_table():
    parsed = parse("policy.pdf")
    assert parsed.page_count == 2
    assert titles(parsed) == [
        "Purpose",
        "Cut-off times",
        "Same-day processing",
        "Payments after the cut-off",
        "Procedure for urgent payments",
        "Fees",
        "Exceptions",
        "Related documents",
    ]
    assert [s.split(".")[0] for s in steps(parsed)] == ["1", "2", "3", "4", "5", "6"]
    assert parsed.expiry_date == dt.date(2026, 12, 31)
    assert parsed.owner == "Payments Operations"
    (fees,) = tables(parsed)
    assert fees.rows[0] == ("Service", "Fee", "Notes")
    assert len(fees.rows) == 9 and fees.page == 2
    notes = [b.text for b in parsed.blocks if b.text.startswith("Warning:")]
    assert notes == [
        "Warning: Never backdate a payment or change its value date to meet a cut-off time."
    ]


def test_chinese_pdf_keeps_paragraphs_as_text_and_table_whole():
    parsed = parse("zh_procedure.pdf")
    assert parsed.language == "zh"
    assert titles(parsed) == ["目的", "适用范围", "操作步骤", "电话挂失", "补卡费用"]
    paragraphs = [b.text for b in parsed.blocks if b.kind == BlockKind.TEXT and len(b.text) > 150]
    assert len(paragraphs) == 2 and all(" " not in p for p in paragraphs)
    (table,) = tables(parsed)
    assert table.rows[0] == ("服务", "费用", "寄送时间") and len(table.rows) == 4


def test_traditional_chinese_docx():
    parsed = parse("zh_hant.docx")
    assert parsed.owner == "數碼銀行服務部"
    assert "概述" in titles(parsed) and "重設步驟" in titles(parsed)
    assert not any(len(t) > 25 for t in titles(parsed)), "a paragraph was misread as a title"
    assert [s[:2] for s in steps(parsed)] == ["1.", "2.", "3.", "4."]


def test_docx_sub_steps_html_nested_lists_and_slides():
    docx = parse("procedure.docx")
    sub = [b for b in docx.blocks if b.kind == BlockKind.LIST_ITEM and b.level == 2]
    assert [b.text[:2] for b in sub] == ["a."]
    html = parse("page.html")
    assert [b.text[:2] for b in html.blocks if b.kind == BlockKind.LIST_ITEM and b.level == 2] == [
        "a.",
        "b.",
    ]
    deck = parse("deck.pptx")
    assert deck.page_count == 4
    assert titles(deck) == ["Travel notices", "Card declined abroad", "Overseas fees"]
    declined = [b for b in deck.blocks if b.kind == BlockKind.LIST_ITEM]
    assert [b.page for b in declined] == [3, 3, 3]


def test_email_keeps_sender_and_subject():
    parsed = parse("message.eml")
    props = dict(parsed.properties)
    assert props["from"].startswith("Payments Operations")
    assert props["subject"] == parsed.title
    assert tables(parsed)[0].rows[1] == ("USD", "16:00", "15:00")


def test_plain_text_numbered_headings_and_steps():
    parsed = parse("notes.txt")
    assert titles(parsed)[:2] == ["1. Deposit limits", "2. Large deposits"]
    assert [s[:2] for s in steps(parsed)] == ["1)", "2)", "3)"]
    assert not any(set(b.text) == {"="} for b in parsed.blocks)


def test_chunks_carry_section_paths_steps_together_tables_whole():
    chunks = chunks_of(parse("procedure.docx"))
    procedure = [c for c in chunks if c.kind == ChunkKind.PROCEDURE]
    assert len(procedure) == 1
    assert procedure[0].section_path == ("Procedure", "Blocking the card")
    for n in range(1, 6):
        assert f"{n}. " in procedure[0].text
    assert "Note: A blocked card cannot be unblocked" in procedure[0].text
    (table,) = [c for c in chunks if c.kind == ChunkKind.TABLE]
    assert table.section_path == ("Procedure", "Replacement card fees")
    assert "Table 1: Replacement card fees" in table.text and len(table.table_rows) == 4

    pdf_chunks = chunks_of(parse("policy.pdf"))
    (fees,) = [c for c in pdf_chunks if c.kind == ChunkKind.TABLE]
    assert fees.pages == (2,) and len(fees.table_rows) == 9
    (urgent,) = [c for c in pdf_chunks if c.kind == ChunkKind.PROCEDURE]
    assert urgent.section_path == ("Procedure for urgent payments",)
    assert (
        urgent.text.index("1. Confirm")
        < urgent.text.index("a. For payments")
        < urgent.text.index("6. Record")
    )


def test_chinese_never_cut_mid_word():
    parsed = parse("zh_procedure.pdf")
    chunks = chunks_of(parsed, max_chars=200)  # small, to force splits of the long paragraphs
    body = [
        c for c in chunks if c.kind == ChunkKind.TEXT and c.section_path[-1] in ("目的", "适用范围")
    ]
    assert len(body) > 2, "the long paragraphs should have been split"
    checked = 0
    for paragraph in (
        b.text for b in parsed.blocks if b.kind == BlockKind.TEXT and len(b.text) > 150
    ):
        boundaries, position = {0, len(paragraph)}, 0
        for word in jieba.lcut(paragraph):
            position += len(word)
            boundaries.add(position)
        for chunk in body:
            piece = chunk.text.split("\n", 1)[1]
            start = paragraph.find(piece)
            if start >= 0:
                checked += 1
                assert start in boundaries and start + len(piece) in boundaries, piece[:20]
    assert checked == len(body), "every piece should come from one of the long paragraphs"


@pytest.mark.parametrize(
    ("name", "error", "words"),
    [
        ("empty.txt", EmptyDocumentError, "empty"),
        ("empty.docx", EmptyDocumentError, "no text"),
        ("image_only.pdf", EmptyDocumentError, "OCR"),
        ("corrupt.pdf", CorruptDocumentError, "damaged"),
        ("corrupt.docx", CorruptDocumentError, "damaged"),
        ("encrypted.pdf", EncryptedDocumentError, "password"),
        ("encrypted.docx", EncryptedDocumentError, "password"),
        ("fake.pdf", UnsupportedFormatError, "web page"),
        ("unsupported.bin", UnsupportedFormatError, "unsupported file type .bin"),
        ("archive.zip", UnsupportedFormatError, "unsupported file type .zip"),
    ],
)
def test_bad_files_are_refused_with_a_clear_reason(name, error, words):
    with pytest.raises(error) as caught:
        load_document(BAD / name, max_bytes=LIMIT)
    assert words in caught.value.reason


def test_batch_with_every_bad_file_still_ingests_the_good_ones(services):
    report = services.ingest_paths([GOOD, BAD])
    by_name = {f.source_name: f for f in report.files}
    bad_names = {p.name for p in BAD.iterdir()}
    assert all(by_name[n].status.value == "failed" and by_name[n].reason for n in bad_names)
    good = [f for f in report.files if f.source_name not in bad_names]
    assert len(good) == 12 and all(f.status.value == "added" for f in good)
    assert services.search("wire transfer fee for a branch transfer", 1, reader=OPERATOR)[0][
        0
    ].document.source_name in {
        "policy.pdf",
        "fees.xlsx",
    }
