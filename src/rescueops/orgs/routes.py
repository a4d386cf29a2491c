from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from rescueops.accounts.auth import requires, signed_in
from rescueops.db.pagination import Page, PageParams
from rescueops.orgs import service
from rescueops.orgs.schemas import CoverageUpdate, HubOut, OrgUnitCreate, OrgUnitOut, OrgUnitUpdate, ZoneOut
from rescueops.orgs.tables import OrgKind


class OrgController(Controller):
    path = "/api/v1/orgs"
    tags = ["orgs"]
    guards = [signed_in]

    @get("/units", summary="List org units", description="Ordered by tree path: parents before children.")
    async def list_units(
        self,
        page: NamedDependency[PageParams],
        kind: FromQuery[OrgKind | None] = None,
        parent: Annotated[str | None, QueryParameter(description="Direct children of this unit code")] = None,
        under: Annotated[str | None, QueryParameter(description="This unit and everything under it")] = None,
        q: Annotated[str | None, QueryParameter(description="Search code and names")] = None,
    ) -> Page[OrgUnitOut]:
        items, total = await service.list_units(page, kind=kind, parent=parent, under_code=under, q=q)
        return Page.of(items, total, page)

    @get("/units/{code:str}", summary="One org unit")
    async def get_unit(self, code: FromPath[str]) -> OrgUnitOut:
        return await service.get_unit(code)

    @post("/units", summary="Create an org unit", guards=[requires("orgs.manage")])
    async def create_unit(self, request: Request, data: JSONBody[OrgUnitCreate]) -> OrgUnitOut:
        return await service.create_unit(request.user, data)

    @patch("/units/{code:str}", summary="Rename or relocate an org unit", guards=[requires("orgs.manage")])
    async def update_unit(self, request: Request, code: FromPath[str], data: JSONBody[OrgUnitUpdate]) -> OrgUnitOut:
        return await service.update_unit(request.user, code, data)

    @get("/hubs", summary="The regional backbone hubs and their coverage")
    async def list_hubs(self) -> list[HubOut]:
        return await service.list_hubs()

    @get("/hubs/{code:str}", summary="One regional hub")
    async def get_hub(self, code: FromPath[str]) -> HubOut:
        return await service.get_hub(code)

    @put("/hubs/{code:str}/coverage", summary="Replace a hub's coverage", guards=[requires("hubs.manage")])
    async def set_coverage(self, request: Request, code: FromPath[str], data: JSONBody[CoverageUpdate]) -> HubOut:
        return await service.set_coverage(request.user, code, data)

    @get("/zones", summary="Cooperation zones with partner provinces")
    async def list_zones(self) -> list[ZoneOut]:
        return await service.list_zones()
