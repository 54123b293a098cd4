"""The interface language: every label and message on the pages goes through `t`.

English text is the key, so a page reads like a description of the UI; the Chinese table
holds the translation of each. `tests/unit/test_i18n.py` checks that every string a page
passes to `t` has one, so a new label cannot be left untranslated.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from kb.messages import in_language
from ui.i18n_answer import ZH_ANSWER
from ui.i18n_jobs import ZH_JOBS
from ui.i18n_library import ZH_LIBRARY
from ui.i18n_live import ZH_LIVE
from ui.i18n_ocr import ZH_OCR
from ui.i18n_onboarding import ZH_ONBOARDING
from ui.i18n_session import ZH_SESSION

LANGUAGES = {"en": "English", "zh": "中文"}

ZH: dict[str, str] = {
    # app and sign-in
    "Interface language": "界面语言",
    "Signed in as **{name}** ({role})": "当前用户：**{name}**（{role}）",
    "Sign out": "退出登录",
    "Sign in": "登录",
    "Ask": "提问",
    "Library": "文档库",
    "Admin": "管理",
    "Onboarding": "新人培训",
    "Insights": "洞察",
    "Knowledge base for contact-centre agents": "客服中心坐席知识库",
    "User name": "用户名",
    "Password": "密码",
    "Wrong user name or password, or the account is disabled.": "用户名或密码错误，或账户已停用。",
    "Sign in with {provider}": "通过 {provider} 登录",
    "or with a local account": "或使用本地账户",
    "Your sign-in ({email}) has no AnswerDesk account yet: ask an administrator to add it.": (
        "您的登录身份（{email}）尚无 AnswerDesk 账户：请联系管理员添加。"
    ),
    "Please sign in.": "请先登录。",
    "Your role ({role}) cannot open this page.": "您的角色（{role}）无权打开此页面。",
    "agent": "坐席",
    "knowledge": "知识团队",
    "trainer": "培训师",
    "admin": "管理员",
    # ask
    "New call": "新来电",
    "Forget this call's questions": "清除本次通话的问题",
    "Category": "类别",
    "all": "全部",
    "Documents in force on": "文件生效日期",
    "This call": "本次通话",
    "Question": "问题",
    "What did the customer ask?": "客户问了什么？",
    "Searching the knowledge base...": "正在检索知识库……",
    "Answer {n} of this call": "本次通话第 {n} 个回答",
    "Searched as: {question}": "检索为：{question}",
    "Not covered in the knowledge base: escalate.": "知识库未涵盖：请升级处理。",
    "Closest related articles:": "最相关的文章：",
    "Confidence": "置信度",
    "Steps": "步骤",
    "Sources": "来源",
    "Open the original": "打开原文件",
    "Reason (optional)": "原因（可选）",
    "Helpful": "有帮助",
    "Not helpful": "没有帮助",
    "Thank you: feedback recorded.": "谢谢：反馈已记录。",
    "Thank you: the knowledge team will see this.": "谢谢：知识团队会看到此反馈。",
    # categories and statuses
    "policy": "政策",
    "procedure": "流程",
    "faq": "常见问题",
    "product_sheet": "产品说明",
    "infer": "自动识别",
    "current": "现行",
    "superseded": "已替换",
    "deleted": "已删除",
    "expired": "已失效",
    "not yet effective": "尚未生效",
    "Scheduled": "已排期",
    "v{version} scheduled from {date}": "v{version} 自 {date} 起生效",
    "scheduled from {date}": "已排期，自 {date} 起生效",
    "current until {date}": "现行，至 {date}",
    "Effective from (empty: at once; a later date schedules it)": "生效日期（留空：立即生效；较晚日期则排期）",
    "Version {version} scheduled from {date}: version {current} answers until then.": (
        "版本 {version} 已排期，自 {date} 起生效；在此之前仍由版本 {current} 作答。"
    ),
    "review due": "待复核",
    "added": "新增",
    "updated": "已更新",
    "unchanged": "未变化",
    "failed": "失败",
    # library
    "Upload documents": "上传文件",
    "Files (PDF, Word, HTML, Markdown, text, PowerPoint, Excel, CSV, e-mail)": (
        "文件（PDF、Word、HTML、Markdown、文本、PowerPoint、Excel、CSV、电子邮件）"
    ),
    "Effective date": "生效日期",
    "Expiry date": "失效日期",
    "Review by": "复核截止日期",
    "Owner": "负责人",
    "Access groups (comma-separated; empty: everyone)": "访问组（逗号分隔；留空：所有人）",
    "Ingest files": "导入文件",
    "Ingesting...": "正在导入……",
    "{done} of {total}: {name}": "第 {done}/{total} 个：{name}",
    "{files} files: {counts}.": "{files} 个文件：{counts}。",
    "File": "文件",
    "Result": "结果",
    "Document": "文件",
    "Version": "版本",
    "Chunks": "片段",
    "Reason": "原因",
    "Search titles, files and owners": "搜索标题、文件名和负责人",
    "Status": "状态",
    "Documents": "文件数",
    "Title": "标题",
    "Id": "编号",
    "Language": "语言",
    "Effective": "生效",
    "Expiry": "失效",
    "Groups": "访问组",
    "Ingested": "导入时间",
    "Chunks as the system sees them": "系统所见的片段",
    "Replace with a new version": "替换为新版本",
    "New version of this document (any file name)": "此文件的新版本（文件名不限）",
    "Replace": "替换",
    "Now version {version}: {chunks} passages, answerable at once.": (
        "现为版本 {version}：{chunks} 个片段，立即可用于回答。"
    ),
    "Same content as the current version: nothing changed.": "与当前版本内容相同：未作更改。",
    "Could not replace: {reason}": "无法替换：{reason}",
    "Edit metadata": "编辑元数据",
    "Access groups": "访问组",
    "Save metadata": "保存元数据",
    "Saved.": "已保存。",
    "Yes, delete {document} from search": "确认从检索中删除 {document}",
    "Delete document": "删除文件",
    "Deleted: {removed} passages left search.": "已删除：{removed} 个片段已移出检索。",
    "{n} documents are past their review-by date.": "{n} 个文件已过复核截止日期。",
    # admin
    "Users": "用户",
    "Name": "姓名",
    "Role": "角色",
    "Disabled": "已停用",
    "Initial password": "初始密码",
    "Access groups (comma-separated)": "访问组（逗号分隔）",
    "Add user": "添加用户",
    "Added {name}.": "已添加 {name}。",
    "Account": "账户",
    "Role of this account": "此账户的角色",
    "Groups of this account": "此账户的访问组",
    "Save account": "保存账户",
    "Saved {name}.": "已保存 {name}。",
    "Disable account": "停用账户",
    "Disabled {name}.": "已停用 {name}。",
    "Audit trail": "审计记录",
    "User": "用户",
    "Action": "操作",
    "From": "从",
    "To": "至",
    "At": "时间",
    "Details": "详情",
    "Export CSV": "导出 CSV",
    "The seal matches the trail's last event.": "封签与审计记录的最后一条相符。",
    "Verify the whole trail": "核验全部审计记录",
    "Verifying the audit trail...": "正在核验审计记录……",
    "Verified {read} of {total} events": "已核验 {read} / {total} 条",
    "Audit trail intact (every event verified at {at}).": "审计记录完整（{at} 已逐条核验）。",
    "Audit trail broken at event {event}!": "审计记录在第 {event} 条被篡改！",
    # accounts that resist attack (issue 12)
    "Too many failed attempts: try again in {minutes} minutes, or ask an administrator to unlock the account.": "失败次数过多：请 {minutes} 分钟后再试，或请管理员解锁该账户。",
    "Demo accounts exist ({names}): this is a demonstration, not for customer data. They are removed at start-up when KB_DEMO_USERS is off.": "存在演示账户（{names}）：这是演示环境，不得用于客户数据。关闭 KB_DEMO_USERS 后，启动时会删除这些账户。",
    "At least 12 characters, not the user name, not a common password. Leave empty for an account that signs in only with the identity provider.": "至少 12 个字符，不能包含用户名，不能是常见密码。留空则该账户只能通过身份提供方登录。",
    "{name} is locked out after failed sign-ins.": "{name} 因多次登录失败已被锁定。",
    "Unlock account": "解锁账户",
    "Locked out": "已锁定",
    "Unlocked {name}.": "已解锁 {name}。",
    # insights
    "Reading agents' questions...": "正在读取坐席的提问……",
    "Questions asked": "提问数",
    "Refused (not covered)": "拒答率（未涵盖）",
    "Failing questions": "失败问题",
    "Rated helpful": "评为有帮助",
    "Knowledge gaps": "知识缺口",
    "Document health": "文件健康度",
    "Trends": "趋势",
    "Questions that were refused, answered with low confidence or marked not helpful, grouped by topic.": (
        "被拒答、低置信度回答或被标记为没有帮助的问题，按主题分组。"
    ),
    "No failing questions in this period.": "此期间没有失败问题。",
    "Topic": "主题",
    "Questions": "问题数",
    "Refused": "拒答",
    "Low confidence": "低置信度",
    "First seen": "首次出现",
    "Last seen": "最近出现",
    "Documents shown": "展示的文件",
    "Failing questions per day, by topic": "每日失败问题（按主题）",
    "{label}: {count} questions": "{label}：{count} 个问题",
    "Export gaps as CSV": "导出知识缺口 CSV",
    "How often each current document was shown to agents in this period, and what they said.": (
        "此期间每份现行文件向坐席展示的次数及坐席的反馈。"
    ),
    "Never shown": "从未展示",
    "Past review-by or expiry": "已过复核或失效日期",
    "Shown": "展示次数",
    "Last shown": "最近展示",
    "Most used": "最常用",
    "Least used": "最少用",
    "Needs review": "需要复核",
    "All documents": "全部文件",
    "No questions in this period.": "此期间没有提问。",
    "Refusal rate": "拒答率",
    "Helpful rate": "有帮助率",
    "Questions per day": "每日提问数",
    "Refusal rate and helpful rate": "拒答率与有帮助率",
    "Restricted documents you cannot open are not listed: {counts}. Reading or editing them "
    "needs the restricted-reader permission (an administrator grants it).": (
        "您无权打开的受限文件未列出：{counts}。阅读或编辑这些文件需要受限文件阅读权限"
        "（由管理员授予）。"
    ),
    "An item you cannot open (restricted or removed)": "您无法打开的项目（受限或已删除）",
}


ZH.update(ZH_ONBOARDING)
ZH.update(ZH_LIVE)
ZH.update(ZH_SESSION)
ZH.update(ZH_ANSWER)
ZH.update(ZH_LIBRARY)
ZH.update(ZH_OCR)
ZH.update(ZH_JOBS)


def language() -> str:
    return st.session_state.get("language", "en")


def t(text: str, **values: Any) -> str:
    """`text` in the interface language, with `values` filled in."""
    template = ZH.get(text, text) if language() == "zh" else text
    return template.format(**values) if values else template


def say(message: str) -> str:
    """A message from the core (kb.messages) in the interface language."""
    return in_language(message, language())
