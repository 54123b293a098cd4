"""Input that is not text (issue 12): a lone surrogate or bytes that are not UTF-8, in a
`kb ask --batch` line, a file's name or text, or an API request, is reported where it is,
and everything else goes on."""

from __future__ import annotations

import json
import os

import pytest

from kb.errors import InvalidTextError
from kb.text import lone_surrogate, printable, require_text, text_lines
from kb.types import FileStatus
from tests.conftest import GOOD

pytestmark = pytest.mark.integration

SURROGATE = "\ud800".encode("utf-8", "surrogatepass")  # b"\xed\xa0\x80": not UTF-8


@pytest.fixture
def base(services):
    services.ingest_paths([GOOD / "guide.md"])
    return services


def test_text_lines_reports_the_lines_that_are_not_text():
    data = b'{"question": "a"}\r\n' + b"bad " + SURROGATE + b"\n\xff\xfe\nlast"
    lines = list(text_lines(data))
    assert [(n, text) for n, text, _ in lines] == [
        (1, '{"question": "a"}'),
        (2, None),
        (3, None),
        (4, "last"),
    ]
    assert "not UTF-8 text (byte 0xed at byte 5" in lines[1][2]
    assert lone_surrogate("ok \ud800") == 3 and lone_surrogate("好的") is None
    assert printable("a\udcffb") == "a\ufffdb"
    with pytest.raises(InvalidTextError, match="lone surrogate U\\+D800 at character 2"):
        require_text("a\ud800", "question")


@pytest.mark.security
def test_a_lone_surrogate_in_a_batch_is_reported_and_the_batch_goes_on(
    base, monkeypatch, capsys, tmp_path
):
    """Attack: `kb ask --batch` with a line holding a lone surrogate (raw or as a JSON escape) or bytes that are not UTF-8; the batch aborted with a traceback"""
    from kb.cli import main

    monkeypatch.setenv("KB_DATA_DIR", str(base.settings.data_dir))
    batch = tmp_path / "batch.jsonl"
    batch.write_bytes(
        b'{"question": "How do I reset my online banking password?"}\n'
        + b'{"question": "overdraft '
        + SURROGATE
        + b'"}\n'
        + b'{"question": "overdraft \\ud800 fee"}\n'
        + b'{"question": "fee", "history": [{"role": "user", "text": "\\udfff"}]}\n'
        + b'{"question": "\xff\xfe"}\n'
        + b'{"question": "How do I reset my online banking password?", "id": "last"}\n'
    )
    out = tmp_path / "out.jsonl"
    assert main(["ask", "--batch", str(batch), "--output", str(out)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "line 2: not UTF-8 text" in err
    assert "line 3: the question holds an invalid character (lone surrogate U+D800" in err
    assert "line 4: the history text holds an invalid character (lone surrogate U+DFFF" in err
    assert "line 5: not UTF-8 text (byte 0xff" in err
    assert "4 line(s)" in err
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in records] == [1, 2, 3, 4, 5, "last"]
    assert "error" not in records[0] and "error" not in records[5] and records[5]["status"]
    assert all("error" in r for r in records[1:5])


@pytest.mark.security
def test_kb_ask_with_a_lone_surrogate_exits_with_a_message(base, monkeypatch, capsys):
    """Attack: `kb ask` with a question holding a lone surrogate (an argument that is not UTF-8)"""
    from kb.cli import main

    monkeypatch.setenv("KB_DATA_DIR", str(base.settings.data_dir))
    assert main(["ask", "overdraft \udcff fee"]) == 1
    assert "the question holds an invalid character" in capsys.readouterr().err


@pytest.mark.security
def test_a_file_whose_name_or_text_is_not_utf8_is_reported_and_the_batch_goes_on(
    services, tmp_path
):
    """Attack: ingest a folder with a file named in bytes that are not UTF-8 and a text file holding a lone surrogate; the ingest stopped with a traceback"""
    folder = tmp_path / "in"
    folder.mkdir()
    bad_name = os.fsdecode(b"overdraft-\xff.md")
    (folder / bad_name).write_text("# Overdraft\n\nThe overdraft fee is 5 pounds a day.\n")
    (folder / "cards.txt").write_bytes(
        b"Card replacement takes five working days. " + SURROGATE + b" Express costs 15 pounds.\n"
    )
    (folder / "guide.md").write_bytes((GOOD / "guide.md").read_bytes())
    report = services.ingest_paths([folder])
    by_name = {f.source_name: f for f in report.files}
    assert set(by_name) == {"overdraft-\ufffd.md", "cards.txt", "guide.md"}
    refused = by_name["overdraft-\ufffd.md"]
    assert refused.status == FileStatus.FAILED and "not UTF-8 text" in refused.reason
    assert by_name["guide.md"].status == FileStatus.ADDED
    cards = by_name["cards.txt"]
    assert cards.status == FileStatus.ADDED or cards.reason
    for chunk in services.kb.registry.chunks_by_id(
        services.kb.registry.current_chunk_ids()
    ).values():
        assert lone_surrogate(chunk.text) is None


@pytest.mark.security
def test_the_api_answers_422_to_a_lone_surrogate(base):
    """Attack: post {"question": "\\ud800"} (and a history turn, and bytes that are not UTF-8) to /v1/ask; it must be a 4xx naming the field, never a 500"""
    from fastapi.testclient import TestClient

    from api import create_app

    token = base.integration_accounts().create("bot", "chatbot", (), 1000)[1]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    bodies = [
        b'{"question": "overdraft \\ud800 fee"}',
        b'{"question": "overdraft fee", "history": [{"text": "\\udfff"}]}',
        b'{"question": "overdraft \xff\xfe fee"}',
    ]
    with TestClient(create_app(base, warm_up=False), raise_server_exceptions=False) as client:
        for body in bodies:
            response = client.post("/v1/ask", content=body, headers=headers)
            assert 400 <= response.status_code < 500, (body, response.status_code, response.text)
        first = client.post("/v1/ask", content=bodies[0], headers=headers)
        assert first.status_code == 422 and "body.question" in first.json()["detail"]
        ok = client.post(
            "/v1/ask", json={"question": "What is the overdraft fee?"}, headers=headers
        )
        assert ok.status_code == 200
