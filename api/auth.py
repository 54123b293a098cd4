"""Who is calling: the integration account behind the bearer token, the agent it may act for,
the groups that apply, and whether its role and rate limit let this request through."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.ratelimit import RateLimiter
from kb.calls import Caller
from kb.tokens import ROLE_PERMISSIONS, IntegrationAccount, InvalidTokenError, acting_groups
from kb.users import UserNotFoundError

FAILED_PER_MINUTE = 30
bearer = HTTPBearer(auto_error=False, description="an integration token from `kb tokens create`")


@dataclass(frozen=True)
class Principal:
    account: IntegrationAccount
    acting_for: str | None
    groups: tuple[str, ...]

    @property
    def actor(self) -> str:
        """The audit trail's name for this caller: `api:ACCOUNT`, `/AGENT` when acting for one."""
        name = f"api:{self.account.name}"
        return f"{name}/{self.acting_for}" if self.acting_for else name

    @property
    def caller(self) -> Caller:
        return Caller(f"api:{self.account.name}", self.acting_for, self.groups)


def _unauthorised(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def _too_many(message: str, wait: float) -> HTTPException:
    return HTTPException(429, message, headers={"Retry-After": str(max(1, math.ceil(wait)))})


def requires(permission: str) -> Callable[..., Principal]:
    """A dependency: the authenticated, rate-limited principal whose role allows `permission`."""

    def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        x_acting_for: Annotated[
            str | None,
            Header(
                description="act for this agent: their access groups apply (with the account's)",
                max_length=200,
            ),
        ] = None,
    ) -> Principal:
        services = request.app.state.services
        limiter: RateLimiter = request.app.state.rate_limiter
        if credentials is None or not credentials.credentials:
            raise _unauthorised("an API token is required: Authorization: Bearer TOKEN")
        # Wrong tokens are limited per account id too, so guessing costs argon2 work only
        # FAILED_PER_MINUTE times a minute.
        parts = credentials.credentials.split("_", 2)
        failures = f"failed:{parts[1] if len(parts) == 3 else '?'}"
        wait = limiter.wait(failures)
        if wait > 0:
            raise _too_many(f"too many invalid tokens; retry in {wait:.1f}s", wait)
        try:
            account = services.integration_accounts().authenticate(credentials.credentials)
        except InvalidTokenError as e:
            limiter.take(failures, FAILED_PER_MINUTE)
            raise _unauthorised(str(e)) from None
        request.state.actor = f"api:{account.name}"
        wait = limiter.take(account.account_id, account.rate_per_minute)
        if wait > 0:
            raise _too_many(
                f"rate limit of {account.rate_per_minute} requests per minute reached; "
                f"retry in {wait:.1f}s",
                wait,
            )
        if not account.may(permission):
            allowed = ", ".join(sorted(ROLE_PERMISSIONS.get(account.role, ()))) or "nothing"
            raise HTTPException(
                403, f"role '{account.role}' may not use {permission}; it may use: {allowed}"
            )
        groups = account.access_groups
        agent = x_acting_for.strip() if x_acting_for else None
        if agent:
            try:
                user = services.users.get(agent)
            except UserNotFoundError:
                raise HTTPException(403, f"cannot act for '{agent}': no such agent") from None
            if user.disabled:
                raise HTTPException(403, f"cannot act for '{agent}': the account is disabled")
            groups = acting_groups(account.access_groups, user.access_groups)
        principal = Principal(account, agent, groups)
        request.state.actor = principal.actor
        return principal

    return dependency
