"""Messages the core shows people, in English and Chinese.

A message is a `str` holding its English text (what the CLI, the audit trail and the tests
read), that also remembers its kind and values so the app can show it in the interface
language the agent chose. Keeping it a `str` means every existing reader keeps working.
"""

from __future__ import annotations

from typing import Any

TEMPLATES: dict[str, dict[str, str]] = {
    "escalation": {
        "en": (
            "The knowledge base does not cover this. Do not guess: tell the customer you will "
            "check, escalate to your team leader or the specialist team, and mark the question "
            "as not covered so the knowledge team can fill the gap."
        ),
        "zh": (
            "知识库未涵盖此问题。请勿猜测：告知客户您将核实，升级至组长或专门团队，"
            "并将问题标记为“未涵盖”，以便知识团队补充。"
        ),
    },
    "low_confidence": {
        "en": (
            "Low confidence: these passages may not answer the question. Check the source "
            "before quoting it, and escalate if it does not fit."
        ),
        "zh": "置信度低：以下段落可能无法回答该问题。引用前请核对来源，如不符合请升级处理。",
    },
    "conflict": {
        "en": (
            "Documents disagree: “{title_a}” ({section_a}) says {amounts_a}, but “{title_b}” "
            "({section_b}) says {amounts_b}. Check with your team leader before quoting either, "
            "and report it to the knowledge team."
        ),
        "zh": (
            "文件内容不一致：“{title_a}”（{section_a}）为 {amounts_a}，而“{title_b}”"
            "（{section_b}）为 {amounts_b}。引用前请与组长确认，并报告知识团队。"
        ),
    },
    "referred": {
        "en": "Steps from “{target}” ({section}): “{source}” says to follow that procedure.",
        "zh": "步骤来自“{target}”（{section}）：“{source}”要求按该程序办理。",
    },
    "changed": {
        "en": (
            "Changed on {date}: “{title}” sets {new}, replacing {old} in “{old_title}”. "
            "Quote {new}."
        ),
        "zh": "已于 {date} 变更：“{title}”规定为 {new}，取代“{old_title}”中的 {old}。请按 {new} 答复。",
    },
    "expired": {
        "en": "“{title}” also matches but expired on {date}; it is not used for this answer.",
        "zh": "“{title}”也相关，但已于 {date} 失效，本答案未采用。",
    },
    "not_yet_effective": {
        "en": (
            "“{title}” also matches but only takes effect on {date}; it is not used yet "
            "(ask as of that date to see it)."
        ),
        "zh": "“{title}”也相关，但自 {date} 起才生效，暂未采用（可按该日期查询）。",
    },
    "superseded": {
        "en": (
            "An earlier version (v{old}) of “{title}” matches this question better than the "
            "current v{current}; it was replaced and is not used. Check the current version's "
            "wording before answering."
        ),
        "zh": (
            "“{title}”的旧版本（v{old}）比当前版本 v{current} 更符合此问题；旧版本已被替换，"
            "不予采用。回答前请核对当前版本的措辞。"
        ),
    },
    "question_cut": {
        "en": (
            "Your question is too long for the search to read whole: only its first {read} "
            "of {total} characters were searched. Put the customer's need first, or ask about "
            "one thing at a time."
        ),
        "zh": "问题过长，检索只读取了前 {read} 个字符（共 {total} 个）。请把客户的核心需求放在前面，或一次只问一件事。",
    },
}
LANGUAGES = ("en", "zh")


class Message(str):
    """English text that can also be said in another language (see module docstring)."""

    kind: str
    params: dict[str, Any]

    def __new__(cls, kind: str, **params: Any) -> Message:
        if kind not in TEMPLATES:
            raise ValueError(f"unknown message kind {kind!r}; known: {', '.join(TEMPLATES)}")
        made = super().__new__(cls, TEMPLATES[kind]["en"].format(**params))
        made.kind = kind
        made.params = params
        return made

    def __reduce__(self) -> tuple[Any, ...]:  # copy and pickle keep the kind and values
        return (_rebuild, (self.kind, self.params))

    def in_language(self, language: str) -> str:
        templates = TEMPLATES[self.kind]
        return templates.get(language, templates["en"]).format(**self.params)


def _rebuild(kind: str, params: dict[str, Any]) -> Message:
    return Message(kind, **params)


def in_language(text: str, language: str) -> str:
    """Any core message in the language asked for; plain strings are returned as they are."""
    return text.in_language(language) if isinstance(text, Message) else text
