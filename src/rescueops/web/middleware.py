"""Request ids and the request log: one structured line per request; the JSON body check before every route."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from litestar import Request
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.exceptions import SerializationException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from rescueops.errors import DomainError
from rescueops.observability import request_id_var

log = logging.getLogger("rescueops.request")
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestLogMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        incoming = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"x-request-id"), "")
        request_id = incoming if _INCOMING_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableScopeHeaders.from_message(message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await next_app(scope, receive, send_with_id)
        finally:
            user = scope.get("user")
            log.info(
                "%s %s %s",
                scope.get("method"),
                scope.get("path"),
                status,
                extra={
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "user": getattr(user, "username", None),
                },
            )
            request_id_var.reset(token)


# Deeper than any body of this API (a team with its specialties is 2 levels, a rubric edit 4).
MAX_JSON_DEPTH = 32


def _too_deep(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


async def check_json_body(request: Request) -> None:
    """Part of the ``before_request`` hook: decode a JSON body before the handler's parameters are parsed, so a body
    nested deeper than MAX_JSON_DEPTH is a 400 whatever reads it next (the decoder itself raises RecursionError at
    about 1,000 levels). The decoded value stays on the request, so the body is decoded once."""
    if not request.content_type[0].endswith("json"):
        return
    try:
        value = await request.json()
    except RecursionError:
        value = None
    except SerializationException:
        return  # malformed: the handler's own parsing answers 400 with the decoder's message
    else:
        if not isinstance(value, (dict, list)) or not _too_deep(value, MAX_JSON_DEPTH):
            return
    raise DomainError(f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep.", code="malformed_body")
