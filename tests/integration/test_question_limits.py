"""Question length: too long is refused with a message (service, CLI, API); a question longer
than the embedding model reads in one pass is searched by its start, and the agent is told."""

from __future__ import annotations

import json
import sqlite3

import pytest

from kb.errors import QuestionTooLongError
from kb.types import Query
from tests.conftest import GOOD

pytestmark = pytest.mark.integration

HUGE = "The customer wants to know about the overdraft fee. " * 2000  # about 100 kB


@pytest.fixture
def base(services):
    services.ingest_paths([GOOD / "guide.md", GOOD / "notes.txt"])
    return services


@pytest.mark.security
def test_a_100_kb_question_is_refused_with_a_message_saying_the_limit(base):
    """Attack: a 100 kB question is typed (over a minute of embedding before); it must be refused with a message that says the limit."""
    with pytest.raises(
        QuestionTooLongError, match=r"100,000 characters long, over the limit of 2,000"
    ):
        base.check_question(HUGE[:100_000])
    base.check_question("x" * base.settings.question_max_chars)  # at the limit: fine


@pytest.mark.security
def test_a_100_kb_text_that_reaches_ask_is_read_only_as_far_as_the_model_reads(base):
    """Attack: a 100 kB customer turn reaches Services.ask through a live call; it must be searched by its start only, the agent told, and only the masked text logged."""
    answer = base.ask(Query(HUGE + " card 4539 1488 0343 6467"), user="ana")
    (notice,) = [n for n in answer.notices if getattr(n, "kind", "") == "question_cut"]
    assert f"of {len(HUGE) + 25} characters were searched" in notice
    assert len(answer.resolved_question) < 3000
    stored = sqlite3.connect(base.settings.questions_path).execute("SELECT question FROM questions")
    (question,) = stored.fetchone()
    assert "4539" not in question and "[card ****6467]" in question


def test_a_question_longer_than_the_model_reads_is_cut_for_the_search_and_the_agent_told(base):
    question = "客户的借记卡丢失了，需要挂失并补办新卡，请问手续费是多少？" * 50  # 1,500 chars
    assert len(question) <= base.settings.question_max_chars
    answer = base.ask(Query(question))
    (notice,) = [n for n in answer.notices if getattr(n, "kind", "") == "question_cut"]
    assert "too long" in notice and f"of {len(question)} characters" in notice
    assert "问题过长" in notice.in_language("zh")
    assert answer.question == question  # the agent's question, whole
    assert len(answer.resolved_question) < len(question)  # what was searched
    short = base.ask(Query("What is the overdraft fee?"))
    assert not [n for n in short.notices if getattr(n, "kind", "") == "question_cut"]


@pytest.mark.security
def test_kb_ask_refuses_a_too_long_question_with_a_clear_error(base, monkeypatch, capsys, tmp_path):
    """Attack: a 100 kB question is passed to `kb ask` (and in a --batch file); the CLI must exit non-zero with a message saying the limit."""
    from kb.cli import main

    monkeypatch.setenv("KB_DATA_DIR", str(base.settings.data_dir))
    assert main(["ask", HUGE]) == 1
    err = capsys.readouterr().err
    assert "error: the question is" in err and "over the limit of 2,000" in err
    batch = tmp_path / "batch.jsonl"
    lines = [{"question": "overdraft fee?"}, {"question": HUGE}]
    batch.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert main(["ask", "--batch", str(batch), "--output", str(tmp_path / "out.jsonl")]) == 1
    assert "line 2: the question is" in capsys.readouterr().err


@pytest.mark.security
def test_the_api_answers_422_to_a_too_long_question(base):
    """Attack: a 3,000-character question is posted to /v1/ask (the schema took 4,000); the API must answer 422 saying the 2,000 limit."""
    from fastapi.testclient import TestClient

    from api import create_app

    token = base.integration_accounts().create("bot", "chatbot", (), 1000)[1]
    with TestClient(create_app(base, warm_up=False)) as client:
        response = client.post(
            "/v1/ask",
            json={"question": HUGE[:3000]},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 422
        assert "at most 2000 characters" in response.json()["detail"]
        assert "question" in response.json()["detail"]
        ok = client.post(
            "/v1/ask",
            json={"question": "What is the overdraft fee?"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert ok.status_code == 200
