"""Structured logs with request ids, and Sentry (only when a DSN is set) with personal data scrubbed."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from rescueops.settings import Settings

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

# LogRecord attributes, plus uvicorn's ANSI-coloured copy of the message.
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        entry.update({key: value for key, value in vars(record).items() if key not in _RESERVED})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{k}={v}" for k, v in vars(record).items() if k not in _RESERVED)
        request_id = request_id_var.get()
        line = f"{record.levelname:<7} {record.name}: {record.getMessage()}"
        if request_id:
            line += f" [{request_id}]"
        if extra:
            line += f" {extra}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else ConsoleFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    # Our request log replaces uvicorn's access log (it carries the request id and the user).
    logging.getLogger("uvicorn.access").disabled = True
    # APScheduler tells of every run at INFO (the inject job runs each minute); our jobs record their own runs.
    logging.getLogger("apscheduler").setLevel(max(root.level, logging.WARNING))


# Mainland ID numbers (18 characters) and mobile numbers, wherever they appear in text.
_ID_NUMBER = re.compile(r"\b\d{17}[\dXx]\b")
_MOBILE = re.compile(r"\b1[3-9]\d{9}\b")
_SENSITIVE_KEYS = {"password", "token", "access_token", "authorization", "cookie", "id_number", "phone", "secret"}


def scrub(value: Any) -> Any:
    """Remove personal data and secrets before anything leaves for Sentry."""
    if isinstance(value, str):
        return _MOBILE.sub("[phone]", _ID_NUMBER.sub("[id-number]", value))
    if isinstance(value, dict):
        return {
            key: "[scrubbed]" if str(key).lower() in _SENSITIVE_KEYS else scrub(item) for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [scrub(item) for item in value]
    return value


def _before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    request = event.get("request") or {}
    for key in ("cookies", "data", "env"):
        request.pop(key, None)
    headers = request.get("headers") or {}
    request["headers"] = {k: v for k, v in headers.items() if k.lower() not in _SENSITIVE_KEYS}
    if "user" in event:
        event["user"] = {"id": event["user"].get("id")}
    return scrub(event)


def init_sentry(settings: Settings) -> bool:
    if not settings.sentry_dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.litestar import LitestarIntegration

    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        environment=settings.env,
        integrations=[LitestarIntegration()],
        before_send=_before_send,
        traces_sample_rate=0.0,
    )
    return True
