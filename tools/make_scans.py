"""Write the scanned fixtures OCR is tested and measured on: tests/fixtures/scans/.

Real text pages (English, Simplified and Traditional Chinese) are drawn with PIL at 200 dpi,
then made to look scanned: a red stamp over a corner, a slight skew, grey paper, sensor noise
and a little blur. From them:

- `rate-sheet-scan.pdf`: a two-page scanned rate sheet (the fees are on page 2);
- `mixed-text-and-scan.pdf`: page 1 has a real text layer (reportlab), page 2 is a scan;
- `zh-hans-remittance.png`, `zh-hant-atm.jpg`, `en-card-notice.tiff`: image files;
- `truth.json`: the ground-truth text of every scanned page, for the character error rate
  (eval/ocr_bench.py), keyed by file and page.

Dev-only (needs reportlab and the fonts below: DejaVu, WenQuanYi Zen Hei). Same seed, same
pages: running it twice gives the same images.

    python tools/make_scans.py [--out tests/fixtures/scans]
"""

from __future__ import annotations

import argparse
import io
import json
import math
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

DPI = 200
PAGE_MM = (148, 190)  # A5-ish: few lines a page keeps OCR in tests quick
LATIN_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
LATIN_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "scans"


@dataclass(frozen=True)
class Page:
    heading: str
    lines: tuple[str, ...]
    language: str  # en | zh-Hans | zh-Hant
    stamp: str

    @property
    def text(self) -> str:
        """Everything printed on the page in reading order, the stamp (bottom right) last."""
        return "\n".join((self.heading, *self.lines, self.stamp))


RATE_SHEET = (
    Page(
        "Harbour Bank Personal Rate Sheet",
        (
            "Effective 1 March 2026. Rates are variable.",
            "Easy Saver account: 1.85% AER on all balances.",
            "Fixed Bond 12 months: 3.40% AER, minimum GBP 1,000.",
            "Young Saver account: 2.75% AER up to GBP 5,000.",
            "Arranged overdraft: 19.90% EAR, first GBP 50 free.",
            "Interest is paid monthly on the first working day.",
        ),
        "en",
        "RECEIVED",
    ),
    Page(
        "Fees and charges",
        (
            "Replacement debit card: GBP 7.50 per card.",
            "CHAPS outgoing payment fee: GBP 27.00 per payment.",
            "International SWIFT transfer: GBP 18.00 per transfer.",
            "Banker's draft: GBP 12.00 per draft.",
            "Copy statement older than 12 months: GBP 5.00.",
            "Fees are taken from the account on the day of the service.",
        ),
        "en",
        "APPROVED",
    ),
)

MIXED_TEXT_PAGE = (
    "Branch opening hours",
    "Branches open 9:00 to 17:00 Monday to Friday.",
    "Saturday opening is 9:30 to 13:00 in city branches.",
)
MIXED_SCAN_PAGE = Page(
    "Safe deposit boxes",
    (
        "Small safe deposit box: GBP 95 a year.",
        "Large safe deposit box: GBP 160 a year.",
        "Access is by appointment in branch opening hours.",
    ),
    "en",
    "COPY",
)

IMAGES = {
    "zh-hans-remittance.png": Page(
        "跨境汇款收费标准",
        (
            "本标准自二〇二六年三月一日起执行。",
            "跨境汇款手续费：每笔人民币150元。",
            "电报费：每笔人民币80元。",
            "汇款查询或修改：每笔人民币50元。",
            "客户须在柜台出示有效身份证件。",
        ),
        "zh-Hans",
        "已核准",
    ),
    "zh-hant-atm.jpg": Page(
        "海外提款收費說明",
        (
            "海外自動櫃員機提款手續費：每筆港幣25元。",
            "貨幣兌換手續費為交易金額的百分之一點五。",
            "每日海外提款上限為港幣20,000元。",
            "如卡片被吞，請即致電客戶服務熱線。",
        ),
        "zh-Hant",
        "已審核",
    ),
    "en-card-notice.tiff": Page(
        "Card replacement notice",
        (
            "A lost card is blocked as soon as it is reported.",
            "Express card delivery costs GBP 15.00.",
            "The new card arrives within five working days.",
        ),
        "en",
        "FILED",
    ),
}


BENCH_PAGES = (
    Page(
        "Mortgage overpayment rules",
        (
            "You may overpay up to 10% of the balance each year.",
            "Overpayments above the allowance carry a 2% early repayment charge.",
            "Payment holidays need three months of regular payments first.",
            "Call 0800 555 0123 to arrange a lump sum payment.",
        ),
        "en",
        "CHECKED",
    ),
    Page(
        "信用卡分期付款说明",
        (
            "单笔消费满人民币1,000元可申请分期。",
            "分期手续费率为每期0.60%，可选3期、6期或12期。",
            "提前还款须支付剩余本金的3%作为违约金。",
            "如有疑问，请拨打客服热线95555。",
        ),
        "zh-Hans",
        "业务专用",
    ),
    Page(
        "開戶所需文件",
        (
            "個人開戶須帶備香港身份證及三個月內的住址證明。",
            "非本地居民須出示護照及入境簽證。",
            "最低開戶存款為港幣10,000元。",
            "戶口結餘低於港幣5,000元，每月收取服務費港幣50元。",
        ),
        "zh-Hant",
        "正本核對",
    ),
)
"""Pages the OCR benchmark reads besides the fixtures (eval/ocr_bench.py renders them in
memory), so each language has more than one page."""


def _mm(value: float) -> int:
    return round(value / 25.4 * DPI)


def _font(language: str, size_pt: float, bold: bool = False) -> ImageFont.FreeTypeFont:
    px = round(size_pt / 72 * DPI)
    if language == "en":
        return ImageFont.truetype(LATIN_BOLD if bold else LATIN_FONT, px)
    return ImageFont.truetype(CJK_FONT, px, index=0)


def render_page(page: Page) -> Image.Image:
    """The clean page: heading, then the lines, black on white."""
    image = Image.new("RGB", (_mm(PAGE_MM[0]), _mm(PAGE_MM[1])), "white")
    draw = ImageDraw.Draw(image)
    x, y = _mm(14), _mm(16)
    draw.text((x, y), page.heading, font=_font(page.language, 16, bold=True), fill="black")
    y += _mm(14)
    body = _font(page.language, 11)
    for line in page.lines:
        draw.text((x, y), line, font=body, fill="black")
        y += _mm(9)
    return image


def _stamp(image: Image.Image, label: str, rng: random.Random) -> None:
    """A red rubber stamp, rotated, in the bottom-right corner below the text."""
    size = _mm(40)
    stamp = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(stamp)
    red = (200, 30, 30, 170)
    draw.ellipse((4, 4, size - 4, size - 4), outline=red, width=8)
    draw.ellipse((22, 22, size - 22, size - 22), outline=red, width=3)
    cjk = any(ord(ch) > 0x2E80 for ch in label)
    font = _font("zh-Hans" if cjk else "en", 13, bold=True)
    box = draw.textbbox((0, 0), label, font=font)
    draw.text(
        ((size - (box[2] - box[0])) / 2, (size - (box[3] - box[1])) / 2 - box[1]),
        label,
        font=font,
        fill=red,
    )
    stamp = stamp.rotate(rng.uniform(-25, 25), resample=Image.Resampling.BICUBIC)
    at = (image.width - size - _mm(10), image.height - size - _mm(10))
    image.paste(stamp, at, stamp)


def scan(page: Page, rng: random.Random) -> Image.Image:
    """The page as a flatbed scanner would give it back: stamped, skewed, grey, noisy."""
    image = render_page(page)
    _stamp(image, page.stamp, rng)
    angle = rng.choice((-1, 1)) * rng.uniform(0.6, 1.4)
    image = image.rotate(
        angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=(250, 250, 250)
    )
    pixels = np.asarray(image, dtype=np.float32)
    paper = np.array([236, 233, 226], dtype=np.float32)
    pixels = pixels / 255.0 * paper  # off-white paper, ink stays dark
    noise_rng = np.random.default_rng(rng.randrange(1 << 30))
    noise = noise_rng.normal(0, 5, pixels.shape[:2])
    specks = noise_rng.random(pixels.shape[:2]) < 0.002  # dust on the glass
    noise[specks] -= 160
    pixels = np.clip(pixels + noise[..., None], 0, 255)
    image = Image.fromarray(pixels.astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.6))
    # 16 grey levels per channel, as a scanner's "document" mode keeps: small files
    return image.point(lambda v: (v // 16) * 16 + 8)


def _text_page_pdf(lines: tuple[str, ...]) -> bytes:
    """A one-page PDF with a real text layer (what a word processor exports)."""
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(PAGE_MM[0] * mm, PAGE_MM[1] * mm), invariant=1)
    pdf.setTitle("Branch services")
    pdf.setFont("Helvetica-Bold", 16)
    top = PAGE_MM[1] * mm - 20 * mm
    pdf.drawString(14 * mm, top, lines[0])
    pdf.setFont("Helvetica", 11)
    for i, line in enumerate(lines[1:], 1):
        pdf.drawString(14 * mm, top - (6 + 9 * i) * mm, line)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _images_pdf(images: list[Image.Image]) -> bytes:
    buffer = io.BytesIO()
    images[0].save(
        buffer, "PDF", save_all=True, append_images=images[1:], resolution=DPI, quality=60
    )
    return buffer.getvalue()


def _mixed_pdf(scanned: Image.Image) -> bytes:
    """Page 1 with a text layer, page 2 only an image: pdfium joins the two documents."""
    import pypdfium2

    document = pypdfium2.PdfDocument(_text_page_pdf(MIXED_TEXT_PAGE))
    document.import_pages(pypdfium2.PdfDocument(_images_pdf([scanned])))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _save_image(image: Image.Image, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix == ".png":
        image.convert("L").quantize(16).save(path, optimize=True)
    elif suffix in {".jpg", ".jpeg"}:
        image.save(path, quality=70)
    else:
        image.convert("L").save(path, compression="tiff_adobe_deflate", dpi=(DPI, DPI))


def bench_pages() -> list[tuple[str, Page, Image.Image]]:
    """(name, page, scanned image) for the benchmark's extra pages, same seed every time."""
    rng = random.Random(1515)
    return [(f"bench-{i}-{p.language}", p, scan(p, rng)) for i, p in enumerate(BENCH_PAGES, 1)]


def build(out: Path) -> dict[str, dict[str, str]]:
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(15)
    truth: dict[str, dict[str, str]] = {}

    pages = [scan(page, rng) for page in RATE_SHEET]
    (out / "rate-sheet-scan.pdf").write_bytes(_images_pdf(pages))
    truth["rate-sheet-scan.pdf"] = {str(i): p.text for i, p in enumerate(RATE_SHEET, 1)}

    (out / "mixed-text-and-scan.pdf").write_bytes(_mixed_pdf(scan(MIXED_SCAN_PAGE, rng)))
    truth["mixed-text-and-scan.pdf"] = {"2": MIXED_SCAN_PAGE.text}

    for name, page in IMAGES.items():
        _save_image(scan(page, rng), out / name)
        truth[name] = {"1": page.text}

    languages = {"rate-sheet-scan.pdf": "en", "mixed-text-and-scan.pdf": "en"}
    languages |= {name: page.language for name, page in IMAGES.items()}
    (out / "truth.json").write_text(
        json.dumps(
            {"dpi": DPI, "languages": languages, "pages": truth}, ensure_ascii=False, indent=1
        )
        + "\n",
        encoding="utf-8",
    )
    return truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    truth = build(args.out)
    pages = sum(len(p) for p in truth.values())
    total = sum(f.stat().st_size for f in args.out.iterdir())
    print(
        f"{pages} scanned pages in {len(truth)} files, {math.ceil(total / 1024)} KB in {args.out}"
    )


if __name__ == "__main__":
    main()
