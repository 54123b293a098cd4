"""Chinese for Sessions,sign-in,admin, merged into ui.i18n.ZH.

Kept apart like ui.i18n_live, so pages built at the same time do not edit the same lines.
"""

from __future__ import annotations

ZH_SESSION: dict[str, str] = {
    # sign-in: a session that ran out by itself (kb.sessions)
    "Your session ended after {minutes} minutes without activity: please sign in again.": (
        "您已 {minutes} 分钟无操作，会话已结束：请重新登录。"
    ),
    "Your session ended {hours} hours after signing in: please sign in again.": (
        "登录已满 {hours} 小时，会话已结束：请重新登录。"
    ),
    # admin: account states and the two-step disabling
    "State": "状态",
    "active": "正常",
    "disabled": "已停用",
    "locked out until {time}": "锁定至 {time}",
    "Demo account": "演示账户",
    "Open sessions": "在线会话",
    "Demo accounts have random passwords shown once and are removed at start-up when KB_DEMO_USERS is off.": (
        "演示账户使用仅显示一次的随机密码；KB_DEMO_USERS 关闭时，启动时会将其删除。"
    ),
    "**{name}**: {state}": "**{name}**：{state}",
    " · demo account": " · 演示账户",
    "Enable account": "启用账户",
    "Enabled {name}.": "已启用 {name}。",
    "Disable {name}? They are signed out at once, on every device, and cannot sign in until an administrator enables the account again.": (
        "确定停用 {name}？其所有设备上的登录将立即结束，在管理员重新启用账户之前无法登录。"
    ),
    "Yes, disable {name}": "确认停用 {name}",
    "Cancel": "取消",
    "{name} is locked out after failed sign-ins until {time}.": (
        "{name} 因多次登录失败被锁定，至 {time} 解除。"
    ),
}
