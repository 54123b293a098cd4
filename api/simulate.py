"""`kb call simulate`: replay a recorded call through the API, turn by turn, and print what the
agent's screen would show as it changes. A recorded call is JSONL, one turn a line:
`{"t": seconds from the start, "speaker": "customer"|"agent"|"bot", "text": "..."}`; a first
line `{"reference": "..."}` (no text) names the call."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kb.errors import KBError


def read_recording(path: Path) -> tuple[str | None, list[dict[str, Any]]]:
    """(reference, turns) of a recorded call; a line that is not a turn says where."""
    reference, turns = None, []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as e:
            raise KBError(f"{path}, line {number}: not JSON ({e})") from e
        if not isinstance(item, dict):
            raise KBError(f"{path}, line {number}: expected an object")
        if "text" not in item and "reference" in item:
            reference = str(item["reference"])
            continue
        if (
            item.get("speaker") not in ("customer", "agent", "bot")
            or not str(item.get("text", "")).strip()
        ):
            raise KBError(
                f"{path}, line {number}: expected {{t, speaker: customer|agent|bot, text}}"
            )
        turns.append(
            {"t": float(item.get("t", 0)), "speaker": item["speaker"], "text": item["text"]}
        )
    if not turns:
        raise KBError(f"{path}: no turns")
    return reference, turns


def changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    """Lines saying what changed on the agent's screen between two assist snapshots."""
    lines: list[str] = []
    old = {s["id"]: s for s in (before or {}).get("suggestions", [])}
    new = {s["id"]: s for s in after.get("suggestions", [])}
    for sid, suggestion in new.items():
        if sid not in old:
            steps = len(suggestion.get("steps", []))
            what = f"{steps} steps" if steps else "article"
            why = ", ".join(suggestion.get("why", [])) or "-"
            lines.append(f"  + {suggestion['title']} ({what}); why: {why}")
            for step in suggestion.get("steps", [])[:3]:
                if step.get("number"):
                    lines.append(f"      {step['number']}. {step['text'][:90]}")
        elif suggestion.get("pinned") and not old[sid].get("pinned"):
            lines.append(f"  * pinned: {suggestion['title']}")
    for sid, suggestion in old.items():
        if sid not in new:
            lines.append(f"  - {suggestion['title']}")
    seen = {(a["rule_id"], a["turn_index"]) for a in (before or {}).get("alerts", [])}
    for alert in after.get("alerts", []):
        if (alert["rule_id"], alert["turn_index"]) not in seen:
            lines.append(
                f"  ! {alert['severity'].upper()} {alert['rule_id']} (turn {alert['turn_index']}, "
                f"'{alert['matched']}'): {alert['action']}"
            )
    return lines


def simulate(
    path: Path,
    url: str,
    token: str,
    speed: float = 1.0,
    acting_for: str | None = None,
    out: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
    transport: Any = None,
    keep_open: bool = False,
) -> dict[str, Any]:
    """Replay the recording through the API at `speed` times real time; returns the summary
    (with `keep_open`, the call is left open for the agent to end, and the last snapshot is
    returned)."""
    import httpx

    if speed <= 0:
        raise KBError(f"speed must be above 0. Currently, it is {speed}")
    reference, turns = read_recording(path)
    headers = {"Authorization": f"Bearer {token}"}
    if acting_for:
        headers["X-Acting-For"] = acting_for
    with httpx.Client(base_url=url, headers=headers, timeout=120, transport=transport) as client:

        def call(method: str, path: str, body: Any = None) -> dict[str, Any]:
            try:
                response = client.request(method, path, json=body)
            except httpx.HTTPError as e:
                raise KBError(f"cannot reach the API at {url}: {e}") from e
            if response.status_code >= 400:
                try:
                    detail = response.json().get("detail")
                except ValueError:
                    detail = response.text[:200]
                raise KBError(f"{method} {path}: {response.status_code} {detail}")
            return response.json()

        opened = call("POST", "/v1/calls", {"reference": reference} if reference else {})
        call_id = opened["call_id"]
        out(f"call {call_id} opened{f' ({reference})' if reference else ''}")
        before: dict[str, Any] | None = None
        previous_t = 0.0
        for turn in turns:
            sleep(max(0.0, turn["t"] - previous_t) / speed)
            previous_t = max(previous_t, turn["t"])
            stamp = f"[{int(turn['t']) // 60:02d}:{int(turn['t']) % 60:02d}]"
            out(f"{stamp} {turn['speaker']}: {turn['text']}")
            snapshot = call(
                "POST",
                f"/v1/calls/{call_id}/turns",
                {"turns": [{"speaker": turn["speaker"], "text": turn["text"]}]},
            )
            for line in changes(before, snapshot):
                out(line)
            before = snapshot
        if keep_open:
            out(f"call {call_id} left open")
            return before or {}
        summary = call("POST", f"/v1/calls/{call_id}/end")
        out(
            f"call ended: {summary['turns']} turns; topics: {', '.join(summary['topics']) or '-'}; "
            f"alerts: {', '.join(a['rule_id'] for a in summary['alerts']) or '-'}"
        )
        return summary


def recordings(folder: Path) -> Sequence[Path]:
    return sorted(folder.glob("*.jsonl"))
