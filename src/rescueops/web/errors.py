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
from litestar.response import Redirect

from rescueops.errors import DomainError, TooManyRequests
from rescueops.observability import request_id_var
from rescueops.web.i18n import gettext as _
from rescueops.web.pages import page

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
    return error_response(request, status, code, message, headers=getattr(exc, "headers", None))


def _integrity_error(request: Request, exc: Exception) -> Response:
    # A unique key lost a race with a concurrent request: the service's own check saw no clash.
    log.warning("integrity error", extra={"error": str(exc)})
    return error_response(request, 409, "conflict", "The change clashes with a record saved at the same moment; reload and try again.")


def _internal_error(request: Request, exc: Exception) -> Response:
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
    Exception: _internal_error,
}
