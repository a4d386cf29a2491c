from __future__ import annotations

from litestar import Controller, Request, get, patch, post, put
from litestar.params import Parameter

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
        page: PageParams,
        kind: OrgKind | None = None,
        parent: str | None = Parameter(default=None, description="Direct children of this unit code"),
        under: str | None = Parameter(default=None, description="This unit and everything under it"),
        q: str | None = Parameter(default=None, description="Search code and names"),
    ) -> Page[OrgUnitOut]:
        items, total = await service.list_units(page, kind=kind, parent=parent, under_code=under, q=q)
        return Page.of(items, total, page)

    @get("/units/{code:str}", summary="One org unit")
    async def get_unit(self, code: str) -> OrgUnitOut:
        return await service.get_unit(code)

    @post("/units", summary="Create an org unit", guards=[requires("orgs.manage")])
    async def create_unit(self, request: Request, data: OrgUnitCreate) -> OrgUnitOut:
        return await service.create_unit(request.user, data)

    @patch("/units/{code:str}", summary="Rename or relocate an org unit", guards=[requires("orgs.manage")])
    async def update_unit(self, request: Request, code: str, data: OrgUnitUpdate) -> OrgUnitOut:
        return await service.update_unit(request.user, code, data)

    @get("/hubs", summary="The regional backbone hubs and their coverage")
    async def list_hubs(self) -> list[HubOut]:
        return await service.list_hubs()

    @get("/hubs/{code:str}", summary="One regional hub")
    async def get_hub(self, code: str) -> HubOut:
        return await service.get_hub(code)

    @put("/hubs/{code:str}/coverage", summary="Replace a hub's coverage", guards=[requires("hubs.manage")])
    async def set_coverage(self, request: Request, code: str, data: CoverageUpdate) -> HubOut:
        return await service.set_coverage(request.user, code, data)

    @get("/zones", summary="Cooperation zones with partner provinces")
    async def list_zones(self) -> list[ZoneOut]:
        return await service.list_zones()
