"""The original viewer's pure parts (kb.originals): finding a passage on a page whatever its
line breaks and widths, placing boxes on the rendered image, the cited section and its HTML.
One real PDF from tests/data renders a page with the passage marked."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import re

from kb.originals import (
    Box,
    Original,
    PageView,
    SectionPart,
    SectionView,
    locate,
    normalised,
    passage_pieces,
    section_html,
    section_parts,
    to_pixels,
    view,
)
from kb.types import Category, Chunk, ChunkKind, Citation, DocumentInfo
from tests.conftest import GOOD

INFO = DocumentInfo(
    "guide", 1, "Card guide", "guide.docx", "docx", "en", Category.PROCEDURE, None, None,
    ("everyone",),
)  # fmt: skip


def chunk(position: int, path: tuple[str, ...], body: str) -> Chunk:
    heading = " > ".join(path)
    return Chunk(
        f"guide:v1:{position}", INFO, position, ChunkKind.TEXT, f"{heading}\n{body}", path,
        (), "en", str(position),
    )  # fmt: skip


def citation(chunk_id: str, title: str = "Card guide") -> Citation:
    return Citation("guide", title, "guide.docx", "", (), 1, dt.date(2025, 1, 1), chunk_id)


def test_normalised_drops_spaces_folds_width_quotes_and_case_and_maps_back():
    folded, where = normalised("A  “Quote”，\r\nB")
    assert folded == 'a"quote",b'
    assert [where[i] for i in (0, 1, len(folded) - 1)] == [0, 3, 13]


def test_a_passage_is_found_across_the_line_breaks_the_pdf_put_in():
    page = "Page 1\r\nPurpose\r\nThis policy sets the daily cut-off\r\ntimes for wires.\r\nOther"
    spans = locate(page, "This policy sets the daily cut-off times for wires.")
    assert [page[s:e] for s, e in spans] == [
        "This policy sets the daily cut-off\r\ntimes for wires."
    ]


def test_table_cells_are_found_in_order_and_short_cells_do_not_mark_anything():
    page = "Fee 0 intro\r\nService Fee Notes\r\nBranch transfer HKD\r\n100\r\nWaived for Premier"
    passage = "| Service | Fee | Notes |\n| --- | --- | --- |\n| Branch transfer | HKD 100 | Waived for Premier |"
    assert passage_pieces(passage) == [
        "Service", "Fee", "Notes", "Branch transfer", "HKD 100", "Waived for Premier",
    ]  # fmt: skip
    found = [page[s:e] for s, e in locate(page, passage)]
    # "Fee" (3 letters) is looked for after "Service": the intro's "Fee" stays unmarked, and
    # cells only whitespace apart make one run
    assert found == ["Service Fee Notes\r\nBranch transfer HKD\r\n100\r\nWaived for Premier"]
    assert locate(page, "| 0 |") == []  # one character would mark any 0 on the page


def test_a_passage_not_on_the_page_marks_nothing_and_chinese_needs_no_spaces():
    assert locate("Something else entirely", "Verify the caller's identity.") == []
    page = "目的\r\n本规程规范客服中心坐席在客户来电报告借记卡遗失\r\n或被盗时的处理流程，确保"
    spans = locate(page, "本规程规范客服中心坐席在客户来电报告借记卡遗失或被盗时的处理流程,确保")
    assert len(spans) == 1 and page[spans[0][0]] == "本" and spans[0][1] == len(page)


def test_boxes_are_placed_from_pdf_points_on_the_image_for_every_rotation():
    crop = (0.0, 0.0, 600.0, 800.0)
    rect = (100.0, 700.0, 200.0, 720.0)  # near the top left of an upright page
    assert to_pixels(rect, crop, 0, 2.0, pad=0) == Box(200, 160, 400, 200)
    assert to_pixels(rect, crop, 180, 1.0, pad=0) == Box(400, 700, 500, 720)
    assert to_pixels(rect, crop, 90, 1.0, pad=0) == Box(700, 100, 720, 200)
    assert to_pixels(rect, crop, 270, 1.0, pad=0) == Box(80, 400, 100, 500)
    shifted = to_pixels(rect, (50.0, 0.0, 650.0, 800.0), 0, 1.0, pad=2)
    assert shifted == Box(48, 78, 152, 102)  # relative to the crop box, padded


def test_the_section_is_the_cited_chunks_section_and_its_subsections_in_order():
    chunks = [
        chunk(0, ("Overview",), "Intro."),
        chunk(3, ("Blocking",), "3. Order a replacement."),
        chunk(1, ("Blocking",), "1. Verify.\n2. Block."),
        chunk(2, ("Blocking", "Abroad"), "Call collect."),
        chunk(4, ("Fees",), "Free."),
    ]
    parts = section_parts(chunks, "guide:v1:1")
    assert parts == (
        SectionPart("Blocking", "1. Verify.\n2. Block.", True),
        SectionPart("Blocking > Abroad", "Call collect.", False),
        SectionPart("Blocking", "3. Order a replacement.", False),
    )
    assert section_parts(chunks, "other:v1:0") == ()


def test_section_html_marks_the_cited_part_scrolls_to_it_and_escapes_content():
    hostile = '<img src=x onerror="alert(1)"> & <script>alert(2)</script>'
    parts = (
        SectionPart("Fees <b>", "| Service | Fee |\n| --- | --- |\n| Express | HKD 100 |", False),
        SectionPart("Fees <b>", f"1. Verify.\n   a. {hostile}", True),
    )
    page = section_html('Guide "<x>"', parts)
    assert page.count("<h4>") == 1  # one heading for both parts of the section
    assert "<td>Express</td><td>HKD 100</td>" in page
    cited = page[page.index('id="cited"') : page.index("</div>", page.index('id="cited"'))]
    assert "<mark>1. Verify.</mark>" in cited
    assert f"<mark>{html.escape('a. ' + hostile)}</mark>" in cited
    assert "margin-left:1em" in cited  # the sub-step stays indented
    # no tag from the document survives: only the page's own script and markup
    assert re.findall(r"<script>", page) == ["<script>"] and "<img" not in page
    assert "scrollIntoView" in page and "&lt;b&gt;" in page


def test_view_shows_a_section_for_word_and_a_marked_page_for_a_pdf():
    parts = (SectionPart("Blocking", "1. Verify.", True),)
    word = Original(citation("guide:v1:1"), "docx", None, "Blocking\n1. Verify.", (), parts)
    shown = view(word)
    assert (
        isinstance(shown, SectionView) and shown.found and "<mark>1. Verify.</mark>" in shown.html
    )

    passage = (
        "Purpose\nThis policy sets the daily cut-off times and the fees for outgoing wire "
        "transfers made by personal customers through the contact centre, online banking and branches. A sentence not there."
    )
    pdf = dataclasses.replace(
        word, citation=dataclasses.replace(word.citation, section="Purpose"), format="pdf",
        path=GOOD / "policy.pdf", passage=passage, pages=(1,),
    )  # fmt: skip
    page = view(pdf, dpi=72)
    assert isinstance(page, PageView) and page.found and page.pages[0].page == 1
    first = page.pages[0]
    assert first.png.startswith(b"\x89PNG") and abs(first.width - 595) <= 1  # A4 at 72 dpi
    assert all(0 <= b.left < b.right <= first.width and 0 <= b.top < b.bottom for b in first.boxes)
    assert len(first.boxes) >= 2  # the sentence runs over two lines: one box per line
    missing = dataclasses.replace(pdf, path=GOOD / "no-such-file.pdf")
    assert isinstance(view(missing), SectionView)  # the section from the base instead
