"""Chinese for the Library: four-eyes publishing, version diff, upload states, merged into ui.i18n.ZH.

Kept apart like ui.i18n_live, so pages built at the same time do not edit the same lines.
"""

from __future__ import annotations

ZH_LIBRARY: dict[str, str] = {
    # upload states
    "Up to {mb} MB per file (KB_MAX_FILE_MB).": "每个文件最大 {mb} MB（KB_MAX_FILE_MB）。",
    "Choose at least one file to upload, then press Ingest files.": (
        "请至少选择一个文件，然后点击“导入文件”。"
    ),
    "Choose the file of the new version, then press Replace.": "请选择新版本的文件，然后点击“替换”。",
    "No file was added.": "没有文件被导入。",
    "Some files failed.": "部分文件导入失败。",
    # four-eyes publishing
    "Four-eyes publishing: what you upload here is a draft. Agents see it only after a second "
    "person from the knowledge team or an administrator approves it.": (
        "双人复核发布：在此上传的内容为草稿。须由知识团队的另一位成员或管理员批准后，坐席才能看到。"
    ),
    "{n} awaiting review: a second person (knowledge team or admin) approves them below before "
    "agents see them.": "{n} 个待复核：须由另一位成员（知识团队或管理员）在下方批准后，坐席才能看到。",
    "{status} (draft: awaiting review)": "{status}（草稿：待复核）",
    "draft: awaiting review": "草稿：待复核",
    "v{version} draft: awaiting review": "v{version} 草稿：待复核",
    "Review": "复核",
    "rejected": "已驳回",
    "withdrawn": "已撤回",
    "Drafts awaiting review ({n})": "待复核草稿（{n}）",
    "Draft to review": "要复核的草稿",
    "Submitted by": "提交人",
    "Submitted": "提交时间",
    "Replaces": "替换",
    "new document": "新文档",
    "A new document: every passage is new.": "新文档：所有段落都是新增的。",
    "You submitted this draft: a second person must review it.": "此草稿由您提交：须由另一人复核。",
    "Review comment (required to reject)": "复核意见（驳回时必填）",
    "Approve and publish": "批准并发布",
    "Reject": "驳回",
    "Rejected version {version} of {document}: the version in force stays.": (
        "已驳回 {document} 的第 {version} 版：现行版本保持不变。"
    ),
    "Approved version {version} of {document}: it answers from {date}.": (
        "已批准 {document} 的第 {version} 版：自 {date} 起用于回答。"
    ),
    "Approved version {version} of {document}: agents get it now.": (
        "已批准 {document} 的第 {version} 版：坐席现在即可看到。"
    ),
    "Version {version} submitted for review: version {current} answers until a second person "
    "approves it.": "第 {version} 版已提交复核：在另一人批准前，仍由第 {current} 版回答。",
    "Preview drafts": "预览草稿",
    "Answers use drafts awaiting review in place of the versions they would replace (only "
    "you see this).": "回答将使用待复核的草稿代替其将替换的版本（仅您可见）。",
    # version diff
    "Compare two versions": "比较两个版本",
    "Earlier version": "较早版本",
    "Later version": "较新版本",
    "Choose two different versions.": "请选择两个不同的版本。",
    "Version {version}": "第 {version} 版",
    "Show unchanged passages too": "同时显示未改动的段落",
    "The two versions have the same passages.": "两个版本的段落相同。",
    "v{old} → v{new}: {added} added, {removed} removed, {changed} changed, {unchanged} "
    "unchanged passages.": "v{old} → v{new}：新增 {added} 段，删除 {removed} 段，修改 {changed} 段，"
    "未改动 {unchanged} 段。",
    "Added": "新增",
    "Removed": "删除",
    "Changed": "修改",
    "Unchanged": "未改动",
}
