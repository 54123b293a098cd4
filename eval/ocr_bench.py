"""OCR engines compared on the same scanned pages: character error rate and seconds per page.

Pages: every scanned page of tests/fixtures/scans (the files ingestion is tested on, read the
way ingestion reads them: PDF pages rendered by pdfium at ingest.ocr.RENDER_DPI, images as
they are) plus tools/make_scans.py's BENCH_PAGES rendered in memory, in English, Simplified
and Traditional Chinese, each with its ground truth.

Engines:
- `rapidocr`: RapidOCR 1.4.4 (PP-OCRv4 from its wheel) as ingestion runs it (ingest.ocr);
- `tesseract (right language)`: Debian's tesseract 5 given each page's own language, the
  best case, which ingestion could not have (it does not know a scan's language before
  reading it);
- `tesseract (eng+chi_sim+chi_tra)`: what ingestion would have to run on any page.

CER is the Levenshtein distance over the reference length, after NFKC (full-width
punctuation as ASCII) and with whitespace removed (Chinese has none; English word spacing is
measured separately as `CER with spaces`, whitespace collapsed to one space).

    python -m eval.ocr_bench            # writes eval/reports/ocr.md and ocr.json
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rapidfuzz.distance import Levenshtein

ROOT = Path(__file__).resolve().parent.parent
SCANS = ROOT / "tests" / "fixtures" / "scans"
REPORTS = ROOT / "eval" / "reports"
COMMAND = "python -m eval.ocr_bench"
TESSERACT_LANGUAGE = {"en": "eng", "zh-Hans": "chi_sim", "zh-Hant": "chi_tra"}


CHOICE = """## Choice: RapidOCR (rapidocr-onnxruntime 1.4.4)

- **Installs from PyPI with its models inside** (15 MB wheel, PP-OCRv4, Apache-2.0): `make
  setup` on a fresh machine needs no apt package and nothing is fetched at run time. Tesseract
  needs Debian's `tesseract-ocr` plus three language packs on every machine that parses.
- **Best on English and Simplified Chinese**, the bulk of the bank's scans (table above).
- **One model for every page.** Ingestion does not know a scan's language before reading it;
  Tesseract's best figures need the right language per page (`right language` rows, an
  oracle). Given all three languages at once, as ingestion would have to, it is slower and
  less accurate on Chinese (`eng+chi_sim+chi_tra` rows).
- **Weak spot: Traditional Chinese.** PP-OCRv4's character set lacks some Traditional
  characters (幣, 櫃, 說 ...): it drops them or reads their Simplified form. Folded to
  Simplified, as search folds text, about half the error goes; the rest are dropped
  characters. Tesseract `chi_tra` reads these pages better. If Traditional scans matter
  most, the next step is a second pass with `chi_tra` on pages detected as Traditional
  (an apt dependency), measured with this same command.
- **English word spacing:** the PP-OCRv4 model sometimes runs short words together
  (`YoungSaveraccount`); `CER with spaces` shows the cost. A lexical match on such a word
  is lost; the embedding search still finds the passage in the tests
  (tests/integration/test_ocr_ingest.py).
- **Speed:** wall-clock on a loaded 2-core machine (engines interleaved page by page, so the
  load falls on each alike): RapidOCR is about as fast as Tesseract given all three languages
  and about half as fast as Tesseract told the right one. A scanned page takes seconds, a
  text page milliseconds: the parse timeout grows by `KB_OCR_SECONDS_PER_PAGE` (30 s) for
  each page that may be a scan."""


@dataclass(frozen=True)
class BenchPage:
    name: str
    language: str
    truth: str
    image: Any  # PIL image


@dataclass(frozen=True)
class Reading:
    engine: str
    page: str
    language: str
    seconds: float
    cer: float
    cer_spaces: float
    cer_simplified: float
    confidence: float
    text: str


def normalise(text: str, keep_spaces: bool) -> str:
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"\s+", " ", text).strip() if keep_spaces else re.sub(r"\s+", "", text)


def character_error_rate(truth: str, read: str, keep_spaces: bool = False) -> float:
    reference = normalise(truth, keep_spaces)
    return Levenshtein.distance(reference, normalise(read, keep_spaces)) / max(1, len(reference))


def simplified_error_rate(truth: str, read: str) -> float:
    """CER with both sides folded to Simplified as search folds them (kb.script), so a 費
    read as 费 costs no answer."""
    from kb.script import to_simplified

    return character_error_rate(to_simplified(truth), to_simplified(read))


def _make_scans() -> Any:
    spec = importlib.util.spec_from_file_location("make_scans", ROOT / "tools" / "make_scans.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_scans"] = module
    spec.loader.exec_module(module)
    return module


def load_pages() -> list[BenchPage]:
    import pypdfium2
    from PIL import Image

    from ingest.ocr import RENDER_DPI

    truth = json.loads((SCANS / "truth.json").read_text(encoding="utf-8"))
    pages = []
    for name, by_page in truth["pages"].items():
        language = truth["languages"][name]
        data = (SCANS / name).read_bytes()
        for number, text in by_page.items():
            if name.endswith(".pdf"):
                document = pypdfium2.PdfDocument(data)
                image = (
                    document[int(number) - 1]
                    .render(scale=RENDER_DPI / 72, grayscale=True)
                    .to_pil()
                    .convert("RGB")
                )
                document.close()
            else:
                image = Image.open(io.BytesIO(data)).convert("RGB")
            pages.append(BenchPage(f"{name} p{number}", language, text, image))
    for name, page, image in _make_scans().bench_pages():
        pages.append(BenchPage(name, page.language, page.text, image))
    return pages


def read_rapidocr() -> Callable[[BenchPage], tuple[str, float]]:
    from ingest.ocr import RapidOcrEngine, blocks_from_boxes, page_confidence

    engine = RapidOcrEngine()

    def read(page: BenchPage) -> tuple[str, float]:
        boxes = engine.read(page.image)
        text = "\n".join(b.text for b in blocks_from_boxes(boxes, 1))
        return text, page_confidence(boxes)

    return read


def read_tesseract(languages: str | None) -> Callable[[BenchPage], tuple[str, float]]:
    def read(page: BenchPage) -> tuple[str, float]:
        buffer = io.BytesIO()
        page.image.save(buffer, "PNG")
        lang = languages or TESSERACT_LANGUAGE[page.language]
        out = subprocess.run(
            ["tesseract", "-", "-", "-l", lang, "--psm", "3", "tsv"],
            input=buffer.getvalue(),
            capture_output=True,
            check=True,
        ).stdout.decode()
        lines: dict[tuple[str, ...], list[str]] = {}
        scores: list[tuple[float, int]] = []
        for row in out.splitlines()[1:]:
            cells = row.split("\t")
            if len(cells) < 12 or not cells[11].strip() or float(cells[10]) < 0:
                continue
            lines.setdefault(tuple(cells[2:5]), []).append(cells[11])
            scores.append((float(cells[10]) / 100, len(cells[11])))
        spacer = "" if page.language != "en" else " "
        text = "\n".join(spacer.join(words) for words in lines.values())
        weight = sum(n for _, n in scores)
        return text, (sum(s * n for s, n in scores) / weight if weight else 0.0)

    return read


def engines() -> dict[str, Callable[[BenchPage], tuple[str, float]]]:
    found: dict[str, Callable[[BenchPage], tuple[str, float]]] = {"rapidocr": read_rapidocr()}
    if shutil.which("tesseract"):
        found["tesseract (right language)"] = read_tesseract(None)
        found["tesseract (eng+chi_sim+chi_tra)"] = read_tesseract("eng+chi_sim+chi_tra")
    return found


def run(pages: list[BenchPage]) -> list[Reading]:
    """Every engine on each page in turn (not one engine's pages, then the next's), so a
    change in the machine's load falls on all engines alike."""
    readings = []
    found = engines()
    for read in found.values():
        read(pages[0])  # warm-up: model load and first-call costs are not per page
    for page in pages:
        for engine, read in found.items():
            started = time.perf_counter()
            text, confidence = read(page)
            seconds = time.perf_counter() - started
            readings.append(
                Reading(
                    engine,
                    page.name,
                    page.language,
                    round(seconds, 3),
                    round(character_error_rate(page.truth, text), 4),
                    round(character_error_rate(page.truth, text, keep_spaces=True), 4),
                    round(simplified_error_rate(page.truth, text), 4),
                    round(confidence, 4),
                    text,
                )
            )
            print(f"{engine:32} {page.name:34} {seconds:6.2f} s  CER {readings[-1].cer:.3f}")
    return readings


def _version(command: list[str]) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, check=True)
        return (out.stdout or out.stderr).splitlines()[0]
    except (OSError, subprocess.CalledProcessError):
        return "not installed"


def report(readings: list[Reading], pages: list[BenchPage]) -> str:
    from importlib.metadata import version

    languages = ("en", "zh-Hans", "zh-Hant")
    counts = {lang: sum(p.language == lang for p in pages) for lang in languages}
    lines = [
        "# OCR engines on scanned pages",
        "",
        f"Command: `{COMMAND}` (pages: tests/fixtures/scans, made by `python tools/make_scans.py`,"
        " plus its BENCH_PAGES rendered in memory).",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}, 2 cores shared with"
        " other jobs (seconds are wall-clock and vary with load; compare engines within this run).",
        f"rapidocr-onnxruntime {version('rapidocr-onnxruntime')}, onnxruntime"
        f" {version('onnxruntime')}; {_version(['tesseract', '--version'])}.",
        "",
        f"Pages: {counts['en']} English, {counts['zh-Hans']} Simplified, {counts['zh-Hant']}"
        " Traditional Chinese; 200 dpi, noise, dust, 0.6-1.4 degree skew, a red stamp each.",
        "CER: edit distance / reference length, NFKC, whitespace removed; `CER with spaces`"
        " keeps single spaces (English word spacing). Lower is better.",
        "",
        "`CER in Simplified form`: both sides folded to Simplified first, as search folds"
        " them (kb.script.to_simplified), so a Traditional character read as its Simplified form"
        " (費 as 费) is not an error that costs an answer.",
        "",
        "| engine | language | pages | CER | CER with spaces | CER in Simplified form"
        " | seconds / page | mean confidence |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for engine in dict.fromkeys(r.engine for r in readings):
        for language in (*languages, "all"):
            rows = [
                r
                for r in readings
                if r.engine == engine and (language == "all" or r.language == language)
            ]
            if not rows:
                continue
            lines.append(
                f"| {engine} | {language} | {len(rows)} | {statistics.fmean(r.cer for r in rows):.3f}"
                f" | {statistics.fmean(r.cer_spaces for r in rows):.3f}"
                f" | {statistics.fmean(r.cer_simplified for r in rows):.3f}"
                f" | {statistics.fmean(r.seconds for r in rows):.2f}"
                f" | {statistics.fmean(r.confidence for r in rows):.3f} |"
            )
    lines += ["", CHOICE]
    lines += ["", "## Per page", "", "| engine | page | CER | seconds |", "|---|---|---:|---:|"]
    lines += [f"| {r.engine} | {r.page} | {r.cer:.3f} | {r.seconds:.2f} |" for r in readings]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPORTS)
    args = parser.parse_args(argv)
    pages = load_pages()
    readings = run(pages)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ocr.json").write_text(
        json.dumps([asdict(r) for r in readings], ensure_ascii=False, indent=1) + "\n",
        encoding="utf-8",
    )
    (args.out / "ocr.md").write_text(report(readings, pages), encoding="utf-8")
    print(f"wrote {args.out / 'ocr.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
