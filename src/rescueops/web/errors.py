"""Every error becomes a JSON body ``{"code", "message", "details"}`` on the API and a page on the web.

No stack trace leaves the server: unexpected errors are logged (and sent to Sentry when set up)
and the caller gets the request id to quote.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any
from urllib.parse import quote

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.openapi import ResponseSpec
from litestar.plugins import ReceiveRoutePlugin
from litestar.response import Redirect
from litestar.routes import BaseRoute, HTTPRoute
from litestar.types import Receive, Scope, Send
from pydantic import BaseModel, Field

from rescueops.db.engine import database_unavailable
from rescueops.errors import DomainError, TooManyRequests
from rescueops.observability import request_id_var
from rescueops.uploads import megabytes
from rescueops.web.i18n import gettext as _
from rescueops.web.pages import page, set_request_locale

log = logging.getLogger("rescueops.errors")

_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
    503: "service_unavailable",
}


class ErrorOut(BaseModel):
    """The body of every API error."""

    code: str = Field(description="Stable machine code, e.g. invalid_input, forbidden, deployment_closed")
    message: str = Field(description="What went wrong, for a person to act on")
    details: list[dict[str, Any]] = Field(default_factory=list, description="Per-field problems (omitted when none)")


def error_spec(description: str) -> ResponseSpec:
    return ResponseSpec(data_container=ErrorOut, description=description, generate_examples=False)


# What any API operation may answer besides its success, so the OpenAPI schema names every status it can return.
API_ERRORS = {
    400: error_spec("The request could not be read (malformed JSON, form data or parameter)"),
    401: error_spec("Not signed in: no bearer token, or an expired or revoked one"),
    403: error_spec("The caller's roles and scopes do not allow this"),
    404: error_spec("No such record, or none within the caller's scope where existence must not leak"),
    409: error_spec("The change clashes with the record's current state or with a concurrent change"),
    413: error_spec("The request body is larger than allowed"),
    422: error_spec("Some fields are invalid; details name them"),
    503: error_spec("The database is unavailable for a moment (restarting, unreachable): retry after Retry-After seconds"),
}


class DocumentedErrors(ReceiveRoutePlugin):
    """Adds :data:`API_ERRORS` to every API operation; a handler's own ``responses`` (e.g. 429 on login) come on top."""

    def receive_route(self, route: BaseRoute) -> None:
        if isinstance(route, HTTPRoute) and route.path.startswith("/api/"):
            for handler in route.route_handlers:
                handler.responses = {**API_ERRORS, **(handler.responses or {})}


def wants_html(request: Request) -> bool:
    path = request.url.path
    return not (path.startswith("/api/") or path.startswith("/health") or path.startswith("/schema"))


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    if wants_html(request):
        if status == 401:
            return Redirect(f"/login?next={quote(request.url.path)}")
        return page(
            request,
            "error.html",
            status_code=status,
            headers=headers,
            status=status,
            code=code,
            message=message,
            request_id=request_id_var.get(),
        )
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return Response(body, status_code=status, headers=headers)


def _domain_error(request: Request, exc: DomainError) -> Response:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
    return error_response(request, exc.status_code, exc.code, exc.message, exc.details, headers)


def _validation_error(request: Request, exc: ValidationException) -> Response:
    details = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            details.append({"field": item.get("key") or item.get("source") or "", "message": item.get("message", "")})
    if not details:
        # Litestar reports an unparsable body as a validation error without fields.
        return error_response(request, 400, "malformed_body", f"The request body could not be read: {exc.detail}")
    summary = "; ".join(f"{d['field']}: {d['message']}" for d in details)
    return error_response(request, 422, "invalid_input", f"Some fields are invalid: {summary}", details)


def _body_unreadable(exc: BaseException) -> bool:
    cause = exc.__cause__ or exc.__context__
    while cause is not None:
        if isinstance(cause, (SerializationException, msgspec.DecodeError)):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _http_error(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    message = exc.detail
    code = _CODES.get(status, "error")
    if status == 403 and "csrf" in message.lower():
        code, message = "csrf_failed", _("The form has expired or did not come from this site. Reload the page and try again.")
    elif status == 404:
        message = _("No such page or record.") if wants_html(request) else f"No route for {request.method} {request.url.path}."
    elif status == 400 and _body_unreadable(exc):
        code, message = "malformed_body", f"The request body is not valid JSON or form data: {message}"
    elif status == 413:  # only a route's limit raises it (rescueops.uploads); the API speaks English
        message = (_("The request is larger than the %(limit)s this address accepts; nothing was saved.") if wants_html(request)
                   else "The request is larger than the %(limit)s this address accepts; nothing was saved.") % {
            "limit": megabytes(request.route_handler.resolve_request_max_body_size() or 0)}
    return error_response(request, status, code, message, headers=getattr(exc, "headers", None))


# Values the schemas let through but the database or its driver refuses; the caller's input, not a fault here.
_REFUSED_VALUES: dict[type[Exception], str] = {
    asyncpg.exceptions.CharacterNotInRepertoireError: "Text may not contain the NUL character (\\u0000).",
    asyncpg.exceptions.UntranslatableCharacterError: "Text may not contain the NUL character (\\u0000).",
    asyncpg.exceptions.StringDataRightTruncationError: "A text is longer than the field can hold.",
    # The rest of SQL's class 22 (data exceptions), and an argument asyncpg refuses before sending (an id past int32).
    asyncpg.exceptions.DataError: "A number or date is out of the range that can be stored.",
    OverflowError: "A number or date is out of the range that can be stored.",  # sqlite3 binding, date arithmetic
}


def _value_refused(request: Request, exc: Exception) -> Response:
    # The statement failed as a whole, inside its transaction: nothing of the request was written.
    log.warning("value refused", extra={"path": request.url.path, "error": f"{type(exc).__name__}: {exc}"})
    message = next(text for kind, text in _REFUSED_VALUES.items() if isinstance(exc, kind))
    return error_response(request, 422, "invalid_value", message)


def _integrity_error(request: Request, exc: Exception) -> Response:
    # A unique key lost a race with a concurrent request: the service's own check saw no clash.
    log.warning("integrity error", extra={"error": str(exc)})
    return error_response(request, 409, "conflict", "The change clashes with a record saved at the same moment; reload and try again.")


# What a client is told to wait (Retry-After, seconds) while the database is away: about one restart.
DATABASE_RETRY_AFTER = 5


def _database_unavailable(request: Request, exc: Exception) -> Response:
    # Not a bug, so no traceback: the database is restarting or unreachable, or SQLite stayed locked past its busy
    # timeout. The request's transaction is one unit, so nothing of it was half written; the client may simply retry.
    log.warning("database unavailable", extra={"path": request.url.path, "error": f"{type(exc).__name__}: {exc}"})
    message = (_("The database is unavailable at the moment. Try again in a few seconds.") if wants_html(request)
               else "The database is unavailable at the moment. Try again in a few seconds.")  # the API speaks English
    return error_response(request, 503, "service_unavailable", message, headers={"Retry-After": str(DATABASE_RETRY_AFTER)})


async def answer_database_unavailable(scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
    """The 503, sent by a middleware that needs the database before any route runs (who is calling); raising
    instead would reach only the app's outermost handler, past the request log and its request id."""
    request: Request = Request(scope, receive, send)
    await set_request_locale(request)  # the before_request hook has not run yet
    await _database_unavailable(request, exc).to_asgi_response(app=None, request=request)(scope, receive, send)


def _internal_error(request: Request, exc: Exception) -> Response:
    if database_unavailable(exc):
        return _database_unavailable(request, exc)
    log.exception("unhandled error", extra={"path": request.url.path})
    try:
        import sentry_sdk

        sentry_sdk.capture_exception(exc)
    except ImportError:  # pragma: no cover - sentry-sdk is a dependency
        pass
    return error_response(
        request,
        500,
        "internal_error",
        f"Something went wrong on our side. Quote request id {request_id_var.get()} to the administrators.",
    )


EXCEPTION_HANDLERS = {
    DomainError: _domain_error,
    ValidationException: _validation_error,
    HTTPException: _http_error,
    sqlite3.IntegrityError: _integrity_error,
    asyncpg.exceptions.IntegrityConstraintViolationError: _integrity_error,
    **dict.fromkeys(_REFUSED_VALUES, _value_refused),
    Exception: _internal_error,
}
