"""Chinese for the Onboarding page's labels, merged into ui.i18n.ZH.

Kept in its own module because the page has many labels of its own (exercise review, call
drills, learning paths, the dashboard) and was built alongside other pages: a separate table
lets both change without editing the same lines. English text is the key, as in ui.i18n;
tests/unit/test_i18n.py checks every label ui/onboarding.py passes to `t` has an entry here
or in the main table. Besides those literals, this table also translates the values the page
passes to `t` from data: exercise kinds and statuses, path item kinds, and the names of the
category topics kb.training.generate produces.
"""

from __future__ import annotations

ZH_ONBOARDING: dict[str, str] = {
    # values shown through t() from data (kinds, statuses, topic names)
    "order": "排序",
    "fill": "填空",
    "drill": "来电演练",
    "draft": "草稿",
    "approved": "已批准",
    "discarded": "已弃用",
    "document": "文件",
    "exercise": "练习",
    "Procedures": "操作流程",
    "Policies": "政策",
    "FAQs": "常见问题",
    "Product sheets": "产品说明",
    # tabs and headings
    "Topics": "主题",
    "Exercises": "练习",
    "Call drills": "来电演练",
    "Learning paths": "学习路径",
    "Dashboard": "看板",
    "My learning paths": "我的学习路径",
    "Review one exercise": "审核单个练习",
    "Weak topics": "薄弱主题",
    "Scores over attempts": "历次作答得分",
    # topics
    "The knowledge base has no documents yet.": "知识库中还没有文件。",
    "{documents} documents, {procedures} procedures": "{documents} 个文件，{procedures} 个流程",
    "Open a procedure": "打开流程",
    "Source: {source}": "来源：{source}",
    "Source text, as the document has it": "来源原文",
    # exercises
    "Generate from the knowledge base": "从知识库生成练习",
    "Generating exercises...": "正在生成练习……",
    "Exercises: {added} new, {updated} updated, {unchanged} unchanged.": (
        "练习：新增 {added} 个，更新 {updated} 个，未变化 {unchanged} 个。"
    ),
    "{n} exercises come from a document version that is no longer current: their answers may "
    "have changed.": "{n} 个练习来自已不再现行的文件版本：其答案可能已变化。",
    "Discard outdated exercises": "弃用过时练习",
    "Discarded {n} exercises.": "已弃用 {n} 个练习。",
    "Approved {n} exercises.": "已批准 {n} 个练习。",
    "Kind": "类型",
    "Topic": "主题",
    "Section": "章节",
    "Pages": "页码",
    "Edited": "已编辑",
    "edited": "已编辑",
    "No exercises match: generate them from the knowledge base or change the filters.": (
        "没有符合条件的练习：请从知识库生成练习，或更改筛选条件。"
    ),
    "Approve the {n} on this page": "批准本页的 {n} 个",
    "Discard the {n} on this page": "弃用本页的 {n} 个",
    "Page (of {pages})": "页码（共 {pages} 页）",
    "Showing {first}–{last} of {total}, most important first.": (
        "显示第 {first}–{last} 个，共 {total} 个，最重要的在前。"
    ),
    "Kept {kept} of {candidates} found in the documents in force; left out: {left_out}.": (
        "在现行有效的文件中找到 {candidates} 个，保留 {kept} 个；未保留：{left_out}。"
    ),
    "{n} earlier drafts it no longer keeps were discarded.": "已弃用 {n} 个不再保留的旧草稿。",
    # why generated candidates were left out (kb.exercises.DROP_REASONS, shown through t())
    "unanswerable from the sentence alone": "仅凭句子本身无法作答",
    "table rows that name nothing": "未指明对象的表格行",
    "orderings of alternative steps": "由可互换步骤组成的排序题",
    "near-duplicates": "近似重复",
    "trivia (opening hours, contact details)": "琐碎信息（服务时间、联系方式）",
    "beyond the best per section": "超出每节最佳数量",
    "beyond the best per document": "超出每份文件最佳数量",
    "Exercise": "练习",
    "The trainee sees the steps in this order:": "学员看到的步骤顺序：",
    "Approve": "批准",
    "Discard": "弃用",
    "Approved {id}.": "已批准 {id}。",
    "Discarded {id}.": "已弃用 {id}。",
    "Answer (quoted from the source)": "答案（须摘自来源原文）",
    "Other accepted answers (comma-separated)": "其他可接受的答案（逗号分隔）",
    "Steps in the right order, one per line": "按正确顺序填写步骤，每行一步",
    "Save changes": "保存修改",
    "Saved: the edit is kept when exercises are generated again.": (
        "已保存：重新生成练习时会保留此修改。"
    ),
    # answers
    "Correct answer: **{answer}**": "正确答案：**{answer}**",
    "Also accepted: {answers}": "同样接受：{answers}",
    "Correct order:": "正确顺序：",
    "Document that answers it: **{title}**": "对应文件：**{title}**",
    "This document has no procedure: finding it is the whole answer.": (
        "此文件没有操作流程：找到该文件即为完整答案。"
    ),
    # call drills
    "Real customer messages (BANKING77): map one to the document that answers it.": (
        "真实客户留言（BANKING77）：为留言指定能解答它的文件。"
    ),
    "Intent category": "意图类别",
    "Customer message": "客户留言",
    "★ found by the knowledge base's search for this message": "★ 为知识库针对此留言检索到的文件",
    "Document that answers it": "能解答的文件",
    "Create call drill": "创建来电演练",
    "Call drill {id} saved as a draft: review it under Exercises.": (
        "来电演练 {id} 已保存为草稿：请在“练习”中审核。"
    ),
    "By": "创建人",
    # learning paths
    "Path name": "路径名称",
    "Documents and procedures to read": "需阅读的文件和流程",
    "Approved exercises": "已批准的练习",
    "The path lists the readings first, then the exercises, in the order chosen.": (
        "路径先列出阅读内容，再列出练习，均按选择顺序排列。"
    ),
    "Create path": "创建路径",
    "No approved exercises yet: approve some under Exercises.": (
        "尚无已批准的练习：请先在“练习”中批准。"
    ),
    "Created “{name}” with {n} items.": "已创建“{name}”，共 {n} 项。",
    "Path": "路径",
    "Items": "项目数",
    "Created by": "创建人",
    "Assigned to": "分配给",
    "Learning path": "学习路径",
    "Agents": "坐席",
    "Assign": "分配",
    "Assigned to {names}.": "已分配给 {names}。",
    # dashboard
    "No learning paths yet.": "还没有学习路径。",
    "Not assigned to anyone yet.": "尚未分配给任何人。",
    "Trainee": "学员",
    "Done": "已完成",
    "Total": "总数",
    "Completion": "完成度",
    "Mean score": "平均得分",
    "Attempts": "作答次数",
    "Last activity": "最近活动",
    "Topics with a mean score below {threshold}.": "平均得分低于 {threshold} 的主题。",
    "all trainees": "全体学员",
    "No weak topics so far.": "目前没有薄弱主题。",
    "Attempt": "作答序号",
    "Score": "得分",
    # trainee
    "No learning path has been assigned to you yet.": "尚未为您分配学习路径。",
    "{done} of {total} done": "已完成 {done}/{total}",
    "Read": "阅读",
    "Mark as read": "标记为已读",
    "Give each step its position in the procedure (1 = first).": (
        "为每个步骤填写它在流程中的位置（1 = 第一步）。"
    ),
    "Position of: {step}": "位置：{step}",
    "Give each step a different position from 1 to {n}.": "请为每个步骤填写 1 到 {n} 之间互不相同的位置。",
    "You put “{then}” before “{first}”: “{first}” protects the customer and must come first. "
    "A safety step out of order scores 0.": (
        "您把“{then}”放在了“{first}”之前：“{first}”是保护客户的步骤，必须先做。"
        "安全步骤顺序错误计 0 分。"
    ),
    "Check": "检查答案",
    "Your answer": "您的答案",
    "Which document answers this?": "哪份文件能解答此问题？",
    "Choose a document": "选择文件",
    "Steps to follow, in order": "应执行的步骤（按顺序）",
    "Your score": "您的得分",
    "Right.": "正确。",
    "Put the steps in order": "按顺序排列步骤",
    "Fill in the blank": "填空",
    "Call drill": "来电演练",
    "Not quite: compare with the answer and the source below.": (
        "不完全正确：请对照下方的答案和来源。"
    ),
    "Edit a path": "编辑学习路径",
    "Path to edit": "要编辑的路径",
    "Items, in order": "内容（按顺序）",
    "Save path": "保存路径",
    "Saved “{name}” with {n} items.": "已保存“{name}”，共 {n} 项。",
}
