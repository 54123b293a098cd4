"""`kb escalation` as the knowledge team uses it, in a real subprocess: list, show, history,
save (audited, with validation errors as one line), disable, and check on a recorded call."""

from __future__ import annotations

import json

import pytest

from tests.conftest import REPO
from tests.integration.test_cli import kb

pytestmark = pytest.mark.integration


def test_escalation_rules_from_the_command_line(tmp_path):
    data_dir = tmp_path / "kb"
    kb(
        data_dir,
        "users",
        "add",
        "kim",
        "--role",
        "knowledge",
        "--password",
        "escalation passphrase",
    )
    kb(data_dir, "users", "add", "ana", "--role", "agent", "--password", "escalation passphrase")

    listing = kb(data_dir, "escalation", "list").stdout
    assert "complaint.expressed" in listing and "fraud_scam.in_progress" in listing
    assert "15 rules, 15 enabled" in listing.splitlines()[-1]

    shown = json.loads(kb(data_dir, "escalation", "show", "complaint.expressed").stdout)
    assert shown["severity"] == "medium" and shown["version"] == 1 and shown["enabled"]

    shown["phrases"].append("utter shambles")
    shown["severity"] = "high"
    for name in ("version", "enabled"):
        shown.pop(name)
    rule_file = tmp_path / "complaint.json"
    rule_file.write_text(json.dumps(shown), encoding="utf-8")
    saved = kb(data_dir, "escalation", "save", str(rule_file), "--as", "kim").stdout
    assert saved.strip() == "saved complaint.expressed as version 2"

    refused = kb(data_dir, "escalation", "save", str(rule_file), "--as", "ana", check=False)
    assert refused.returncode == 1 and "ana may not change escalation rules" in refused.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**shown, "patterns": ["speak to (a|the"]}), encoding="utf-8")
    invalid = kb(data_dir, "escalation", "save", str(bad), "--as", "kim", check=False)
    assert invalid.returncode == 1 and "is not valid" in invalid.stderr
    assert "Traceback" not in invalid.stderr

    assert (
        "disabled bereavement (version 2)"
        in kb(data_dir, "escalation", "disable", "bereavement", "--as", "kim").stdout
    )
    history = kb(data_dir, "escalation", "history", "complaint.expressed").stdout.splitlines()
    assert history[0].startswith("v1   enabled") and history[0].endswith("system           seeded")
    assert "kim" in history[1] and "changed: phrases, severity" in history[1]

    audit = kb(data_dir, "audit", "--action", "escalation_rule_change").stdout
    assert audit.count("kim") == 2 and "bereavement" in audit

    recording = str(REPO / "eval/data/calls/scam-safe-account.jsonl")
    check = kb(data_dir, "escalation", "check", recording, "--no-meaning").stdout
    assert "CRITICAL fraud_scam.in_progress" in check and "action:" in check
    assert "procedure: fraud-scam-escalation" in check
    assert check.splitlines()[-1] == "3 alerts in 7 turns"
