"""Chinese for the Library's OCR status (scanned documents), merged into ui.i18n.ZH.

Kept apart like ui.i18n_library, so pages built at the same time do not edit the same lines.
"""

from __future__ import annotations

ZH_OCR: dict[str, str] = {
    "Files (PDF, Word, HTML, Markdown, text, PowerPoint, Excel, CSV, e-mail, scans: PNG, "
    "JPEG, TIFF)": "文件（PDF、Word、HTML、Markdown、文本、PowerPoint、Excel、CSV、电子邮件、"
    "扫描件：PNG、JPEG、TIFF）",
    "Scan": "扫描",
    "scanned, OCR confidence {confidence}": "扫描件，OCR 置信度 {confidence}",
    "Scanned: {pages} of {total} pages read by OCR, confidence mean {mean}, lowest {low}.": (
        "扫描件：{total} 页中有 {pages} 页经 OCR 识别，平均置信度 {mean}，最低 {low}。"
    ),
    "Check against the original: page {pages} read with OCR confidence below "
    "{threshold} (KB_OCR_REVIEW_CONFIDENCE).": (
        "请对照原件核对：第 {pages} 页的 OCR 置信度低于 {threshold}（KB_OCR_REVIEW_CONFIDENCE）。"
    ),
}
