"""Who is calling: a session cookie on pages, a bearer token on the API (never the other way round).

Keeping the two apart is what lets the API skip CSRF checks safely: a browser attaches cookies by
itself, but never an Authorization header.
"""

from __future__ import annotations

import dataclasses

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from rescueops.accounts import service
from rescueops.accounts.access import Principal, can_anywhere
from rescueops.accounts.tables import TokenKind
from rescueops.db.engine import database_unavailable
from rescueops.errors import PermissionDenied, Unauthenticated
from rescueops.observability import request_id_var
from rescueops.web.errors import answer_database_unavailable

SESSION_COOKIE = "rescueops_session"
API_PREFIX = "/api/"


def client_ip(scope: Scope) -> str | None:
    client = scope.get("client")
    return client[0] if client else None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def _cookie(scope: Scope, name: str) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    for part in raw.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


class AuthMiddleware(ASGIMiddleware):
    """Sets ``scope["user"]`` to the calling Principal, or None; the guards decide what that allows."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        try:
            principal = await self._principal(scope)
        except Exception as error:
            if not database_unavailable(error):
                raise
            await answer_database_unavailable(scope, receive, send, error)
            return
        if principal is not None:
            principal = dataclasses.replace(principal, ip=client_ip(scope), request_id=request_id_var.get())
        scope["user"] = principal
        await next_app(scope, receive, send)

    @staticmethod
    async def _principal(scope: Scope) -> Principal | None:
        path = scope.get("path", "")
        if path.startswith(API_PREFIX):
            authorization = _header(scope, b"authorization") or ""
            scheme, _, secret = authorization.partition(" ")
            if scheme.lower() == "bearer" and secret:
                principal = await service.principal_for_token(secret.strip(), TokenKind.api)
                if principal is None:
                    scope["auth"] = "invalid"  # a token was sent but is unknown, expired or revoked
                return principal
        elif not path.startswith("/static/"):
            secret = _cookie(scope, SESSION_COOKIE)
            if secret:
                return await service.principal_for_token(secret, TokenKind.session)
        return None


# The guards are coroutines although they never wait: Litestar runs a plain function guard in its thread pool, a
# thread hop (two, with requires) on every request.


def _require_user(connection: ASGIConnection) -> None:
    if connection.user is None:
        if connection.scope.get("auth") == "invalid":
            raise Unauthenticated(
                "The bearer token is unknown, expired or revoked; log in again or ask for a new token.",
                code="invalid_token",
            )
        raise Unauthenticated("Log in first: send 'Authorization: Bearer <token>' (POST /api/v1/auth/token).")


async def signed_in(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    _require_user(connection)


def requires(action: str):
    """Guard: the caller holds ``action`` somewhere; the service then checks the record's scope."""

    async def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
        _require_user(connection)
        if not can_anywhere(connection.user, action):
            raise PermissionDenied(f"Your roles do not allow '{action}'.")

    return guard
