from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, MultipartBody, QueryParameter

from rescueops.accounts.auth import requires, signed_in
from rescueops.db.pagination import Page, PageParams
from rescueops.equipment import item_file, labels, service
from rescueops.equipment.schemas import (
    AedCheckIn,
    AedIn,
    AedOut,
    BalanceOut,
    CatalogueTypeOut,
    CheckinIn,
    CheckoutIn,
    CheckoutOut,
    CorrectionIn,
    DepotOut,
    DueOut,
    HistoryEntry,
    InspectionIn,
    InspectionOut,
    ItemIn,
    ItemOut,
    KitIn,
    KitOut,
    KitTemplateOut,
    LabelsIn,
    MovementIn,
    MovementOut,
    OwnerIn,
    PackIn,
    PublicAed,
    RepairDoneIn,
    RepairIn,
    ScrapDecisionIn,
    ScrapIn,
    ScrapOut,
    TransferIn,
    TransferRequestIn,
    TransferRequestOut,
    TransferStepIn,
)
from rescueops.equipment.tables import ItemStatus, TransferStatus
from rescueops.errors import field_error
from rescueops.members.routes import XLSX, FileUpload, attachment
from rescueops.members.schemas import ImportReport
from rescueops.uploads import SPREADSHEET_REQUEST_MAX_BYTES
from rescueops.web.openapi import file_operation


def _owner(team: str | None, depot: str | None) -> OwnerIn:
    """The owner the ``team`` or ``depot`` query parameter names: exactly one (an empty value is none), else a 422."""
    if bool(team) == bool(depot):
        raise field_error("team", "give exactly one owner: team or depot")
    return OwnerIn(team_code=team or None, depot_code=depot or None)


class EquipmentController(Controller):
    path = "/api/v1/equipment"
    tags = ["equipment"]
    guards = [signed_in]

    @get("/types", summary="Equipment types (data), each with the kit templates it is typically packed in")
    async def types(self) -> list[CatalogueTypeOut]:
        return await service.catalogue()

    @get("/kit-templates", summary="Kit templates: what a ready kit of each category holds")
    async def kit_templates(self) -> list[KitTemplateOut]:
        return await service.list_kit_templates()

    @get("/items", summary="Individually tracked items within the caller's scopes")
    async def list_items(
        self,
        request: Request,
        page: NamedDependency[PageParams],
        team: FromQuery[str | None] = None,
        depot: FromQuery[str | None] = None,
        under: Annotated[str | None, QueryParameter(description="Org unit code: items of teams and depots under it")] = None,
        type: FromQuery[str | None] = None,
        status: FromQuery[ItemStatus | None] = None,
        q: FromQuery[str | None] = None,
    ) -> Page[ItemOut]:
        items, total = await service.list_items(request.user, page, team=team, depot=depot, under_code=under, type_code=type, status=status, q=q)
        return Page.of(items, total, page)

    @post("/items", summary="Register an item", guards=[requires("equipment.manage")])
    async def register(self, request: Request, data: JSONBody[ItemIn]) -> ItemOut:
        return await service.register_item(request.user, data)

    @get("/items/template.xlsx", summary="The equipment registration template (Chinese headers)", media_type=XLSX)
    async def template(self) -> Response:
        return attachment(item_file.template(), "equipment-template.xlsx", XLSX)

    @post("/items/import", summary="Register items from a spreadsheet: check only, or commit (all rows or none)",
          guards=[requires("equipment.manage")], status_code=200, request_max_body_size=SPREADSHEET_REQUEST_MAX_BYTES)
    async def import_items(
        self, request: Request, data: MultipartBody[FileUpload], team: FromQuery[str | None] = None,
        depot: FromQuery[str | None] = None, commit: FromQuery[bool] = False,
    ) -> ImportReport:
        return await service.import_items(request.user, _owner(team, depot), data.file.filename or "items",
                                          await data.file.read(), commit=commit)

    @get("/items/{asset_tag:str}", summary="One item by its asset tag")
    async def get_item(self, request: Request, asset_tag: FromPath[str]) -> ItemOut:
        return await service.get_item(request.user, asset_tag)

    @post("/items/{asset_tag:str}/check-out", summary="Hand an item out: to a member, a drill, a deployment, or lend it to a team",
          guards=[requires("equipment.manage")])
    async def check_out(self, request: Request, asset_tag: FromPath[str], data: JSONBody[CheckoutIn]) -> CheckoutOut:
        return await service.check_out(request.user, asset_tag, data)

    @post("/items/{asset_tag:str}/check-in", summary="Take an item back (damaged ones go to maintenance)",
          guards=[requires("equipment.manage")], status_code=200)
    async def check_in(self, request: Request, asset_tag: FromPath[str], data: JSONBody[CheckinIn]) -> CheckoutOut:
        return await service.check_in(request.user, asset_tag, data)

    @get("/items/{asset_tag:str}/history", summary="Every check-out of an item, newest first")
    async def history(self, request: Request, asset_tag: FromPath[str]) -> list[CheckoutOut]:
        return await service.item_history(request.user, asset_tag)

    @get("/items/{asset_tag:str}/timeline", summary="Everything that happened to an item, oldest first (check-outs, inspections, "
         "repairs, scrapping, transfers, owner changes)")
    async def timeline(self, request: Request, asset_tag: FromPath[str]) -> list[HistoryEntry]:
        return await service.item_timeline(request.user, asset_tag)

    @get("/overdue", summary="Items out past their due-back date (optionally of one team or depot)")
    async def overdue(
        self, request: Request, under: FromQuery[str | None] = None, team: FromQuery[str | None] = None, depot: FromQuery[str | None] = None
    ) -> list[CheckoutOut]:
        return await service.overdue(request.user, under, _owner(team, depot) if team or depot else None)

    @post("/items/{asset_tag:str}/inspections", summary="Record an inspection against the type's checklist",
          guards=[requires("equipment.manage")])
    async def inspect(self, request: Request, asset_tag: FromPath[str], data: JSONBody[InspectionIn]) -> InspectionOut:
        return await service.record_inspection(request.user, asset_tag, data)

    @post("/items/{asset_tag:str}/repairs", summary="Record a repair (open until finished_on is set)", guards=[requires("equipment.manage")])
    async def repair(self, request: Request, asset_tag: FromPath[str], data: JSONBody[RepairIn]) -> ItemOut:
        return await service.record_repair(request.user, asset_tag, data)

    @post("/items/{asset_tag:str}/repairs/finish", summary="Finish the repair: the item is back in service",
          guards=[requires("equipment.manage")], status_code=200)
    async def finish_repair(self, request: Request, asset_tag: FromPath[str], data: JSONBody[RepairDoneIn]) -> ItemOut:
        return await service.finish_repair(request.user, asset_tag, data)

    @post("/items/{asset_tag:str}/scrap", summary="Ask the supervising branch to approve scrapping (报废)", guards=[requires("equipment.manage")])
    async def request_scrap(self, request: Request, asset_tag: FromPath[str], data: JSONBody[ScrapIn]) -> ScrapOut:
        return await service.request_scrap(request.user, asset_tag, data)

    @post("/scrap-requests/{request_id:int}/decision", summary="Approve or reject scrapping", guards=[requires("equipment.scrap")],
          status_code=200)
    async def decide_scrap(self, request: Request, request_id: FromPath[int], data: JSONBody[ScrapDecisionIn]) -> ScrapOut:
        return await service.decide_scrap(request.user, request_id, data)

    @get("/due", summary="Items due for inspection within 30 days, or overdue (optionally of one team or depot)")
    async def due(
        self, request: Request, under: FromQuery[str | None] = None, team: FromQuery[str | None] = None, depot: FromQuery[str | None] = None
    ) -> list[DueOut]:
        owner = _owner(team, depot) if team or depot else None
        return await service.due_inspections(request.user, under_code=under, owner=owner)

    @post("/kits", summary="Register a kit (a container item with a packing template)", guards=[requires("equipment.manage")])
    async def register_kit(self, request: Request, data: JSONBody[KitIn]) -> KitOut:
        return await service.register_kit(request.user, data)

    @get("/kits/{asset_tag:str}", summary="A kit and its readiness")
    async def kit(self, request: Request, asset_tag: FromPath[str]) -> KitOut:
        return await service.get_kit(request.user, asset_tag)

    @post("/kits/{asset_tag:str}/pack", summary="Put items in a kit", guards=[requires("equipment.manage")], status_code=200)
    async def pack(self, request: Request, asset_tag: FromPath[str], data: JSONBody[PackIn]) -> KitOut:
        return await service.pack(request.user, asset_tag, data)

    @post("/kits/{asset_tag:str}/unpack", summary="Take items out of a kit", guards=[requires("equipment.manage")], status_code=200)
    async def unpack(self, request: Request, asset_tag: FromPath[str], data: JSONBody[PackIn]) -> KitOut:
        return await service.pack(request.user, asset_tag, data, unpack=True)

    @get("/teams/{code:str}/kits", summary="A team's kits with their readiness")
    async def team_kits(self, request: Request, code: FromPath[str]) -> list[KitOut]:
        return await service.team_kits(request.user, code)

    @post("/labels", summary="A4 sheet of QR labels (PDF or SVG) for the chosen items", status_code=200,
          operation_class=file_operation("application/pdf", "image/svg+xml"))
    async def label_sheet(self, request: Request, data: JSONBody[LabelsIn]) -> Response:
        chosen = await service.labels_for(request.user, data.asset_tags)
        if data.format == "svg":
            return Response(labels.sheet_svg(chosen), media_type="image/svg+xml")
        return Response(labels.sheet_pdf(chosen), media_type="application/pdf",
                        headers={"Content-Disposition": "attachment; filename=labels.pdf"})

    @get("/items/{asset_tag:str}/label.png", summary="An item's QR code (PNG)", media_type="image/png")
    async def label_png(self, request: Request, asset_tag: FromPath[str]) -> Response:
        await service.get_item(request.user, asset_tag)
        return Response(labels.label_png(labels.scan_url(asset_tag)), media_type="image/png")

    @get("/transfer-requests", summary="Transfer requests the caller's scopes send or receive")
    async def transfers(self, request: Request, status: FromQuery[TransferStatus | None] = None) -> list[TransferRequestOut]:
        return await service.list_transfers(request.user, status)

    @post("/transfer-requests", summary="Ask another owner (usually a depot) for materials", guards=[requires("equipment.manage")])
    async def request_transfer(self, request: Request, data: JSONBody[TransferRequestIn]) -> TransferRequestOut:
        return await service.request_transfer(request.user, data)

    @post("/transfer-requests/{transfer_id:int}/steps", summary="approve / reject / dispatch (source) or receive (destination)",
          guards=[requires("equipment.manage")], status_code=200)
    async def step(self, request: Request, transfer_id: FromPath[int], data: JSONBody[TransferStepIn]) -> TransferRequestOut:
        return await service.advance_transfer(request.user, transfer_id, data)

    @get("/depots", summary="Every reserve depot with its stock and pre-positioned equipment (depots serve all regions)")
    async def depots(self, request: Request) -> list[DepotOut]:
        return await service.list_depots(request.user)

    @get("/stock", summary="Stock balances of a team or a depot")
    async def balances(self, request: Request, team: FromQuery[str | None] = None, depot: FromQuery[str | None] = None) -> list[BalanceOut]:
        return await service.balances(request.user, _owner(team, depot))

    @get("/stock/ledger", summary="Stock movements of a team or a depot, newest first")
    async def ledger(
        self, request: Request, team: FromQuery[str | None] = None, depot: FromQuery[str | None] = None, type: FromQuery[str | None] = None
    ) -> list[MovementOut]:
        return await service.ledger(request.user, _owner(team, depot), type)

    @post("/stock/movements", summary="Receive, issue, consume, write off or adjust stock (at one storage location)",
          guards=[requires("equipment.manage")])
    async def move(self, request: Request, data: JSONBody[MovementIn]) -> BalanceOut:
        return await service.move_stock(request.user, data)

    @post("/stock/movements/{movement_id:int}/correction", summary="Correct a wrong movement with an adjusting one (the ledger is append-only)",
          guards=[requires("equipment.manage")])
    async def correct(self, request: Request, movement_id: FromPath[int], data: JSONBody[CorrectionIn]) -> MovementOut:
        return await service.correct_movement(request.user, movement_id, data)

    @post("/stock/transfers", summary="Move stock to another owner, or between storage locations of one owner",
          guards=[requires("equipment.manage")])
    async def transfer(self, request: Request, data: JSONBody[TransferIn]) -> list[BalanceOut]:
        return await service.transfer_stock(request.user, data)


class AedController(Controller):
    path = "/api/v1/aeds"
    tags = ["equipment"]
    guards = [signed_in]

    @get("/", summary="Registered AEDs within the caller's scopes, with usability")
    async def list_aeds(self, request: Request, under: FromQuery[str | None] = None, problems: FromQuery[bool] = False) -> list[AedOut]:
        return await service.list_aeds(request.user, under_code=under, problems_only=problems)

    @post("/", summary="Register a public AED", guards=[requires("equipment.manage")])
    async def register(self, request: Request, data: JSONBody[AedIn]) -> AedOut:
        return await service.register_aed(request.user, data)

    @post("/{code:str}/checks", summary="Record a check (and replaced pads or battery)", guards=[requires("equipment.manage")])
    async def check(self, request: Request, code: FromPath[str], data: JSONBody[AedCheckIn]) -> AedOut:
        return await service.record_aed_check(request.user, code, data)


@get("/api/v1/public/aeds", tags=["public"], summary="AEDs near a point, for anyone (no personal data)")
async def public_aeds(
    lat: FromQuery[float], lon: FromQuery[float], radius_km: Annotated[float, QueryParameter(ge=0.1, le=50)] = 5.0
) -> list[PublicAed]:
    return await service.nearby_aeds(lat, lon, radius_km)
