"""The HTTP API for the contact centre's systems (FastAPI). OpenAPI at /docs.

Routes parse, authorise (api.auth), call one service method and serialise; no retrieval or
answer logic lives here, so the API answers exactly as `kb ask` and the app do. Domain
errors become 4xx responses with their message; nothing returns a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.auth import Principal, requires
from api.models import (
    AskRequest,
    CallOpened,
    ErrorResponse,
    FeedbackRequest,
    HandoffRequest,
    HandoffResponse,
    OpenCallRequest,
    TurnsRequest,
    ValidationErrorResponse,
)
from api.ratelimit import RateLimiter
from kb.calls import (
    AssistSnapshot,
    CallAccessError,
    CallEndedError,
    CallNotFoundError,
    CallSummary,
    CallView,
    NewTurn,
    Speaker,
    Verdict,
)
from kb.errors import DocumentNotFoundError, KBError, KnowledgeBaseBusyError
from kb.render import answer_record, json_ready
from kb.tokens import InvalidTokenError
from kb.types import Query, Turn
from kb.users import UserNotFoundError

logger = logging.getLogger(__name__)

Asker = Annotated[Principal, Depends(requires("ask"))]
CallDriver = Annotated[Principal, Depends(requires("calls"))]
HandoffCaller = Annotated[Principal, Depends(requires("handoff"))]

SSE_POLL_SECONDS = 0.2
SSE_KEEPALIVE_SECONDS = 15.0

_STATUS_OF = (
    (InvalidTokenError, 401),
    (CallAccessError, 403),
    ((CallNotFoundError, DocumentNotFoundError, UserNotFoundError), 404),
    (CallEndedError, 409),
    (KnowledgeBaseBusyError, 503),
)
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in (
        (400, "the request cannot be carried out (the message says why)"),
        (401, "missing, unknown or revoked token"),
        (403, "the token's role, or the agent acted for, does not allow this"),
        (429, "rate limit reached: retry after Retry-After seconds"),
    )
}
_ERRORS[422] = {"model": ValidationErrorResponse, "description": "invalid request: what and where"}
_CALL_ERRORS = {
    **_ERRORS,
    404: {"model": ErrorResponse, "description": "no such call for this account"},
    409: {"model": ErrorResponse, "description": "the call has ended"},
}


def _status(error: KBError) -> int:
    return next((code for kind, code in _STATUS_OF if isinstance(error, kind)), 400)


def _turns(body: TurnsRequest | HandoffRequest) -> list[NewTurn]:
    return [NewTurn(Speaker(t.speaker), t.text, t.at) for t in body.turns]


def create_app(services: Any, close_services: bool = False, warm_up: bool = True) -> FastAPI:
    """The API over built services (kb.services.Services). With `close_services`, shutting
    the app down closes them too; with `warm_up`, the escalation rules and models load in the
    background at start-up instead of on the first call."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if warm_up:
            threading.Thread(
                target=services.call_sessions().warm_up, name="warm-up", daemon=True
            ).start()
        yield
        services.close_api_stores()
        if close_services:
            services.close()

    app = FastAPI(
        title="AnswerDesk API",
        version="1",
        description="Answers, live call assist and chatbot handoff for the contact centre's "
        "systems. Every request needs `Authorization: Bearer TOKEN` (`kb tokens create`); "
        "`X-Acting-For: AGENT` applies that agent's access groups too.",
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.rate_limiter = RateLimiter()

    @app.exception_handler(KBError)
    async def domain_error(request: Request, error: KBError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=_status(error))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": e.get("type"),
            }
            for e in error.errors()
        ]
        message = "; ".join(f"{'.'.join(p['loc'])}: {p['msg']}" for p in problems)
        return JSONResponse(
            {"detail": f"invalid request: {message}", "errors": problems}, status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"detail": str(error.detail)}, status_code=error.status_code, headers=error.headers
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        logger.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(
            {"detail": "internal error: the server log has the details"}, status_code=500
        )

    @app.middleware("http")
    async def audit_every_request(request: Request, call_next):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        response = await call_next(request)
        if request.url.path.startswith("/v1/"):
            actor = getattr(request.state, "actor", None) or "anonymous"
            await run_in_threadpool(
                services.audit.record,
                actor,
                "api_request",
                method=request.method,
                path=request.url.path,
                status=response.status_code,
                ms=round((time.perf_counter() - started) * 1000),
            )
        return response

    sessions = services.call_sessions

    # ------------------------------------------------------------------ answers

    @app.post("/v1/ask", tags=["answers"], responses=_ERRORS)
    def ask(body: AskRequest, who: Asker) -> dict[str, Any]:
        """The answer to a question, the same record `kb ask --json` prints: sentences,
        steps, passages with citations, confidence, notices."""
        query = Query(
            text=body.question,
            history=tuple(Turn(t.role, t.text) for t in body.history),
            groups=who.groups,
            category=body.category,
            as_of=body.as_of,
            include_inactive=body.include_inactive,
        )
        return answer_record(services.ask(query, user=who.actor))

    # ------------------------------------------------------------------ calls

    @app.post("/v1/calls", tags=["calls"], status_code=201, responses=_ERRORS)
    def open_call(who: CallDriver, body: OpenCallRequest | None = None) -> CallOpened:
        """Open a session for one call; its suggestions use the caller's access groups."""
        call = sessions().open(who.caller, body.reference if body else None)
        return CallOpened(
            call_id=call.call_id, acting_for=call.acting_for, opened_at=call.opened_at
        )

    @app.get("/v1/calls/{call_id}", tags=["calls"], responses=_CALL_ERRORS)
    def call_view(call_id: str, who: CallDriver) -> CallView:
        """The call: who opened it for whom, its turns (masked) and, once ended, its summary."""
        return sessions().view(call_id, who.caller)

    @app.post("/v1/calls/{call_id}/turns", tags=["calls"], responses=_CALL_ERRORS)
    def add_turns(call_id: str, body: TurnsRequest, who: CallDriver) -> AssistSnapshot:
        """Add one or more turns (masked before they are stored); returns the new snapshot."""
        return sessions().add_turns(call_id, who.caller, _turns(body))

    @app.get("/v1/calls/{call_id}/assist", tags=["calls"], responses=_CALL_ERRORS)
    def assist(call_id: str, who: CallDriver) -> AssistSnapshot:
        """Current suggestions (procedures or articles with steps, citations and the words
        of the call that matched) and escalation alerts (rule, triggering turn, action)."""
        return sessions().assist(call_id, who.caller)

    @app.post("/v1/calls/{call_id}/feedback", tags=["calls"], responses=_CALL_ERRORS)
    def feedback(call_id: str, body: FeedbackRequest, who: CallDriver) -> AssistSnapshot:
        """The agent used a suggestion (it stays pinned) or dismissed it (it goes)."""
        return sessions().feedback(call_id, who.caller, body.suggestion_id, Verdict(body.verdict))

    @app.post("/v1/calls/{call_id}/end", tags=["calls"], responses=_CALL_ERRORS)
    def end_call(call_id: str, who: CallDriver) -> CallSummary:
        """Close the call; the masked summary (topics, documents used, alerts) is kept."""
        return sessions().end(call_id, who.caller)

    @app.get(
        "/v1/calls/{call_id}/events",
        tags=["calls"],
        responses={
            **_CALL_ERRORS,
            200: {
                "description": "server-sent events: `assist` (a snapshot, as from /assist) "
                "whenever it changes, the first at once; `end` when the call ends",
                "content": {"text/event-stream": {}},
            },
        },
        response_class=StreamingResponse,
    )
    async def events(call_id: str, request: Request, who: CallDriver) -> StreamingResponse:
        """Live updates: a new assist snapshot whenever turns arrive."""
        first = await run_in_threadpool(sessions().assist, call_id, who.caller)

        def event(name: str, data: Any, ident: int | None = None) -> str:
            body = json.dumps(json_ready(data), ensure_ascii=False)
            return (
                f"id: {ident}\n" if ident is not None else ""
            ) + f"event: {name}\ndata: {body}\n\n"

        async def stream() -> AsyncIterator[str]:
            yield event("assist", first, first.version)
            last, quiet_since = first.version, time.monotonic()
            while not await request.is_disconnected():
                version = await run_in_threadpool(sessions().version, call_id)
                if version is None:
                    yield event("end", {"call_id": call_id})
                    return
                if version != last:
                    snapshot = await run_in_threadpool(sessions().assist, call_id, who.caller)
                    yield event("assist", snapshot, snapshot.version)
                    last, quiet_since = snapshot.version, time.monotonic()
                elif time.monotonic() - quiet_since > SSE_KEEPALIVE_SECONDS:
                    yield ": keep-alive\n\n"
                    quiet_since = time.monotonic()
                await asyncio.sleep(SSE_POLL_SECONDS)

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    # ------------------------------------------------------------------ handoff

    @app.post("/v1/handoff", tags=["chatbot"], responses=_ERRORS)
    def handoff(body: HandoffRequest, who: HandoffCaller) -> HandoffResponse:
        """Whether a human must take over a chatbot conversation, why, and from which turn."""
        decision = sessions().handoff(who.caller, _turns(body))
        return HandoffResponse.model_validate(json_ready(decision))

    return app
