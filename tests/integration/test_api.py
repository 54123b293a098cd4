"""The HTTP API as the contact centre's systems use it: a real uvicorn server on a free port,
over a small knowledge base built from the sample bank's documents with the real model."""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
import time

import httpx
import pytest

from kb.types import Query
from tests.conftest import REPO

pytestmark = pytest.mark.integration

SAMPLES = (
    "lost-stolen-card-procedure.docx",
    "foreign-currency-travel.docx",
    "fraud-scam-escalation.pdf",
    "fraud-investigations-playbook.docx",  # restricted to fraud-team
    "zh-lost-card-procedure.pdf",
)
RESTRICTED = "fraud-investigations-playbook"
RESTRICTED_QUESTION = "fraud playbook reimbursement approval limits"
CARD = "4539 1488 0343 6467"  # passes the Luhn check, as a real card number does


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def api(tmp_path_factory, embedder):
    """A running API: base URL, the services behind it, and tokens by name."""
    import uvicorn

    from api import create_app
    from kb.config import Settings
    from kb.services import Services
    from kb.store import KnowledgeBase

    root = tmp_path_factory.mktemp("api")
    folder = root / "in"
    folder.mkdir()
    for name in SAMPLES:
        (folder / name).write_bytes((REPO / "samples" / name).read_bytes())
    open_rows = "".join(f"{name},everyone\n" for name in SAMPLES if RESTRICTED not in name)
    (folder / "kb-manifest.csv").write_text(
        f"file,groups\n{RESTRICTED}.docx,fraud-team\n{open_rows}"
    )  # a file a manifest does not list is closed (KB_DEFAULT_GROUP)
    settings = Settings(data_dir=root / "kb")
    services = Services(settings, KnowledgeBase(settings, embedder))
    services.ingest_paths([folder])
    services.users.add("pat", "agent", ("fraud-team",))
    services.users.add("sam", "agent", ())
    services.users.add("gone", "agent", ("fraud-team",))
    services.users.set_disabled("gone")
    accounts = services.integration_accounts()
    tokens = {}
    for name, role, groups, rate in (
        ("stt", "assist", ("fraud-team",), 1000),
        ("stt-plain", "assist", (), 1000),
        ("bot", "chatbot", (), 1000),
        ("robot", "rpa", ("fraud-team",), 1000),
        ("slow", "rpa", (), 3),
        ("old", "assist", (), 1000),
    ):
        tokens[name] = accounts.create(name, role, groups, rate)[1]
    accounts.revoke("old")

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(services), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", services, tokens
    server.should_exit = True
    thread.join(timeout=30)
    services.close()


def client(api, token: str | None = "stt", **headers: str) -> httpx.Client:
    url, _, tokens = api
    if token is not None:
        headers["Authorization"] = f"Bearer {tokens.get(token, token)}"
    return httpx.Client(base_url=url, headers=headers, timeout=300)


def documents(record: dict) -> set[str]:
    return {p["citation"]["document_id"] for p in record.get("passages", [])} | {
        c["document_id"] for c in record.get("related", [])
    }


def suggested(snapshot: dict) -> set[str]:
    return {s["document_id"] for s in snapshot["suggestions"]}


# ---------------------------------------------------------------------- answers


def test_ask_returns_the_record_kb_ask_json_prints(api):
    from kb.render import answer_record

    _, services, _ = api
    with client(api) as http:
        response = http.post("/v1/ask", json={"question": "customer lost their debit card abroad"})
    assert response.status_code == 200, response.text
    record = response.json()
    expected = answer_record(
        services.ask(
            Query("customer lost their debit card abroad", groups=("everyone", "fraud-team"))
        )
    )
    assert record == json.loads(json.dumps(expected, ensure_ascii=False))
    assert record["status"] == "answered" and record["steps"]
    assert record["steps"][0]["citation"]["document_id"] == "lost-stolen-card-procedure"


def test_openapi_and_docs_are_served(api):
    with client(api, token=None) as http:
        schema = http.get("/openapi.json").json()
        assert http.get("/docs").status_code == 200
    assert all(path.startswith("/v1/") for path in schema["paths"])
    assert {"/v1/ask", "/v1/calls", "/v1/calls/{call_id}/events", "/v1/handoff"} <= set(
        schema["paths"]
    )


# ---------------------------------------------------------------------- calls


def test_a_call_from_open_to_end(api):
    _, services, _ = api
    with client(api) as http:
        opened = http.post("/v1/calls", json={"reference": "ivr-123"})
        assert opened.status_code == 201, opened.text
        call_id = opened.json()["call_id"]
        snapshot = http.post(
            f"/v1/calls/{call_id}/turns",
            json={
                "turns": [
                    {"speaker": "agent", "text": "Thank you for calling, how can I help?"},
                    {
                        "speaker": "customer",
                        "text": f"I'm in Spain and my debit card {CARD} was stolen this morning",
                    },
                ]
            },
        ).json()
        assert snapshot["turn_count"] == 2 and snapshot["status"] == "answered"
        assert "[card ****6467]" in snapshot["question"] and CARD not in snapshot["question"]
        top = snapshot["suggestions"][0]
        assert top["document_id"] in {"lost-stolen-card-procedure", "foreign-currency-travel"}
        procedure = next(
            s for s in snapshot["suggestions"] if s["document_id"] == "lost-stolen-card-procedure"
        )
        assert procedure["kind"] == "procedure" and procedure["steps"]
        assert procedure["citations"] and "stolen" in procedure["why"]
        assert procedure["why_turns"] == [1]

        follow = http.post(
            f"/v1/calls/{call_id}/turns",
            json={"turns": [{"speaker": "customer", "text": "Can I still get emergency cash?"}]},
        ).json()
        assert follow["version"] > snapshot["version"]
        assert "lost-stolen-card-procedure" in suggested(follow)  # steady: still on screen
        again = http.get(f"/v1/calls/{call_id}/assist").json()
        assert again == follow

        used = http.post(
            f"/v1/calls/{call_id}/feedback",
            json={"suggestion_id": "lost-stolen-card-procedure", "verdict": "used"},
        ).json()
        assert next(s for s in used["suggestions"] if s["id"] == "lost-stolen-card-procedure")[
            "pinned"
        ]
        other = next(s["id"] for s in used["suggestions"] if not s["pinned"])
        dismissed = http.post(
            f"/v1/calls/{call_id}/feedback", json={"suggestion_id": other, "verdict": "dismissed"}
        ).json()
        assert other not in {s["id"] for s in dismissed["suggestions"]}
        later = http.post(
            f"/v1/calls/{call_id}/turns",
            json={"turns": [{"speaker": "customer", "text": "My card was stolen abroad, help"}]},
        ).json()
        assert other not in suggested(later)

        summary = http.post(f"/v1/calls/{call_id}/end").json()
        assert summary["turns"] == 4 and summary["documents_used"] == ["lost-stolen-card-procedure"]
        assert other in summary["documents_dismissed"]
        assert "Lost or Stolen Card Reporting Procedure" in summary["topics"]
        assert CARD not in json.dumps(summary) and "[card ****6467]" in summary["opening"]

        view = http.get(f"/v1/calls/{call_id}").json()
        assert view["summary"] == summary and view["call"]["status"] == "ended"
        assert [t["speaker"] for t in view["turns"]] == [
            "agent",
            "customer",
            "customer",
            "customer",
        ]
        assert "[card ****6467]" in view["turns"][1]["text"] and CARD not in json.dumps(view)

        closed = http.post(
            f"/v1/calls/{call_id}/turns",
            json={"turns": [{"speaker": "customer", "text": "hello?"}]},
        )
        assert closed.status_code == 409 and "has ended" in closed.json()["detail"]

    # nothing stored holds the card number: turns, summary, audit trail
    with sqlite3.connect(services.settings.data_dir / "calls.sqlite") as db:
        stored = [r[0] for r in db.execute("SELECT text FROM turns WHERE call_id = ?", (call_id,))]
        summary_json = db.execute(
            "SELECT summary_json FROM calls WHERE call_id = ?", (call_id,)
        ).fetchone()[0]
    assert any("[card ****6467]" in text for text in stored)
    assert not any(CARD in text or "4539" in text for text in stored)
    assert "4539" not in summary_json
    events = services.audit.events(user="api:stt", limit=200)
    assert {"api_request", "call", "feedback"} <= {e.action for e in events}
    assert any(
        e.details.get("call") == call_id and e.details.get("event") == "turns" for e in events
    )
    assert not any("4539" in json.dumps(e.details) for e in events)
    assert services.audit.verify() is None


def test_escalation_alerts_name_the_rule_the_turn_and_the_action(api):
    with client(api) as http:
        call_id = http.post("/v1/calls").json()["call_id"]
        snapshot = http.post(
            f"/v1/calls/{call_id}/turns",
            json={
                "turns": [
                    {"speaker": "agent", "text": "Good afternoon, how can I help you today?"},
                    {
                        "speaker": "customer",
                        "text": "They told me to move my savings to a safe account today.",
                    },
                ]
            },
        ).json()
        http.post(f"/v1/calls/{call_id}/end")
    alerts = {a["rule_id"]: a for a in snapshot["alerts"]}
    assert "fraud_scam.in_progress" in alerts, snapshot["alerts"]
    alert = alerts["fraud_scam.in_progress"]
    assert alert["turn_index"] == 1 and alert["turn_speaker"] == "customer"
    assert alert["turn_text"] == "They told me to move my savings to a safe account today."
    assert "safe account" in alert["action"]
    assert alert["severity"] == "critical"


def listen_to_events(api, call_id: str, received: list[dict], until=lambda event: False):
    """Read the call's event stream in a thread into `received` ({"event": name, **data})
    until an "end" event or one `until` accepts; returns the thread once the first event
    has arrived (or 30 s have passed)."""

    def listen() -> None:
        with (
            client(api) as http,
            http.stream("GET", f"/v1/calls/{call_id}/events", timeout=120) as stream,
        ):
            assert stream.headers["content-type"].startswith("text/event-stream")
            event = None
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    received.append({"event": event, **json.loads(line[6:])})
                    if event == "end" or until(received[-1]):
                        return

    listener = threading.Thread(target=listen)
    listener.start()
    deadline = time.monotonic() + 30
    while not received and time.monotonic() < deadline:
        time.sleep(0.05)
    return listener


def test_events_stream_a_snapshot_when_turns_arrive(api):
    with client(api) as http:
        call_id = http.post("/v1/calls").json()["call_id"]
    received: list[dict] = []
    listener = listen_to_events(
        api, call_id, received, until=lambda e: e["event"] == "assist" and e["turn_count"]
    )
    assert received and received[0]["event"] == "assist" and received[0]["turn_count"] == 0
    with client(api) as http:
        http.post(
            f"/v1/calls/{call_id}/turns",
            json={"turns": [{"speaker": "customer", "text": "My card was stolen abroad"}]},
        )
        listener.join(timeout=120)
        http.post(f"/v1/calls/{call_id}/end")
    assert not listener.is_alive()
    assert received[-1]["event"] == "assist" and received[-1]["turn_count"] == 1
    assert received[-1]["suggestions"]


def test_events_also_carry_turns_and_the_end_from_the_app_s_own_process(api):
    """The agent types a turn on the Live call page (another process, same call store) and
    ends the call there: the API's event stream sees both."""
    import datetime as dt

    from kb.calls import CallStore, Speaker

    _, services, _ = api
    with client(api) as http:
        call_id = http.post("/v1/calls").json()["call_id"]
    received: list[dict] = []
    listener = listen_to_events(api, call_id, received)
    page = CallStore(services.settings.data_dir / "calls.sqlite")  # the page's own connection
    try:
        page.add_turns(call_id, [(Speaker.CUSTOMER, "My card was stolen abroad", None)])
        deadline = time.monotonic() + 120
        while not any(r.get("turn_count") == 1 for r in received):
            assert time.monotonic() < deadline, received
            time.sleep(0.1)
        page.end(call_id, {"call_id": call_id}, dt.datetime.now(dt.UTC))
        listener.join(timeout=60)
    finally:
        page.close()
    assert not listener.is_alive()
    typed = next(r for r in received if r.get("turn_count") == 1)
    assert typed["event"] == "assist" and typed["suggestions"]
    assert received[-1]["event"] == "end"


# ---------------------------------------------------------------------- chatbot handoff


def test_handoff_says_whether_from_which_turn_and_why(api):
    with client(api, "bot") as http:
        needed = http.post(
            "/v1/handoff",
            json={
                "turns": [
                    {"speaker": "customer", "text": "How do I order a new card?"},
                    {"speaker": "bot", "text": "You can order one in the app."},
                    {"speaker": "customer", "text": "I want to speak to a human please"},
                ]
            },
        )
        fine = http.post(
            "/v1/handoff",
            json={"turns": [{"speaker": "customer", "text": "What time do branches open?"}]},
        )
    assert needed.status_code == 200, needed.text
    decision = needed.json()
    assert decision["must_hand_over"] is True and decision["from_turn"] == 2
    assert any(r["rule_id"] == "human_request" for r in decision["reasons"])
    assert fine.json() == {"must_hand_over": False, "reasons": [], "from_turn": None}


# ---------------------------------------------------------------------- who may do what


def test_tokens_are_required_valid_and_not_revoked(api):
    body = {"question": "lost card"}
    with client(api, token=None) as http:
        missing = http.post("/v1/ask", json=body)
    assert missing.status_code == 401 and "token is required" in missing.json()["detail"]
    assert missing.headers["www-authenticate"] == "Bearer"
    for token in ("nonsense", "kbt_000000000000_abc", "old"):
        with client(api, token) as http:
            refused = http.post("/v1/ask", json=body)
        assert refused.status_code == 401, token
        assert refused.json() == {"detail": "the API token is not valid"}
    tokens = api[2]
    forged = tokens["stt"][:-4] + "AAAA"
    with client(api, forged) as http:
        assert http.post("/v1/ask", json=body).status_code == 401


def test_guessing_tokens_is_rate_limited_too(api):
    with client(api, "kbt_guessed00_x") as http:
        statuses = [http.post("/v1/ask", json={"question": "x"}).status_code for _ in range(31)]
        last = http.post("/v1/ask", json={"question": "x"})
    assert statuses[:30] == [401] * 30 and statuses[30] == 429
    assert last.status_code == 429 and "too many invalid tokens" in last.json()["detail"]
    with client(api, "stt") as http:  # the real account is not held up by it
        assert http.post("/v1/ask", json={"question": "lost card"}).status_code == 200


def test_roles_decide_what_an_account_may_call(api):
    with client(api, "robot") as http:
        refused = http.post("/v1/calls")
        assert refused.status_code == 403
        assert refused.json()["detail"] == "role 'rpa' may not use calls; it may use: ask"
        assert (
            http.post(
                "/v1/handoff", json={"turns": [{"speaker": "customer", "text": "hi"}]}
            ).status_code
            == 403
        )
    with client(api, "bot") as http:
        assert http.post("/v1/calls").status_code == 403


def test_restricted_documents_stay_within_the_accounts_and_agents_groups(api):
    def shown(token: str, **headers: str) -> set[str]:
        with client(api, token, **headers) as http:
            response = http.post("/v1/ask", json={"question": RESTRICTED_QUESTION})
        assert response.status_code == 200, response.text
        return documents(response.json())

    assert RESTRICTED in shown("robot")  # the account is in fraud-team
    assert RESTRICTED in shown("robot", **{"X-Acting-For": "pat"})  # so is pat
    assert RESTRICTED not in shown("robot", **{"X-Acting-For": "sam"})  # sam is not
    assert RESTRICTED not in shown("stt-plain")  # nor this account
    assert RESTRICTED not in shown("stt-plain", **{"X-Acting-For": "pat"})  # pat cannot widen it
    with client(api, "robot", **{"X-Acting-For": "nobody"}) as http:
        unknown = http.post("/v1/ask", json={"question": "lost card"})
    assert unknown.status_code == 403 and "no such agent" in unknown.json()["detail"]
    with client(api, "robot", **{"X-Acting-For": "gone"}) as http:
        assert http.post("/v1/ask", json={"question": "lost card"}).status_code == 403

    with client(api, "stt", **{"X-Acting-For": "sam"}) as http:
        call_id = http.post("/v1/calls").json()["call_id"]
        snapshot = http.post(
            f"/v1/calls/{call_id}/turns",
            json={"turns": [{"speaker": "customer", "text": RESTRICTED_QUESTION}]},
        ).json()
        assert RESTRICTED not in suggested(snapshot)
    with client(api, "stt") as http:  # the call was opened for sam
        other = http.get(f"/v1/calls/{call_id}/assist")
        assert other.status_code == 403 and "opened for agent sam" in other.json()["detail"]
    with client(api, "stt-plain", **{"X-Acting-For": "sam"}) as http:  # another account
        assert http.get(f"/v1/calls/{call_id}/assist").status_code == 404


def test_rate_limit_answers_429_with_retry_after(api):
    with client(api, "slow") as http:
        statuses = [
            http.post("/v1/ask", json={"question": ""}).status_code for _ in range(4)
        ]  # invalid questions still count
        limited = http.post("/v1/ask", json={"question": "lost card"})
    assert statuses[:3] == [422, 422, 422] and statuses[3] == 429
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert "rate limit of 3 requests per minute" in limited.json()["detail"]


# ---------------------------------------------------------------------- bad input


def test_bad_input_gets_a_4xx_that_says_what_is_wrong(api):
    with client(api) as http:
        empty = http.post("/v1/ask", json={"question": "   "})
        assert empty.status_code == 422 and "question" in empty.json()["detail"]
        assert "must not be blank" in empty.json()["detail"]
        missing = http.post("/v1/ask", json={})
        assert (
            missing.status_code == 422
            and "body.question: Field required" in missing.json()["detail"]
        )
        not_json = http.post(
            "/v1/ask", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert not_json.status_code == 422
        extra = http.post("/v1/ask", json={"question": "x", "groups": ["fraud-team"]})
        assert extra.status_code == 422 and "groups" in extra.json()["detail"]
        unknown = http.get("/v1/calls/call_nope/assist")
        assert unknown.status_code == 404 and unknown.json() == {
            "detail": "no call with id 'call_nope'"
        }
        call_id = http.post("/v1/calls").json()["call_id"]
        speaker = http.post(
            f"/v1/calls/{call_id}/turns", json={"turns": [{"speaker": "robot", "text": "hi"}]}
        )
        assert speaker.status_code == 422 and "speaker" in speaker.json()["detail"]
        assert http.post(f"/v1/calls/{call_id}/turns", json={"turns": []}).status_code == 422
        feedback = http.post(
            f"/v1/calls/{call_id}/feedback", json={"suggestion_id": "nope", "verdict": "used"}
        )
        assert feedback.status_code == 400
        assert "no suggestion 'nope'" in feedback.json()["detail"]
        verdict = http.post(
            f"/v1/calls/{call_id}/feedback", json={"suggestion_id": "x", "verdict": "maybe"}
        )
        assert verdict.status_code == 422
        http.post(f"/v1/calls/{call_id}/end")
        twice = http.post(f"/v1/calls/{call_id}/end")
        assert twice.status_code == 409 and "already ended" in twice.json()["detail"]
        assert "Traceback" not in twice.text


def test_kb_call_simulate_replays_a_recorded_call(api):
    from api.simulate import simulate

    url, _, tokens = api
    lines: list[str] = []
    summary = simulate(
        REPO / "eval" / "data" / "calls" / "lost-card-abroad.jsonl",
        url,
        tokens["stt"],
        speed=1000,
        out=lines.append,
    )
    assert lines[0].startswith("call call_") and "card stolen on holiday" in lines[0]
    assert any("Lost or Stolen Card Reporting Procedure" in line for line in lines)
    assert "4539" not in json.dumps(summary) and summary["turns"] == 9


def test_kb_tokens_create_list_revoke(tmp_path):
    from tests.integration.test_cli import kb

    data_dir = tmp_path / "kb"
    created = kb(data_dir, "tokens", "create", "stt", "--role", "assist", "--groups", "fraud-team")
    assert (
        "created stt (assist), groups: everyone, fraud-team, 120 requests/minute" in created.stdout
    )
    token = created.stdout.split("store it now): ")[1].strip()
    assert token.startswith("kbt_")
    listing = kb(data_dir, "tokens", "list").stdout
    assert "stt" in listing and token not in listing and "revoked" not in listing
    assert token not in (data_dir / "tokens.sqlite").read_bytes().decode("latin-1")
    kb(data_dir, "tokens", "revoke", "stt")
    assert "(revoked " in kb(data_dir, "tokens", "list").stdout
    bad = kb(data_dir, "tokens", "create", "x", "--role", "boss", check=False)
    assert bad.returncode == 1 and "role must be one of assist, chatbot, rpa" in bad.stderr
