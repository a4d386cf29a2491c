"""Log in and out, the language switch, and the home page with one card per role held."""

from __future__ import annotations

from dataclasses import dataclass, field

from litestar import Controller, Request, get, post
from litestar.params import FromQuery, URLEncodedBody
from litestar.response import Redirect, Response, Template

from rescueops.accounts import service
from rescueops.accounts.access import Grant, Principal
from rescueops.accounts.auth import SESSION_COOKIE, client_ip, signed_in
from rescueops.accounts.tables import Role
from rescueops.errors import TooManyRequests, Unauthenticated
from rescueops.members import service as members
from rescueops.orgs import service as orgs
from rescueops.settings import get_settings
from rescueops.teams import service as teams
from rescueops.web.i18n import LOCALES, pick
from rescueops.web.i18n import gettext as _
from rescueops.web.pages import LOCALE_COOKIE, page, safe_next


@dataclass
class LoginForm:
    username: str = ""
    password: str = ""
    next: str = "/"


@dataclass
class LocaleForm:
    locale: str
    next: str = "/"


def role_labels() -> dict[str, str]:
    return {
        Role.admin: _("System administrator"),
        Role.region_coordinator: _("Region coordinator"),
        Role.hub_coordinator: _("Regional hub coordinator"),
        Role.league_supervisor: _("League supervisor"),
        Role.county_officer: _("County officer"),
        Role.logistics: _("Logistics"),
        Role.training_officer: _("Training officer"),
        Role.examiner: _("Examiner"),
        Role.captain: _("Team captain"),
        Role.deputy_captain: _("Deputy captain"),
        Role.member: _("Team member"),
    }


def _role_purpose(role: Role) -> str:
    return {
        Role.admin: _("Manage accounts, service accounts and reference data for the whole system."),
        Role.region_coordinator: _("See the whole region, confirm top grades and coordinate joint drills with partner provinces."),
        Role.hub_coordinator: _("Coordinate cross-region assistance for the leagues your hub covers."),
        Role.league_supervisor: _("File and approve teams and leadership changes, and grade the teams of your league."),
        Role.county_officer: _("Look after the teams and first-aid training of your banner or county."),
        Role.logistics: _("Keep equipment, labels, maintenance and reserve depots in order."),
        Role.training_officer: _("Plan first-aid training sessions, enrol trainees, issue certificates and follow the yearly targets."),
        Role.examiner: _("Examine trainees of sessions you did not teach and enter their scores."),
        Role.captain: _("Keep your roster and log drills and deployments."),
        Role.deputy_captain: _("Help the captain keep the roster and logs."),
        Role.member: _("Your profile, certificates, service hours and member card."),
    }[role]


@dataclass
class RoleCard:
    role: str
    role_label: str
    scope_label: str
    scope_url: str | None
    purpose: str
    stats: list[tuple[str, str]] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)


async def _card(grant: Grant) -> RoleCard:
    labels = role_labels()
    links = [(_("Organisation tree"), "/orgs"), (_("Regional hubs"), "/hubs")]
    if grant.role is Role.admin:
        return RoleCard(grant.role.value, labels[grant.role], _("Whole system"), None, _role_purpose(grant.role),
                        links=[*links, (_("API and documentation"), "/schema")])
    if grant.team_code:
        team = await teams.get_team(None, grant.team_code)
        stats = [(_("Members on the roster"), str(team.active_members))]
        links = [(_("Team page"), f"/teams/{team.code}"), *links]
        return RoleCard(grant.role.value, labels[grant.role], team.name_zh, f"/teams/{team.code}", _role_purpose(grant.role), stats, links)
    if grant.hub_code:
        hub = await orgs.get_hub(grant.hub_code)
        stats = [(_("Areas covered"), str(len(hub.coverage)))]
        return RoleCard(grant.role.value, labels[grant.role], pick(hub.name_zh, hub.name_en), f"/hubs#hub-{hub.code}",
                        _role_purpose(grant.role), stats, links)
    unit = await orgs.get_unit(grant.unit_code)
    units = await orgs.subtree(unit.code)
    stats = [(_("Units in scope"), str(len(units)))]
    if unit.population_2020:
        stats.append((_("Resident population (2020 census)"), f"{unit.population_2020:,}"))
    return RoleCard(grant.role.value, labels[grant.role], pick(unit.name_zh, unit.name_en), f"/orgs/{unit.code}",
                    _role_purpose(grant.role), stats, links)


def _login_page(request: Request, *, status_code: int = 200, error: str | None = None, username: str = "", next: str = "/") -> Template:
    settings = get_settings()
    return page(
        request,
        "accounts/login.html",
        status_code=status_code,
        error=error,
        username=username,
        next=safe_next(next),
        max_failures=settings.login_max_failures,
        lockout_minutes=settings.login_lockout_minutes,
    )


class AccountPages(Controller):
    include_in_schema = False

    @get("/login")
    async def login_form(self, request: Request, next: FromQuery[str] = "/") -> Template | Redirect:
        if request.user is not None:
            return Redirect(safe_next(next))
        return _login_page(request, next=next)

    @post("/login")
    async def login(self, request: Request, data: URLEncodedBody[LoginForm]) -> Template | Redirect:
        try:
            user_id = await service.authenticate(data.username, data.password, client_ip(request.scope))
        except Unauthenticated:
            return _login_page(request, status_code=401, error=_("Wrong username or password."), username=data.username, next=data.next)
        except TooManyRequests as error:
            message = (
                _("This account is locked after repeated failed logins. Try again later or ask an administrator to unlock it.")
                if error.code == "account_locked"
                else _("Too many failed logins from this address. Wait a while and try again.")
            )
            return _login_page(request, status_code=429, error=message, username=data.username, next=data.next)
        secret = await service.start_session(user_id, client_ip(request.scope))
        response = Redirect(safe_next(data.next))
        response.set_cookie(
            SESSION_COOKIE,
            secret,
            max_age=get_settings().session_hours * 3600,
            httponly=True,
            samesite="lax",
            secure=get_settings().base_url.startswith("https://"),
        )
        return response

    @post("/logout", guards=[signed_in])
    async def logout(self, request: Request) -> Redirect:
        await service.revoke_token(request.user.token_id)
        response = Redirect("/login")
        response.delete_cookie(SESSION_COOKIE)
        return response

    @post("/locale")
    async def switch_locale(self, request: Request, data: URLEncodedBody[LocaleForm]) -> Response:
        locale = data.locale if data.locale in LOCALES else get_settings().default_locale
        if request.user is not None:
            await service.set_locale(request.user, locale)
        response = Redirect(safe_next(data.next))
        response.set_cookie(LOCALE_COOKIE, locale, max_age=365 * 24 * 3600, samesite="lax")
        return response

    @get("/", guards=[signed_in])
    async def home(self, request: Request) -> Template:
        principal: Principal = request.user
        cards = [await _card(grant) for grant in principal.grants]
        return page(request, "home.html", nav="home", cards=cards, own_person=await members.person_of_user(principal.user_id))
