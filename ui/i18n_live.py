"""Chinese for the Live call and Escalation rules pages, merged into ui.i18n.ZH.

Kept apart like ui.i18n_onboarding, so pages built at the same time do not edit the same
lines. Besides the pages' literal labels, it translates values shown through `t` from data:
speakers, escalation categories, severities and how a rule matched.
"""

from __future__ import annotations

ZH_LIVE: dict[str, str] = {
    # values from data
    "customer": "客户",
    "bot": "机器人",
    "low": "低",
    "medium": "中",
    "high": "高",
    "critical": "紧急",
    "phrase": "短语",
    "pattern": "模式",
    "meaning": "语义",
    "signal": "对话信号",
    "complaint": "投诉",
    "repeat_contact": "重复来电",
    "human_request": "要求人工",
    "fraud_scam": "欺诈诈骗",
    "vulnerability": "弱势客户",
    "bereavement": "客户身故",
    "repeated_question": "重复提问",
    "bot_failure": "机器人未能解答",
    "(new rule)": "（新建规则）",
    # live call
    "Live call": "实时通话",
    "Escalation rules": "升级规则",
    "Open calls": "进行中的通话",
    "{name} · started {time}": "{name} · {time} 开始",
    "{name} · {time}, from {account}": "{name} · {time}，来自 {account}",
    "No open call. Start one, or a call opened for you by the phone system appears here.": (
        "没有进行中的通话。可开始一个通话，或电话系统为您开启的通话会显示在这里。"
    ),
    "Start a call": "开始通话",
    "End call": "结束通话",
    "Transcript": "通话记录",
    "Nothing said yet.": "尚无对话。",
    "Suggestions": "建议",
    "Suggestions appear once the customer has said something.": "客户开口后即显示建议。",
    "Nothing in the knowledge base fits the call yet.": "知识库中暂无与本通话相符的内容。",
    "procedure, {n} steps": "流程，{n} 个步骤",
    "article": "文章",
    "{kind} · why: {words}": "{kind} · 依据：{words}",
    " (turns {turns})": "（第 {turns} 轮）",
    "Steps and sources": "步骤与来源",
    "Pin": "置顶",
    "Unpin": "取消置顶",
    "Mark used": "标记为已采用",
    "Used": "已采用",
    "Dismiss": "忽略",
    "**Escalation: {category}** ({severity}): {action}": "**升级：{category}**（{severity}）：{action}",
    "Why: “{matched}” ({how}) in turn {turn}, {speaker}": (
        "原因：第 {turn} 轮（{speaker}）中的“{matched}”（{how}）"
    ),
    ": “{words}”": "：“{words}”",
    "Procedure: {title} ({document})": "处理流程：{title}（{document}）",
    "Procedure: {document}": "处理流程：{document}",
    "Speaker": "说话人",
    "What was said": "对话内容",
    "Type a turn of the call": "输入一轮对话",
    "Add to the call": "加入通话",
    "Finding suggestions...": "正在查找建议……",
    "Call summary": "通话摘要",
    "{turns} turns, {start} to {end}.": "共 {turns} 轮，{start} 至 {end}。",
    "The customer's first words (masked)": "客户的开场话语（已脱敏）",
    "Documents used": "已采用的文件",
    "Documents dismissed": "已忽略的文件",
    "Escalation alerts": "升级提醒",
    "turn {turn}": "第 {turn} 轮",
    "Close summary": "关闭摘要",
    # escalation rules
    "Edit or add a rule": "编辑或新增规则",
    "Version history": "版本历史",
    "Try it": "试运行",
    "Rule": "规则",
    "Severity": "严重程度",
    "Enabled": "已启用",
    "Procedure": "处理流程",
    "This rule is disabled; saving it enables it again.": "此规则已停用；保存后将重新启用。",
    "(none)": "（无）",
    "not in the knowledge base": "不在知识库中",
    "Rule id": "规则编号",
    "Action for the agent": "坐席应采取的行动",
    "Procedure (a document of the knowledge base)": "处理流程（知识库中的文件）",
    "Phrases in English (one a line)": "英文短语（每行一个）",
    "Phrases in Chinese (one a line)": "中文短语（每行一个）",
    "Patterns (regular expressions, one a line)": "模式（正则表达式，每行一个）",
    "Exclusions: phrases or patterns that cancel a match (one a line)": (
        "排除项：可取消匹配的短语或模式（每行一个）"
    ),
    "Example utterances, matched by meaning (one a line)": "示例话语，按语义匹配（每行一个）",
    "Negative examples: look alike but must not fire (one a line)": (
        "反例：看似相近但不应触发（每行一个）"
    ),
    "Conversation signal": "对话信号",
    "Signal count": "信号次数",
    'Ignore negated matches ("I don\'t want to complain")': "忽略否定的匹配（“我不想投诉”）",
    "Description": "说明",
    "Save as a new version": "保存为新版本",
    "A rule with the id {id} exists: pick it to change it.": "编号为 {id} 的规则已存在：请选择该规则进行修改。",
    "Not saved: {reason}": "未保存：{reason}",
    "Saved {id} as version {version}.": "已保存 {id}，版本 {version}。",
    "Disable {id}": "停用 {id}",
    "Disabled {id} (version {version}).": "已停用 {id}（版本 {version}）。",
    "Pick a rule on the first tab to see its versions.": "请在第一个标签页选择规则以查看其版本。",
    "Author": "作者",
    "Change": "变更",
    "A sentence, or a transcript: one turn a line, 'customer: ...' or 'agent: ...'": (
        "一句话或一段通话记录：每行一轮，“客户：……”或“坐席：……”"
    ),
    "Run the rules": "运行规则",
    "Running the rules...": "正在运行规则……",
    "No rule fires.": "没有规则触发。",
    "**{rule}** ({category}, {severity}, version {version}) fires on turn {turn}: “{matched}” by {how}. {action}": (
        "**{rule}**（{category}，{severity}，版本 {version}）在第 {turn} 轮触发：“{matched}”（{how}）。{action}"
    ),
}
