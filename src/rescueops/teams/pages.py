"""Team pages: the list, a team's page (roster, leadership, filings, expiries, hours), the filings inbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from pydantic import ValidationError

from rescueops.accounts.access import can
from rescueops.accounts.auth import requires, signed_in
from rescueops.db.pagination import PageParams
from rescueops.equipment import service as equipment
from rescueops.errors import DomainError
from rescueops.members import service as members
from rescueops.members.tables import HoursStatus
from rescueops.orgs import service as orgs
from rescueops.orgs.tables import OrgKind
from rescueops.teams import service
from rescueops.teams.schemas import DecisionIn, FilingIn, StatusIn, TeamCreate
from rescueops.teams.tables import FilingStatus, TeamStatus
from rescueops.web.i18n import gettext as _
from rescueops.web.i18n import pick
from rescueops.web.pages import StatusForm, page, problem

PAGE_SIZE = 50


def status_labels() -> dict[str, str]:
    return {
        TeamStatus.forming: _("forming"),
        TeamStatus.active: _("active"),
        TeamStatus.suspended: _("suspended"),
        TeamStatus.exited: _("exited"),
        FilingStatus.pending: _("pending"),
        FilingStatus.approved: _("approved"),
        FilingStatus.rejected: _("rejected"),
        FilingStatus.withdrawn: _("withdrawn"),
    }


def member_labels() -> dict[str, str]:
    return {
        "captain": _("Captain"),
        "deputy_captain": _("Deputy captain"),
        "member": _("Member"),
        "probationary": _("Probationary member"),
        "applicant": _("applicant"),
        "probation": _("probation"),
        "active": _("active"),
        "inactive": _("inactive"),
        "exited": _("exited"),
    }


def labels() -> dict[str, Any]:
    return {"status_labels": status_labels(), "member_labels": member_labels(), "pick": pick}


@dataclass
class FilingForm:
    captain_id: int
    deputy_1: str = ""  # "" when the select is left empty
    deputy_2: str = ""
    deputy_3: str = ""
    reason: str = ""


@dataclass
class TeamForm:
    code: str = ""
    name_zh: str = ""
    name_en: str = ""
    unit_code: str = ""
    primary_category: str = ""
    specialties: list[str] | None = None
    registration_kind: str = "red_cross_filing"
    registration_number: str = ""
    filing_date: str = ""
    founded_on: str = ""
    base_address: str = ""
    contact_phone: str = ""
    hub_code: str = ""


@dataclass
class DecisionForm:
    decision: str
    reason: str = ""


async def team_page(request: Request, code: str, *, error: str | None = None, status_code: int = 200) -> Template:
    user = request.user
    team = await service.get_team(user, code)
    roster = await members.roster(user, code)
    filings, _total = await service.list_filings(user, PageParams(limit=20), team=code)
    pending_hours = await members.team_hours(user, code, status=HoursStatus.pending)
    active_people = [m for m in roster.members if m.status.value == "active"]
    kits = await equipment.team_kits(user, code)
    return page(
        request,
        "teams/detail.html",
        status_code=status_code,
        nav="teams",
        team=team,
        roster=roster,
        filings=filings,
        pending_hours=pending_hours,
        kits=kits,
        active_people=active_people,
        missing_first_aid=[m for m in roster.members if m.status.value in ("active", "probation") and not m.first_aid_valid],
        can_manage_roster=can(user, "roster.manage", team.path),
        can_file=can(user, "filings.file", team.path) and team.status is not TeamStatus.exited,
        can_decide=can(user, "filings.decide", team.path),
        can_manage_team=can(user, "teams.manage", team.path),
        can_approve_hours=can(user, "hours.approve", team.path),
        next_statuses=sorted(s.value for s in service.TRANSITIONS[team.status]),
        error=error,
        **labels(),
    )


async def inbox_page(request: Request, status: str, *, error: str | None = None, status_code: int = 200) -> Template:
    """The supervisor's inbox: filings waiting for a decision, and active teams outside the leadership rule."""
    wanted = FilingStatus(status) if status in FilingStatus.__members__ else None
    filings, total = await service.list_filings(request.user, PageParams(limit=100), status=wanted)
    outside, outside_total = await service.list_teams(request.user, PageParams(limit=100), outside_rule=True)
    paths = {f.team_code: (await service.team_row(f.team_code))["path"] for f in filings}
    return page(
        request, "teams/inbox.html", status_code=status_code, nav="filings", filings=filings, total=total, status=status,
        outside=outside, outside_total=outside_total, error=error,
        can_decide={f.id: can(request.user, "filings.decide", paths[f.team_code]) for f in filings},
        **labels(),
    )


class TeamPages(Controller):
    include_in_schema = False
    guards = [signed_in]

    @get("/teams")
    async def list_teams(
        self,
        request: Request,
        league: FromQuery[str | None] = None,
        category: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        q: FromQuery[str | None] = None,
        outside_rule: FromQuery[bool] = False,
        offset: FromQuery[int] = 0,
    ) -> Template:
        params = PageParams(limit=PAGE_SIZE, offset=max(offset, 0))
        teams, total = await service.list_teams(
            request.user, params, league=league or None, category=category or None,
            status=TeamStatus(status) if status in TeamStatus.__members__ else None, q=q or None, outside_rule=outside_rule,
        )
        leagues, _ = await orgs.list_units(PageParams(limit=50), kind=OrgKind.league)
        return page(
            request, "teams/list.html", nav="teams", teams=teams, total=total, offset=params.offset, limit=params.limit,
            leagues=leagues, categories=await service.list_categories(),
            filters={"league": league or "", "category": category or "", "status": status or "", "q": q or "", "outside_rule": outside_rule},
            **labels(),
        )

    async def _new_team_page(self, request: Request, form: TeamForm, error: str | None = None, status_code: int = 200) -> Template:
        units = [u for u in await orgs.all_units() if u.kind in (OrgKind.league, OrgKind.county) and can(request.user, "teams.manage", u.path)]
        return page(request, "teams/new.html", status_code=status_code, nav="teams", form=form, error=error, units=units,
                    categories=await service.list_categories(), hubs=await orgs.list_hubs(), **labels())

    @get("/teams/new", guards=[requires("teams.manage")])
    async def new_team(self, request: Request) -> Template:
        return await self._new_team_page(request, TeamForm())

    @post("/teams/new", guards=[requires("teams.manage")])
    async def create_team(self, request: Request, data: URLEncodedBody[TeamForm]) -> Template | Redirect:
        try:
            team = await service.create_team(request.user, TeamCreate(
                code=data.code, name_zh=data.name_zh, name_en=data.name_en, unit_code=data.unit_code,
                primary_category=data.primary_category, specialties=[c for c in data.specialties or [] if c],
                registration_kind=data.registration_kind, registration_number=data.registration_number,
                filing_date=data.filing_date or None, founded_on=data.founded_on or None, base_address=data.base_address,
                contact_phone=data.contact_phone, hub_code=data.hub_code or None,
            ))
        except (DomainError, ValidationError) as error:
            message, status = problem(error)
            return await self._new_team_page(request, data, message, status)
        return Redirect(f"/teams/{team.code}")

    @get("/teams/{code:str}")
    async def team(self, request: Request, code: FromPath[str]) -> Template:
        return await team_page(request, code)

    @post("/teams/{code:str}/filings")
    async def file(self, request: Request, code: FromPath[str], data: URLEncodedBody[FilingForm]) -> Template | Redirect:
        deputies = [int(d) for d in (data.deputy_1, data.deputy_2, data.deputy_3) if d.isdigit()]
        try:
            await service.file_leadership(request.user, code, FilingIn(captain_id=data.captain_id, deputy_ids=deputies, reason=data.reason))
        except (DomainError, ValidationError) as error:
            message, status = problem(error)
            return await team_page(request, code, error=message, status_code=status)
        return Redirect(f"/teams/{code}#filings")

    @post("/teams/{code:str}/status")
    async def change_status(self, request: Request, code: FromPath[str], data: URLEncodedBody[StatusForm]) -> Template | Redirect:
        try:
            await service.change_status(request.user, code, StatusIn(status=data.status, reason=data.reason))
        except (DomainError, ValidationError) as error:
            message, status = problem(error)
            return await team_page(request, code, error=message, status_code=status)
        return Redirect(f"/teams/{code}")

    @get("/filings")
    async def inbox(self, request: Request, status: FromQuery[str] = "pending") -> Template:
        return await inbox_page(request, status)

    @post("/filings/{filing_id:int}/decision")
    async def decide(self, request: Request, filing_id: FromPath[int], data: URLEncodedBody[DecisionForm]) -> Template | Redirect:
        try:
            await service.decide_filing(request.user, filing_id, DecisionIn(approve=data.decision == "approve", reason=data.reason))
        except (DomainError, ValidationError) as error:
            message, status = problem(error)
            return await inbox_page(request, "pending", error=message, status_code=status)
        return Redirect("/filings")
