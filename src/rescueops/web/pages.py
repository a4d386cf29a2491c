"""Helpers every domain's pages use: rendering with the shared context, locale choice, safe redirects."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Template

from rescueops.settings import get_settings
from rescueops.web.i18n import LOCALE_NAMES, LOCALES, current_locale

LOCALE_COOKIE = "rescueops_locale"


def choose_locale(request: Request) -> str:
    """The signed-in user's preference, else the language cookie, else the configured default."""
    user = request.scope.get("user")
    preferred = getattr(user, "locale", None) or request.cookies.get(LOCALE_COOKIE)
    return preferred if preferred in LOCALES else get_settings().default_locale


async def set_request_locale(request: Request) -> None:
    """Litestar ``before_request`` hook: templates and messages follow the caller's language."""
    current_locale.set(choose_locale(request))


def page(
    request: Request, template: str, *, status_code: int = 200, headers: dict[str, str] | None = None, **context: Any
) -> Template:
    """A page with what the layout needs: the signed-in user, the language and the language names."""
    shared = {"user": request.scope.get("user"), "locale": current_locale.get(), "locale_names": LOCALE_NAMES}
    return Template(template_name=template, status_code=status_code, headers=headers, context={**shared, **context})


def safe_next(target: str | None) -> str:
    """Only same-site paths: a login form must not become an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def problem(error: Exception) -> tuple[str, int]:
    """A form error as (message, status) for re-rendering the page: domain errors and pydantic's alike."""
    from pydantic import ValidationError

    from rescueops.errors import DomainError

    if isinstance(error, DomainError):
        return error.message, error.status_code
    if isinstance(error, ValidationError):
        parts = []
        for item in error.errors():
            field = ".".join(str(part) for part in item["loc"])
            parts.append(f"{field}: {item['msg'].removeprefix('Value error, ')}" if field else item["msg"].removeprefix("Value error, "))
        return "; ".join(parts), 422
    raise error
