"""Chinese for the Library's background jobs (ui.job_panel), merged into ui.i18n.ZH.

Kept apart like ui.i18n_library, so pages built at the same time do not edit the same lines.
"""

from __future__ import annotations

ZH_JOBS: dict[str, str] = {
    "A .zip of a folder tree, or {n} files or more, is ingested as a background job: the page "
    "returns at once and you can leave it while the job runs.": (
        "文件夹的 .zip 压缩包，或 {n} 个及以上的文件，将作为后台任务导入：页面立即返回，任务运行期间您可以离开此页面。"
    ),
    "Background jobs": "后台任务",
    "Cancel job {id}": "取消任务 {id}",
    "Could not start the job: {reason}": "无法启动任务：{reason}",
    "Files of job {id}": "任务 {id} 的文件",
    "Job {id} started: {files} files are ingested in the background. You can leave this page "
    "and come back; the job goes on, and resumes after a restart.": (
        "任务 {id} 已启动：{files} 个文件正在后台导入。您可以离开此页面稍后再回来；任务会继续运行，重启后也会自动恢复。"
    ),
    "Job {id}: cancelled": "任务 {id}：已取消",
    "Job {id}: complete": "任务 {id}：已完成",
    "Job {id}: ingesting in the background": "任务 {id}：正在后台导入",
    "Job {id}: waiting for the background runner": "任务 {id}：等待后台执行",
    "Last file: {name}": "最近处理的文件：{name}",
    "Started by {user} at {at} UTC.": "由 {user} 于 {at}（UTC）启动。",
    "Stopping after the file in hand; files not reached are skipped.": (
        "处理完当前文件后停止；尚未处理的文件将被跳过。"
    ),
    "ingested": "已导入",
    "not yet ingested": "尚未导入",
    "skipped (job cancelled)": "已跳过（任务已取消）",
    "{done} ingested, {failed} failed, {skipped} skipped, {pending} to go.": (
        "已导入 {done} 个，失败 {failed} 个，跳过 {skipped} 个，剩余 {pending} 个。"
    ),
    "{n} files failed:": "{n} 个文件导入失败：",
    "{processed} of {total} files, {chunks} passages": "{processed} / {total} 个文件，{chunks} 个片段",
}
