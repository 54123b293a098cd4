"""The `kb` command as the knowledge team uses it, in a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import BAD, GOOD

pytestmark = pytest.mark.integration


def kb(data_dir, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "KB_DATA_DIR": str(data_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "kb.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_ingest_report_docs_and_delete(tmp_path):
    data_dir = tmp_path / "kb"
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("policy.pdf", "procedure.docx", "zh_procedure.pdf"):
        (folder / name).write_bytes((GOOD / name).read_bytes())
    (folder / "fake.pdf").write_bytes((BAD / "fake.pdf").read_bytes())
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("file,groups\nprocedure.docx,cards-team\n", encoding="utf-8")

    first = kb(data_dir, "ingest", "--no-progress", str(folder), "--manifest", str(manifest))
    lines = first.stdout.splitlines()
    assert any(line.startswith("added      policy.pdf: policy v1, ") for line in lines)
    assert any(
        line.startswith("FAILED     fake.pdf: named .pdf but it is really a web page")
        for line in lines
    )
    assert "4 files" in lines[-1] and "3 added" in lines[-1] and "1 failed" in lines[-1]

    again = kb(data_dir, "ingest", "--no-progress", str(folder))
    assert "3 unchanged" in again.stdout and "0 chunks embedded" in again.stdout

    listing = kb(data_dir, "docs", "list").stdout
    assert "3 documents" in listing and "[cards-team]" in listing

    shown = kb(data_dir, "docs", "show", "policy").stdout
    assert "Wire Transfer Cut-off Times and Fees Policy" in shown
    assert "v1 current" in shown and "effective: 2025-01-15" in shown and "Fees" in shown

    kb(data_dir, "docs", "delete", "policy")
    assert "2 documents" in kb(data_dir, "docs", "list").stdout
    missing = kb(data_dir, "docs", "show", "nope", check=False)
    assert missing.returncode == 1 and "no document with id 'nope'" in missing.stderr


def test_every_file_failing_exits_non_zero(tmp_path):
    result = kb(tmp_path / "kb", "ingest", "--no-progress", str(BAD / "fake.pdf"), check=False)
    assert result.returncode == 1 and "FAILED" in result.stdout
    bad_date = kb(tmp_path / "kb", "ingest", str(GOOD), "--effective-date", "soon", check=False)
    assert bad_date.returncode == 2 and "YYYY-MM-DD" in bad_date.stderr
