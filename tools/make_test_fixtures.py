"""Write the small document fixtures used by the test suite into tests/data/.

    python tools/make_test_fixtures.py            # (re)write tests/data/good, bad, EXPECTED.md ...
    python tools/make_test_fixtures.py --out DIR  # write somewhere else (DIR/good, DIR/bad)

Idempotent: every run rewrites the same files with the same bytes (fixed timestamps, seeded
randomness), so re-running it leaves `git status` clean. Good files are rendered by docgen from
the sources below; tests/data/good/EXPECTED.md is generated from the same sources, so the facts
it lists always match the files.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import docgen

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
MAX_BYTES = 100_000
PASSWORD = "secret"

# --------------------------------------------------------------------------------------------
# Good files: sources
# --------------------------------------------------------------------------------------------

PROCEDURE_DOCX = """---
file: procedure.docx
title: Reporting a Lost or Stolen Debit Card
owner: Card Services Operations
version: 2.4
effective: 2025-03-01
review_by: 2026-03-01
language: en
---
# Overview
Use this procedure when a customer calls to report that their debit card has been lost or \
stolen. The card must be blocked **before** any other request is handled.
## When to use this procedure
- The customer cannot find their debit card.
- The card was stolen, including with a wallet or phone.
- The card was kept by an ATM of another bank.
# Procedure
## Blocking the card
1. Verify the caller's identity with two-factor verification.
   a. If the one-time passcode cannot be delivered, ask two security questions instead.
2. Open the card record in CardLink and select Block card with reason code LS01.
> Note: A blocked card cannot be unblocked. If the customer later finds the card, it must \
still be destroyed.
3. Read the last five transactions to the customer and ask whether they recognise each one.
4. Order a replacement card to the address on file.
5. Give the customer the case reference number and end the call.
## Replacement card fees
Table 1: Replacement card fees
| Service | Fee | Notes |
|---|---|---|
| Standard replacement | HKD 0 | Delivered in 5 working days |
| Express replacement | HKD 100 | Delivered next working day |
| Replacement at branch | HKD 50 | Same day, selected branches only |
"""

POLICY_PDF = """---
file: policy.pdf
title: Wire Transfer Cut-off Times and Fees Policy
owner: Payments Operations
version: 4.1
effective: 2025-01-15
review_by: 2026-01-15
expiry: 2026-12-31
language: en
---
# Purpose
This policy sets the daily cut-off times and the fees for outgoing wire transfers made by \
personal customers through the contact centre, online banking and branches. Agents use it to \
tell customers when a payment will be sent and how much it will cost. A payment received after \
the cut-off time is processed on the next working day, and the customer must be told this \
before the payment is confirmed.
This policy applies to single payments in Hong Kong dollars, US dollars, renminbi and euro. \
Bulk payments and payments made under a corporate mandate follow the Business Payments Policy \
and are out of scope.
# Cut-off times
## Same-day processing
Payments are sent on the same working day only if the instruction is complete and received \
before the cut-off time for its currency. The cut-off times are: HKD 17:30, USD 16:00, CNY \
15:00 and EUR 14:00, all Hong Kong time. Instructions received on a Saturday, Sunday or public \
holiday are processed on the next working day.
## Payments after the cut-off
When a customer asks for a payment after the cut-off time, the agent must offer to schedule it \
for the next working day. The agent must not promise that a payment will arrive on a \
particular day, because the receiving bank may take longer to credit the funds.
# Procedure for urgent payments
1. Confirm the currency, the amount and the beneficiary bank with the customer.
2. Check the cut-off time for the currency under Same-day processing.
3. If the cut-off has not passed, submit the payment in PayHub and select Urgent.
   a. For payments above HKD 500,000, ask a team leader to approve the payment in PayHub.
4. If the cut-off has passed, schedule the payment for the next working day.
> Warning: Never backdate a payment or change its value date to meet a cut-off time.
5. Read the reference number and the charges back to the customer.
6. Record the call outcome with reason code WT02.
# Fees
Outgoing wire fees are charged to the customer's account when the payment is sent. Fees are \
waived for Premier customers as shown in the Notes column.
Table 1: Outgoing wire transfer fees
| Service | Fee | Notes |
|---|---|---|
| Online transfer, HKD | HKD 0 | Free for all customers |
| Online transfer, foreign currency | HKD 50 | Waived for Premier customers |
| Branch transfer, HKD | HKD 100 | Waived for Premier customers |
| Branch transfer, foreign currency | HKD 150 | Waived for customers aged 65 or over |
| Phone banking transfer | HKD 120 | Agent-assisted only |
| Urgent same-day surcharge | HKD 80 | Added to the transfer fee |
| Payment amendment or recall | HKD 200 | Plus any charges of the receiving bank |
| Payment investigation | HKD 150 | Free if the bank made an error |
# Exceptions
Exceptions to this policy must be approved in writing by the Head of Payments Operations. \
Agents must record the approval reference in the call notes. Where a customer complains that \
a payment was late because of a bank error, the agent must log a complaint and refund the \
urgent surcharge without waiting for the investigation to finish.
## Related documents
- Business Payments Policy
- Complaints Handling Procedure
- Sanctions Screening Standard
"""

ZH_PROCEDURE_PDF = """---
file: zh_procedure.pdf
title: 借记卡挂失及补卡操作规程
owner: 银行卡服务部
version: 1.3
effective: 2025-06-01
review_by: 2026-06-01
language: zh-Hans
---
# 目的
本规程规范客服中心坐席在客户来电报告借记卡遗失或被盗时的处理流程，确保卡片在通话中被立即冻结，\
避免客户资金损失，并使补卡、交易核查及欺诈转介按统一标准执行。坐席必须先完成身份核实，然后立即办理\
挂失，之后再处理补卡申请和可疑交易核查。挂失一经确认即时生效，且不可撤销；客户日后即使找回原卡，\
原卡也不能再使用，必须剪毁。坐席不得以任何理由拖延挂失，也不得要求客户先到分行办理手续。若客户\
同时报告可疑交易，坐席应在完成挂失后将通话转接至欺诈调查组，并在工单中记录转接时间。
# 适用范围
本规程适用于所有个人客户名下的借记卡，包括主卡和附属卡，以及已绑定到手机钱包的虚拟卡。通过电话、\
网上银行、手机银行或分行提出的挂失申请，均须按照本规程办理。公司客户的商务卡挂失由企业客户服务部\
另行规定，不在本规程范围之内。客户身处境外时，坐席同样须立即办理挂失，并告知客户可选择将新卡寄往\
境外地址或到分行领取，境外寄送的时间和费用以下表为准。坐席应提醒客户同步更新已绑定该卡的自动扣款和网上商户的付款资料，以免扣款失败产生额外费用。
# 操作步骤
## 电话挂失
1. 按照双重身份核实标准核实来电客户的身份。
2. 在卡片管理系统中选择“挂失”，原因代码填写 LS01，并向客户确认挂失已生效。
3. 询问客户是否需要补发新卡，并按下表向客户说明补卡费用和寄送时间。
> 注意：切勿向客户索取完整卡号、密码或一次性验证码。
## 补卡费用
表1：补卡费用及寄送时间
| 服务 | 费用 | 寄送时间 |
|---|---|---|
| 普通补卡 | 免费 | 5个工作日 |
| 快速补卡 | 100港元 | 下一个工作日 |
| 境外寄送 | 200港元 | 7至10个工作日 |
"""

ZH_HANT_DOCX = """---
file: zh_hant.docx
title: 網上銀行密碼重設程序
owner: 數碼銀行服務部
version: 2.0
effective: 2025-05-15
review_by: 2026-05-15
language: zh-Hant
---
# 概述
客戶忘記網上銀行密碼或帳戶因多次輸入錯誤密碼而被鎖定時，客戶服務主任須按照本程序協助客戶重設密碼。\
重設密碼前必須完成身份核實，並確認客戶登記的手機號碼仍然有效。
# 重設步驟
1. 以雙重身份核實方式核實客戶身份。
2. 在網上銀行管理系統中選擇「重設密碼」，系統會以短訊傳送一次性啟動碼。
   a. 如客戶未能收到短訊，請核對登記的手機號碼。
3. 請客戶於三十分鐘內登入網上銀行並設定新密碼。
> 注意：切勿要求客戶讀出新密碼或一次性啟動碼。
4. 在客戶紀錄中註明重設原因及案件編號。
# 常見問題
- 帳戶鎖定後須等候多久？
- 新密碼有甚麼要求？
表1：密碼要求
| 項目 | 要求 |
|---|---|
| 長度 | 8至20個字元 |
| 字元類型 | 須同時包含英文字母及數字 |
| 重複使用 | 不可與最近5個密碼相同 |
"""

PAGE_HTML = """---
file: page.html
title: Online Banking Password Reset
owner: Digital Banking Support
version: 1.7
effective: 2025-02-10
review_by: 2026-02-10
language: en
---
# Before you start
Customers can reset their own password in the mobile app. Use this procedure only when the \
customer cannot use the app or the account is locked.
# Resetting the password
1. Verify the caller with two-factor verification.
2. In DigitalAdmin, open the customer profile and select Reset password.
   a. Check that the mobile number on file is correct.
   b. Send the activation code by SMS.
3. Ask the customer to log in within 30 minutes and choose a new password.
> Note: Never ask the customer to read out the new password or the activation code.
4. Record the reset in the call notes with reason code DB07.
# Lock-out rules
- Five wrong passwords lock the account for 30 minutes.
- Three further wrong passwords lock the account until it is reset.
Table 1: Password rules
| Rule | Requirement |
|---|---|
| Length | 8 to 20 characters |
| Characters | Letters and digits |
| History | Not one of the last 5 passwords |
"""

GUIDE_MD = """---
file: guide.md
title: Standing Order Set-up Guide
owner: Everyday Banking Operations
version: 1.2
effective: 2025-04-01
review_by: 2026-04-01
language: en
---
# Standing orders
A standing order pays a fixed amount from the customer's account on a regular date. Customers \
can set one up in online banking, in the app or through an agent.
## Setting up a standing order for a customer
1. Verify the caller's identity.
2. Take the payee name, account number and bank code.
3. Confirm the amount, the frequency and the first payment date.
4. Read the details back to the customer and submit the instruction.
> Note: The first payment date must be at least one working day after today.
## Frequencies
| Frequency | Earliest first payment | Maximum amount |
|---|---|---|
| Weekly | Next working day | HKD 50,000 |
| Monthly | Next working day | HKD 200,000 |
| Yearly | 5 working days | HKD 500,000 |
# Cancelling a standing order
Customers can cancel a standing order up to one working day before the next payment date.
"""

NOTES_TXT = """---
file: notes.txt
title: Branch Cash Deposit Limits
owner: Branch Operations
version: 3.0
effective: 2025-01-02
review_by: 2026-01-02
language: en
---
# Deposit limits
Cash deposits at the counter are accepted up to the limits below without further checks.
| Channel | Daily limit | Notes |
|---|---|---|
| Counter | HKD 500,000 | Proof of funds above this |
| Cash deposit machine | HKD 80,000 | Notes only, no coins |
| Coin machine | HKD 5,000 | Selected branches |
# Large deposits
1. Ask the customer for the source of the funds.
2. Record the source in the deposit record.
3. If the amount is above HKD 500,000, refer the deposit to the branch manager.
> Note: Do not tell the customer that a suspicious activity report may be filed.
"""

DECK_PPTX = """---
file: deck.pptx
title: Using Cards Overseas - Agent Briefing
owner: Card Services Operations
version: 1.0
effective: 2025-07-01
review_by: 2026-07-01
language: en
---
# Travel notices
Customers no longer need to tell us before they travel. Card payments abroad are checked by \
the fraud system in real time.
- Travel notices are no longer recorded.
- Blocked payments are confirmed by SMS.
# Card declined abroad
1. Verify the caller's identity.
2. Check the decline reason in CardLink.
3. If the reason is a fraud check, confirm the payment with the customer and remove the block.
> Note: The customer can retry the payment five minutes after the block is removed.
# Overseas fees
| Service | Fee | Notes |
|---|---|---|
| Card payment in foreign currency | 1.95% | Of the transaction amount |
| ATM withdrawal abroad | HKD 30 | Plus the ATM owner's charge |
| Emergency card abroad | HKD 300 | Delivered in 3 to 5 working days |
"""

FEES_XLSX = """---
file: fees.xlsx
title: Personal Banking Fee Schedule
owner: Product and Pricing
version: 2025.1
effective: 2025-04-01
review_by: 2026-03-31
language: en
---
# Account fees
Fees are charged on the first working day of the following month.
| Service | Fee | Notes |
|---|---|---|
| Monthly account fee | HKD 0 | Waived for all personal accounts |
| Below minimum balance | HKD 50 | Per month, balance under HKD 5,000 |
| Paper statement | HKD 20 | E-statements are free |
| Account closure within 3 months | HKD 200 | Not charged after 3 months |
# Card fees
| Service | Fee | Notes |
|---|---|---|
| Replacement card | HKD 0 | Standard delivery |
| Express replacement card | HKD 100 | Next working day |
| Foreign currency transaction | 1.95% | Of the transaction amount |
"""

FEES_CSV = FEES_XLSX.replace("file: fees.xlsx", "file: fees.csv")

MESSAGE_EML = """---
file: message.eml
title: Change to USD Wire Cut-off Time
owner: Payments Operations
version: 1.0
effective: 2025-05-05
language: en
from: Payments Operations <payments.ops@bank.example>
to: Contact Centre Agents <cc-agents@bank.example>
subject: Change to USD wire cut-off time from 5 May 2025
date: Wed, 30 Apr 2025 16:45:00 +0800
---
# What is changing
From 5 May 2025 the same-day cut-off time for outgoing USD wire transfers moves from 16:00 \
to 15:00 Hong Kong time. All other currencies are unchanged.
# What agents must do
1. Tell customers asking for a same-day USD payment about the new cut-off time.
2. Offer to schedule payments received after 15:00 for the next working day.
3. Record any complaint about the change with reason code WT09.
# New cut-off times
| Currency | Old cut-off | New cut-off |
|---|---|---|
| USD | 16:00 | 15:00 |
| HKD | 17:30 | 17:30 |
| EUR | 14:00 | 14:00 |
"""

GOOD: dict[str, str] = {
    "procedure.docx": PROCEDURE_DOCX,
    "policy.pdf": POLICY_PDF,
    "zh_procedure.pdf": ZH_PROCEDURE_PDF,
    "zh_hant.docx": ZH_HANT_DOCX,
    "page.html": PAGE_HTML,
    "guide.md": GUIDE_MD,
    "notes.txt": NOTES_TXT,
    "deck.pptx": DECK_PPTX,
    "fees.xlsx": FEES_XLSX,
    "fees.csv": FEES_CSV,
    "message.eml": MESSAGE_EML,
}

# --------------------------------------------------------------------------------------------
# Bad files
# --------------------------------------------------------------------------------------------

BAD_REASONS: dict[str, str] = {
    "empty.txt": "0 bytes: an empty file has no content to index.",
    "empty.docx": "A valid DOCX (opens in python-docx/Word) with no text at all: no paragraphs, "
    "no tables, empty core properties. A valid file that yields no text.",
    "corrupt.pdf": "The first 300 bytes of a real PDF (starts with %PDF-1.4, then stops): "
    "truncated, no xref/trailer, cannot be parsed.",
    "corrupt.docx": "4 KB of random bytes named .docx: not a ZIP, so not an OOXML package.",
    "encrypted.pdf": f"A real 1-page PDF with text, encrypted (RC4 128-bit) with the user "
    f"password '{PASSWORD}'. Opening it without the password fails; it must be rejected as "
    f"password-protected, not as corrupt. With the password its text starts with "
    f"'Confidential Fee Waiver Authority'.",
    "encrypted.docx": f"A real DOCX encrypted with msoffcrypto-tool (ECMA-376 Agile, password "
    f"'{PASSWORD}'): the file is an OLE compound file (magic D0 CF 11 E0), not a ZIP. Must be "
    f"rejected as password-protected. Decrypted, it is a DOCX whose first heading is "
    f"'Confidential Fee Waiver Authority'.",
    "image_only.pdf": "A valid 1-page PDF that only draws rectangles, lines and a circle: no "
    "text objects, no fonts. A non-empty document that yields no text (would need OCR).",
    "fake.pdf": "An HTML document saved with a .pdf extension (starts with '<!DOCTYPE html>', "
    "no %PDF header): mislabelled, must be rejected rather than parsed as HTML.",
    "unsupported.bin": "2 KB of random bytes with an unknown extension: unsupported format.",
    "archive.zip": "A valid ZIP holding one text file (readme.txt): archives are not "
    "supported, even though the content inside would be.",
}

ENCRYPTED_SOURCE = """---
file: encrypted.pdf
title: Confidential Fee Waiver Authority
owner: Product and Pricing
version: 1.0
effective: 2025-01-01
language: en
---
# Fee waiver limits
Team leaders may waive up to HKD 500 per customer per year. Larger waivers need approval \
from the Head of Contact Centre.
"""


@contextlib.contextmanager
def _seeded_msoffcrypto(seed: int) -> Iterator[None]:
    """Make msoffcrypto's salts and keys repeatable so encrypted.docx is byte-stable.

    Only for a test fixture: the file is still a normal Agile-encrypted document."""
    import datetime as dt

    from msoffcrypto.method import ecma376_agile
    from msoffcrypto.method.container import ecma376_encrypted

    class _FixedClock(dt.datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[no-untyped-def,override]
            return cls(2025, 1, 1, 9, 0, 0)

    rng = random.Random(seed)
    original = ecma376_agile._random_buffer, ecma376_encrypted.datetime
    ecma376_agile._random_buffer = lambda size: rng.randbytes(size)
    ecma376_encrypted.datetime = _FixedClock  # the OLE directory timestamps
    try:
        yield
    finally:
        ecma376_agile._random_buffer, ecma376_encrypted.datetime = original


def _fixed_zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buf.getvalue()


def write_bad(bad: Path, tmp: Path) -> None:
    from docx import Document
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    bad.mkdir(parents=True, exist_ok=True)
    (bad / "empty.txt").write_bytes(b"")

    empty = Document()
    cp = empty.core_properties
    for attr in ("title", "author", "last_modified_by", "subject", "keywords", "comments"):
        setattr(cp, attr, "")
    cp.revision = 1
    when = docgen.dt.datetime(2025, 1, 1, 9, 0)
    cp.created = cp.modified = cp.last_printed = when
    empty.save(str(bad / "empty.docx"))
    docgen._normalise_zip(bad / "empty.docx", when)

    src = docgen.parse_source_text(ENCRYPTED_SOURCE)
    full = tmp / "full.pdf"
    docgen.render_pdf(src, full)
    (bad / "corrupt.pdf").write_bytes(full.read_bytes()[:300])

    rng = random.Random(20250101)
    data = rng.randbytes(4096)
    assert not data.startswith(b"PK")
    (bad / "corrupt.docx").write_bytes(data)

    docgen.render_pdf(src, bad / "encrypted.pdf", encrypt_password=PASSWORD)

    plain_docx = tmp / "plain.docx"
    docgen.render_docx(docgen.with_file(src, "plain.docx"), plain_docx)
    from msoffcrypto.format.ooxml import OOXMLFile

    with _seeded_msoffcrypto(42), plain_docx.open("rb") as fin:
        out = io.BytesIO()
        OOXMLFile(fin).encrypt(PASSWORD, out)
    (bad / "encrypted.docx").write_bytes(out.getvalue())

    c = canvas.Canvas(str(bad / "image_only.pdf"), pagesize=A4, invariant=1)
    c.setTitle("")
    c.setStrokeColorRGB(0.2, 0.2, 0.5)
    c.setFillColorRGB(0.85, 0.88, 0.95)
    c.rect(60, 560, 470, 220, stroke=1, fill=1)
    for k in range(8):
        c.line(80, 600 + 20 * k, 510, 600 + 20 * k)
    c.setFillColorRGB(0.9, 0.6, 0.2)
    c.circle(300, 400, 80, stroke=1, fill=1)
    c.rect(100, 150, 120, 90, stroke=1, fill=0)
    c.showPage()
    c.save()

    (bad / "fake.pdf").write_text(
        '<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8">'
        "<title>Fee schedule</title></head>\n<body>\n<h1>Fee schedule</h1>\n"
        "<p>This is a web page that was saved with a .pdf extension.</p>\n</body>\n</html>\n",
        encoding="utf-8",
        newline="\n",
    )

    rng = random.Random(7)
    data = rng.randbytes(2048)
    assert not data.startswith((b"PK", b"%PDF", b"\xd0\xcf\x11\xe0"))
    (bad / "unsupported.bin").write_bytes(data)

    (bad / "archive.zip").write_bytes(
        _fixed_zip(
            {
                "readme.txt": b"Branch opening hours: Monday to Friday 09:00 to 17:00, "
                b"Saturday 09:00 to 13:00.\n"
            }
        )
    )


# --------------------------------------------------------------------------------------------
# EXPECTED.md
# --------------------------------------------------------------------------------------------

_FORMAT_NOTES = """\
# Expected structure of tests/data/good/

Generated by `tools/make_test_fixtures.py` from the sources in that script (rendered by
`tools/docgen.py`); do not edit by hand. Regenerate with
`python tools/make_test_fixtures.py`.

"Source level" is the heading level in the source (`#` = 1). How things appear per format:

- pdf: title = first line, 22pt bold; heading level N = bold 18/14/12pt for N = 1/2/3
  (Helvetica-Bold; Chinese: STSong-Light at the same sizes, no bold face); body 10pt;
  steps are lines starting "1. " (sub-steps "a. "), bullets start "•"; notes start
  "Note: " / "注意："; tables are ruled grids (pdfplumber find_tables finds them).
- docx: title = style `Title`; heading N = style `Heading N`; steps = style `List Number`,
  sub-steps `List Number 2` (the number is Word auto-numbering, NOT in the text); bullets =
  `List Bullet` / `List Bullet 2`; notes = a `Normal` paragraph whose text starts "Note: "
  (italic); tables = `Table Grid`, bold header row; a caption is a `Caption` paragraph.
- html: `<title>` and `<h1>` = title; heading N = `<h(N+1)>`; steps = `<ol><li>`, sub-steps
  a nested `<ol type="a">`; a note is `<p class="note"><strong>Note:</strong> ...</p>`;
  tables have `<thead>`/`<tbody>` and `<caption>`.
- md: `# Title`; heading N = N+1 `#`; steps "1. " with sub-steps nested as "   1. ";
  notes "> **Note:** ..."; pipe tables, a caption is a plain line above.
- txt: title underlined with "==="; heading level 1 = "1. Heading", level 2 = "1.1 Heading";
  steps "1) ...", sub-steps "   a) ..."; bullets "- "; notes "Note: ..."; tables as
  space-aligned columns with a "----" rule under the header.
- pptx: title slide (metadata line in the subtitle); one slide per level-1/2 heading, titled
  with it (a heading with no content of its own gets a `Section Header` slide); body
  paragraphs "1. step" (level 0), "a. sub-step" (level 1), "Note: ..."; each table on its
  own `Title Only` slide titled with the heading above it.
- xlsx: sheet "About" (rows: label, value; then the text outside tables, one row each); one
  sheet per table named after the heading above it, header row 1 in bold.
- eml: Subject/From/To/Date headers; multipart/alternative with the txt and html renderings.
- csv: the first table only (UTF-8, no BOM, CRLF).

The metadata line sits right under the title in every format except xlsx and csv:
en "Document owner: X | Version: V | Effective date: YYYY-MM-DD | Review by: YYYY-MM-DD"
(+ " | Expiry date: YYYY-MM-DD"); zh-Hans "文件负责部门：X ｜ 版本：V ｜ 生效日期：2025年6月1日
｜ 复核日期：..."; zh-Hant uses 文件負責部門 and 複核日期. In a PDF it may wrap, but only
between fields. In xlsx the About sheet has one row per field (label, value).
PDFs have a footer "Page N" (zh: "第 N 页") on every page.
"""


def _expected_section(name: str, src: docgen.Source, path: Path) -> list[str]:
    meta = src.meta
    out = [f"## {name}", ""]
    out.append(f"- format: {path.suffix.lstrip('.')}, language: {meta.language}")
    out.append(f"- title: {meta.title}")
    out.append(
        f"- owner: {meta.owner}; version: {meta.version}; effective date: "
        f"{meta.effective.isoformat()}"
        + (f"; review by: {meta.review_by.isoformat()}" if meta.review_by else "")
        + (f"; expiry date: {meta.expiry.isoformat()}" if meta.expiry else "")
    )
    if path.suffix != ".csv":
        out.append(f"- metadata line: `{docgen.meta_line(meta)}`")
    blocks = src.blocks
    if path.suffix == ".csv":
        table = src.tables()[0]
        out.append(
            f"- CSV (UTF-8, no BOM, CRLF): header {' | '.join(table.rows[0])}; "
            f"{len(table.rows) - 1} data rows; {len(table.rows[0])} columns"
        )
        out.append("")
        return out
    heads = [b for b in blocks if isinstance(b, docgen.Heading)]
    out.append(f"- headings ({len(heads)}, source level: text):")
    out.extend(f"  - {h.level}: {h.text}" for h in heads)
    steps = [b for b in blocks if isinstance(b, docgen.NumberedItem) and b.level == 1]
    subs = [b for b in blocks if isinstance(b, docgen.NumberedItem) and b.level > 1]
    if steps:
        out.append(
            f"- numbered steps: {len(steps)} (numbers {', '.join(s.number for s in steps)})"
            f"; sub-steps: {len(subs)}"
            + (f" ({', '.join(f'{s.number}. {s.text}' for s in subs)})" if subs else "")
        )
        out.append("  - steps: " + " / ".join(f"{s.number}. {s.text}" for s in steps))
    bullets = [b for b in blocks if isinstance(b, docgen.Bullet)]
    if bullets:
        out.append(f"- bullets: {len(bullets)}: " + " / ".join(b.text for b in bullets))
    notes = [b for b in blocks if isinstance(b, docgen.Note)]
    for n in notes:
        idx = blocks.index(n)
        before = blocks[idx - 1]
        where = f"after step {before.number}" if isinstance(before, docgen.NumberedItem) else ""
        out.append(
            f"- note {where}: `{docgen.note_prefix(n, meta.language)}"
            f"{docgen.note_sep(n, meta.language)}{n.text}`"
        )
    paras = [b for b in blocks if isinstance(b, docgen.Paragraph)]
    out.append(
        f"- paragraphs: {len(paras)} (lengths in characters: "
        f"{', '.join(str(len(p.text)) for p in paras)})"
    )
    for k, t in enumerate(src.tables(), 1):
        out.append(
            f"- table {k}: header [{' | '.join(t.rows[0])}]; {len(t.rows) - 1} data rows"
            + (f'; caption "{t.caption}"' if t.caption else "; no caption")
        )
    out.extend(_format_facts(src, path))
    out.append("")
    return out


def _format_facts(src: docgen.Source, path: Path) -> list[str]:
    ext = path.suffix.lstrip(".")
    facts: list[str] = []
    if ext == "pdf":
        import pdfplumber

        with pdfplumber.open(path) as pdf:
            pages = len(pdf.pages)
            text = "\n".join(p.extract_text() or "" for p in pdf.pages)
            tables = [
                (i + 1, t.extract()) for i, p in enumerate(pdf.pages) for t in p.find_tables()
            ]
        facts.append(f"- pages: {pages}")
        for page, t in tables:
            facts.append(
                f"- pdfplumber find_tables on page {page}: header "
                f"[{' | '.join(t[0])}], {len(t) - 1} data rows"
            )
        for h in (b for b in src.blocks if isinstance(b, docgen.Heading)):
            assert h.text in text, (path.name, h.text)
    elif ext == "docx":
        import docx

        d = docx.Document(str(path))
        styles = sorted({p.style.name for p in d.paragraphs})
        facts.append(
            f"- paragraph styles used: {', '.join(styles)}; tables: {len(d.tables)} "
            "(style Table Grid, header row bold and marked as repeating header)"
        )
    elif ext == "pptx":
        from pptx import Presentation

        prs = Presentation(str(path))
        titles = [
            f"{s.shapes.title.text if s.shapes.title else '(none)'} [{s.slide_layout.name}"
            f"{', table' if any(sh.has_table for sh in s.shapes) else ''}]"
            for s in prs.slides
        ]
        facts.append(f"- slides: {len(titles)}: " + " / ".join(titles))
    elif ext == "xlsx":
        import openpyxl

        wb = openpyxl.load_workbook(path)
        facts.append("- sheets: " + ", ".join(f'"{ws.title}" ({ws.max_row} rows)' for ws in wb))
        facts.append(
            "- table sheets start at A1 with the bold header row; numbers are numeric "
            "cells (e.g. 1.95% stays text)"
        )
    elif ext == "eml":
        m = docgen.email_message(src)
        facts.append(f"- From: {m['From']}; To: {m['To']}")
        facts.append(f"- Subject: {m['Subject']}; Date: {m['Date']}")
        facts.append(
            "- multipart/alternative: text/plain (the txt rendering) + text/html "
            "(the html rendering), both UTF-8"
        )
    return facts


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", type=Path, default=DATA, help=f"output folder (default {DATA})")
    args = ap.parse_args(argv)
    good, bad = args.out / "good", args.out / "bad"
    good.mkdir(parents=True, exist_ok=True)
    tmp = args.out / ".tmp-fixtures"
    tmp.mkdir(exist_ok=True)
    try:
        expected = [_FORMAT_NOTES]
        for name, text in GOOD.items():
            src = docgen.parse_source_text(text)
            assert src.meta.file == name, name
            target = docgen.render(src, good)
            expected.extend(_expected_section(name, src, target))
        (good / "EXPECTED.md").write_text(
            "\n".join(expected).rstrip() + "\n", encoding="utf-8", newline="\n"
        )
        write_bad(bad, tmp)
        lines = [
            "tests/data/bad/: files the ingest must reject, one per line: name, then the reason.",
            "Generated by tools/make_test_fixtures.py.",
            "",
        ]
        for name, reason in BAD_REASONS.items():
            lines.append(f"{name}: {reason}")
        (args.out / "BAD_FILES.txt").write_text(
            "\n".join(lines) + "\n", encoding="utf-8", newline="\n"
        )
    finally:
        for p in tmp.iterdir():
            p.unlink()
        tmp.rmdir()

    expected_names = {*GOOD, "EXPECTED.md"}
    for folder, names in ((good, expected_names), (bad, set(BAD_REASONS))):
        for p in sorted(folder.iterdir()):
            if p.name not in names:
                print(f"warning: {p} is not written by this script", file=sys.stderr)
                continue
            size = p.stat().st_size
            assert size < MAX_BYTES, f"{p} is {size} bytes"
            print(f"wrote  {p.relative_to(args.out.parent)}  ({size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
