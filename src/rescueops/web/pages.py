"""Helpers every domain's pages use: rendering with the shared context, locale choice, safe redirects."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.response import Redirect, Template

from rescueops.settings import get_settings
from rescueops.web.i18n import LOCALE_NAMES, LOCALES, current_locale

LOCALE_COOKIE = "rescueops_locale"


@dataclass
class StatusForm:
    """The lifecycle forms of teams and members: the new status and why."""

    status: str = ""
    reason: str = ""


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


def _summaries() -> dict[str, str]:
    """What an error code means, in the page's language; the service's own message adds the specifics."""
    from rescueops.web.i18n import gettext as _

    return {
        "duplicate_code": _("That code is already in use."),
        "filing_pending": _("A leadership filing for this team is already waiting for a decision."),
        "not_active_member": _("The proposed leaders must be active members of this team."),
        "invalid_transition": _("That status change is not allowed."),
        "leadership_incomplete": _("File the leadership (1 captain, 2–3 deputy captains) and have it approved first."),
        "no_change": _("The proposed leadership is the one already in place."),
        "own_filing": _("You filed this change yourself; another officer must decide it."),
        "already_decided": _("This was already decided."),
        "already_member": _("This person is already on a team roster; they must leave it first."),
        "team_exited": _("The team has exited."),
        "no_membership": _("This person is not on a team roster."),
        "own_entry": _("Hours you entered yourself are approved by someone else."),
        "import_has_errors": _("The file has problems: nothing was imported."),
        "bad_roster_file": _("The file cannot be read."),
        "bad_file_type": _("A scan is a PDF, JPEG or PNG file."),
        "bad_file_size": _("The file is empty or too large."),
        "already_imported": _("This file was imported already."),
        "account_taken": _("That login already belongs to another member."),
        "card_invalid": _("This member card is not valid: it was revoked or not issued by this system."),
        "not_invited": _("This person is not an active member of a team invited to this drill."),
        "already_checked_in": _("This member is already checked in."),
        "drill_not_open": _("Attendance is not open for this drill."),
        "not_checked_in": _("This member is not checked in, or has already checked out."),
        "not_evaluated": _("The drill has not been evaluated yet."),
        "mobilisation_missing": _("Record the call and assembly times first."),
        "forbidden": _("Your roles do not allow this here."),
        "not_found": _("No such page or record."),
        "invalid_input": _("Some fields are invalid."),
    }


def problem(error: Exception) -> tuple[str, int]:
    """A form error as (message, status) for re-rendering a page.

    Services speak English; a Chinese page leads with the meaning of the error code in Chinese and
    keeps the service's words (which name the field or the people concerned) after it.
    """
    from pydantic import ValidationError

    from rescueops.errors import DomainError

    if isinstance(error, DomainError):
        code, detail, status = error.code, error.message, error.status_code
    elif isinstance(error, ValidationError):
        parts = []
        for item in error.errors():
            field = ".".join(str(part) for part in item["loc"])
            text = item["msg"].removeprefix("Value error, ")
            parts.append(f"{field}: {text}" if field else text)
        code, detail, status = "invalid_input", "; ".join(parts), 422
    else:
        raise error
    summary = _summaries().get(code)
    if summary is None or current_locale.get() == "en":
        return detail, status
    return f"{summary}（{detail}）", status


async def submit(action: Callable[[], Awaitable[Any]], *, done: str | Callable[[Any], str],
                 again: Callable[[str, int], Awaitable[Template]]) -> Template | Redirect:
    """Run a form's action: on success go to ``done`` (or the URL it makes of the result); on a domain or validation
    error show the page ``again`` with the message."""
    from pydantic import ValidationError

    from rescueops.errors import DomainError

    try:
        result = await action()
    except (DomainError, ValidationError) as error:
        message, status = problem(error)
        return await again(message, status)
    return Redirect(done(result) if callable(done) else done)
