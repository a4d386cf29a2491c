from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from rescueops.accounts.auth import requires, signed_in
from rescueops.db.pagination import Page, PageParams
from rescueops.teams import service
from rescueops.teams.schemas import (
    CategoryOut,
    DecisionIn,
    FilingIn,
    FilingOut,
    StatusChangeOut,
    StatusIn,
    TeamCreate,
    TeamOut,
    TeamUpdate,
)
from rescueops.teams.tables import FilingStatus, TeamStatus


class TeamController(Controller):
    path = "/api/v1/teams"
    tags = ["teams"]
    guards = [signed_in]

    @get("/categories", summary="Team categories (data)")
    async def categories(self) -> list[CategoryOut]:
        return await service.list_categories()

    @get("/", summary="Teams within the caller's scopes")
    async def list_teams(
        self,
        request: Request,
        page: NamedDependency[PageParams],
        league: Annotated[str | None, QueryParameter(description="Org unit code: teams under this league or city")] = None,
        unit: Annotated[str | None, QueryParameter(description="Org unit code: teams under this unit")] = None,
        category: Annotated[str | None, QueryParameter(description="Category code, primary or specialty")] = None,
        level: Annotated[int | None, QueryParameter(ge=1, le=3, description="Graded at this level in some category")] = None,
        status: FromQuery[TeamStatus | None] = None,
        q: FromQuery[str | None] = None,
        outside_rule: Annotated[bool, QueryParameter(description="Only active teams outside the leadership rule")] = False,
    ) -> Page[TeamOut]:
        items, total = await service.list_teams(
            request.user, page, league=league, unit=unit, category=category, level=level, status=status, q=q,
            outside_rule=outside_rule,
        )
        return Page.of(items, total, page)

    @post("/", summary="Register a team", guards=[requires("teams.manage")])
    async def create(self, request: Request, data: JSONBody[TeamCreate]) -> TeamOut:
        return await service.create_team(request.user, data)

    @get("/{code:str}", summary="One team with its leadership and grades")
    async def get_team(self, request: Request, code: FromPath[str]) -> TeamOut:
        return await service.get_team(request.user, code)

    @put("/{code:str}", summary="Update a team's registration and details", guards=[requires("teams.manage")])
    async def update(self, request: Request, code: FromPath[str], data: JSONBody[TeamUpdate]) -> TeamOut:
        return await service.update_team(request.user, code, data)

    @post("/{code:str}/status", summary="Move a team through its lifecycle", guards=[requires("teams.manage")], status_code=200)
    async def change_status(self, request: Request, code: FromPath[str], data: JSONBody[StatusIn]) -> TeamOut:
        return await service.change_status(request.user, code, data)

    @get("/{code:str}/status-history", summary="A team's status changes")
    async def status_history(self, request: Request, code: FromPath[str]) -> list[StatusChangeOut]:
        return await service.status_history(request.user, code)

    @post("/{code:str}/filings", summary="File a leadership change (备案)", guards=[requires("filings.file")])
    async def file(self, request: Request, code: FromPath[str], data: JSONBody[FilingIn]) -> FilingOut:
        return await service.file_leadership(request.user, code, data)


class FilingController(Controller):
    path = "/api/v1/filings"
    tags = ["teams"]
    guards = [signed_in]

    @get("/", summary="Leadership filings within the caller's scopes, newest first")
    async def list_filings(
        self,
        request: Request,
        page: NamedDependency[PageParams],
        status: FromQuery[FilingStatus | None] = None,
        team: FromQuery[str | None] = None,
    ) -> Page[FilingOut]:
        items, total = await service.list_filings(request.user, page, status=status, team=team)
        return Page.of(items, total, page)

    @get("/{filing_id:int}", summary="One filing")
    async def get_filing(self, request: Request, filing_id: FromPath[int]) -> FilingOut:
        return await service.get_filing(request.user, filing_id)

    @post("/{filing_id:int}/decision", summary="Approve or reject a filing", guards=[requires("filings.decide")], status_code=200)
    async def decide(self, request: Request, filing_id: FromPath[int], data: JSONBody[DecisionIn]) -> FilingOut:
        return await service.decide_filing(request.user, filing_id, data)
