"""Chinese for the Ask page's answer card and the original viewer, merged into ui.i18n.ZH.

Kept apart like ui.i18n_live, so pages built at the same time do not edit the same lines.
"""

from __future__ import annotations

ZH_ANSWER: dict[str, str] = {
    # the answer card (ui/ask.py)
    "**Question:** {question}": "**问题：** {question}",
    "You typed: {question}": "您输入的是：{question}",
    "Confidence {value}": "置信度 {value}",
    "Type the customer's question first, then press Enter.": "请先输入客户的问题，再按回车键。",
    # the original at the cited place
    "Open": "打开",
    "Close the original": "关闭原文",
    "Download the original": "下载原文件",
    "The original is no longer available.": "原文件已不可用。",
    "The passage could not be marked on the page; the cited page is shown.": (
        "无法在页面上标出该段落；显示的是引用所在的页面。"
    ),
    "Page {n}, the passage marked": "第 {n} 页，已标出引用段落",
    "The passage could not be marked; its section is shown.": "无法标出该段落；显示的是其所在章节。",
    "The cited section of the original": "原文中被引用的章节",
    "The cited page of the original": "原文中被引用的页面",
}
