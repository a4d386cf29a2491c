"""Equipment pages: the inventory with label printing, an item's page (what a scan opens) with quick actions, due lists, stock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery, MultipartBody, URLEncodedBody
from litestar.response import Redirect, Template
from pydantic import ValidationError

from rescueops.accounts.access import can, can_anywhere
from rescueops.accounts.auth import signed_in
from rescueops.db.pagination import PageParams
from rescueops.equipment import labels, service
from rescueops.equipment.schemas import (
    AedCheckIn,
    AedIn,
    AedProblem,
    CheckinIn,
    CheckoutIn,
    InspectionIn,
    OwnerIn,
    RepairIn,
    ScrapDecisionIn,
    ScrapIn,
    StockLine,
    TransferRequestIn,
    TransferStepIn,
)
from rescueops.equipment.tables import ItemStatus
from rescueops.errors import DomainError
from rescueops.members import service as members
from rescueops.orgs import service as orgs
from rescueops.orgs.tables import OrgKind
from rescueops.web.i18n import gettext as _
from rescueops.web.i18n import pick
from rescueops.web.pages import page, problem, submit


def status_labels() -> dict[str, str]:
    return {
        ItemStatus.in_service: _("in service"), ItemStatus.checked_out: _("checked out"), ItemStatus.in_maintenance: _("in maintenance"),
        ItemStatus.lent: _("lent"), ItemStatus.lost: _("lost"), ItemStatus.scrapped: _("scrapped"), ItemStatus.in_transit: _("in transit"),
    }


def aed_problem_labels() -> dict[str, str]:
    return {
        AedProblem.out_of_service: _("out of service"), AedProblem.pads_expired: _("pads expired or unknown"),
        AedProblem.battery_expired: _("battery expired or unknown"), AedProblem.check_overdue: _("check overdue"),
    }


def transfer_status_labels() -> dict[str, str]:
    return {"requested": _("requested"), "approved": _("approved"), "rejected": _("rejected"), "dispatched": _("dispatched"),
            "received": _("received")}


@dataclass
class AedForm:
    code: str = ""
    unit_code: str = ""
    place_name: str = ""
    address: str = ""
    lat: str = ""
    lon: str = ""
    responsible_org: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    opening_hours: str = "全天"
    model: str = ""
    pads_expire_on: str = ""
    battery_expires_on: str = ""
    check_interval_days: str = "30"


@dataclass
class AedCheckForm:
    checked_on: str = ""
    working: str = ""  # "yes" when the self-test passed and the device is in place
    pads_expire_on: str = ""
    battery_expires_on: str = ""
    note: str = ""


def _filled(form: object) -> dict[str, str]:
    """A form's fields without the empty ones, so the schema's defaults and None apply."""
    return {name: value.strip() for name, value in vars(form).items() if value.strip()}


@dataclass
class CheckoutForm:
    kind: str = "member"
    person_id: str = ""
    reference: str = ""
    due_back: str = ""


@dataclass
class CheckinForm:
    condition: str = "ok"
    note: str = ""


@dataclass
class InspectForm:
    passed: list[str] = field(default_factory=list)  # the checklist points ticked as passed
    note: str = ""


@dataclass
class FaultForm:
    description: str = ""


@dataclass
class ScrapForm:
    reason: str = ""


@dataclass
class StepForm:
    action: str = ""
    note: str = ""


@dataclass
class ScrapDecisionForm:
    decision: str = ""
    reason: str = ""


@dataclass
class TransferForm:
    source_depot: str = ""
    destination_team: str = ""
    type_code: str = ""
    quantity: str = ""
    asset_tags: str = ""
    reason: str = ""


@dataclass
class ImportForm:
    file: UploadFile
    mode: str = "check"  # "check" writes nothing; "commit" registers every row or none


@dataclass
class LabelForm:
    asset_tags: list[str] = field(default_factory=list)
    format: str = "pdf"


async def item_page(request: Request, asset_tag: str, *, error: str | None = None, status_code: int = 200) -> Template:
    item = await service.get_item(request.user, asset_tag)
    row = await service._item_row(request.user, asset_tag, "equipment.view")
    roster = await members.roster(request.user, item.owner.code) if item.owner.kind == "team" else None
    return page(
        request, "equipment/item.html", status_code=status_code, nav="equipment", item=item, error=error,
        history=await service.item_history(request.user, asset_tag), inspections=await service.inspections_of(request.user, asset_tag),
        repairs=await service.repairs_of(request.user, asset_tag),
        people=[m for m in roster.members if m.status.value in ("active", "probation")] if roster else [],
        can_manage=can(request.user, "equipment.manage", row["owner_path"]), status_labels=status_labels(), pick=pick,
        today=date.today().isoformat(),
    )


async def _act(request: Request, asset_tag: str, action) -> Template | Redirect:
    return await submit(action, done=f"/equipment/items/{asset_tag}",
                        again=lambda message, status: item_page(request, asset_tag, error=message, status_code=status))


async def transfers_page(request: Request, error: str | None = None, status_code: int = 200) -> Template:
    """Transfer requests the caller sends or receives, with the step each side may take, and scrapping to decide."""
    transfers, types = await service.list_transfers(request.user), await service.list_types()
    steps = {}
    for t in transfers:
        side = {"requested": ("source", ["approve", "reject"]), "approved": ("source", ["dispatch"]),
                "dispatched": ("destination", ["receive"])}.get(t.status)
        if side:
            owner = t.source if side[0] == "source" else t.destination
            path = await service.owner_path(owner)
            steps[t.id] = side[1] if can(request.user, "equipment.manage", path) else []
    return page(request, "equipment/transfers.html", status_code=status_code, nav="equipment", transfers=transfers, steps=steps,
                scraps=await service.pending_scraps(request.user), types=types, type_names={t.code: t.name_zh for t in types}, error=error,
                depots=await service.list_depots(request.user),
                status_labels=transfer_status_labels())


async def aeds_page(request: Request, error: str | None = None, status_code: int = 200, *, problems: bool = False,
                    form: AedForm | None = None) -> Template:
    aeds = await service.list_aeds(request.user, problems_only=problems)
    return page(request, "equipment/aeds.html", status_code=status_code, nav="equipment", aeds=aeds, problems=problems, error=error,
                can_register=can_anywhere(request.user, "equipment.manage"), problem_labels=aed_problem_labels(), form=form or AedForm(),
                today=date.today().isoformat())


class EquipmentPages(Controller):
    include_in_schema = False
    guards = [signed_in]

    @get("/equipment")
    async def inventory(
        self, request: Request, team: FromQuery[str | None] = None, depot: FromQuery[str | None] = None,
        league: FromQuery[str | None] = None, status: FromQuery[str | None] = None, q: FromQuery[str | None] = None,
    ) -> Template:
        items, total = await service.list_items(
            request.user, PageParams(limit=200), team=team or None, depot=(depot or None) if not team else None, under_code=league or None,
            status=ItemStatus(status) if status in ItemStatus.__members__ else None, q=q or None,
        )
        kits = await service.team_kits(request.user, team) if team else []
        stock = await service.balances(request.user, OwnerIn(team_code=team or None, depot_code=None if team else depot)) if (team or depot) else []
        return page(request, "equipment/inventory.html", nav="equipment", items=items, total=total, kits=kits, stock=stock,
                    filters={"team": team or "", "depot": depot or "", "league": league or "", "status": status or "", "q": q or ""},
                    leagues=(await orgs.list_units(PageParams(limit=50), kind=OrgKind.league))[0],
                    status_labels=status_labels(), pick=pick)

    @post("/equipment/import", status_code=200)
    async def import_items(self, request: Request, data: MultipartBody[ImportForm], team: FromQuery[str | None] = None,
                           depot: FromQuery[str | None] = None) -> Template | Redirect:
        owner = OwnerIn(team_code=team or None, depot_code=None if team else depot)
        commit = data.mode == "commit"
        try:
            report = await service.import_items(request.user, owner, data.file.filename or "items", await data.file.read(), commit=commit)
        except (DomainError, ValidationError) as error:
            message, status = problem(error)
            return page(request, "equipment/import_report.html", status_code=status, nav="equipment", report=None, error=message,
                        details=getattr(error, "details", []), back=f"/equipment?{'team=' + team if team else 'depot=' + (depot or '')}")
        if commit:
            return Redirect(f"/equipment?{'team=' + team if team else 'depot=' + (depot or '')}")
        return page(request, "equipment/import_report.html", nav="equipment", report=report, error=None, details=[],
                    back=f"/equipment?{'team=' + team if team else 'depot=' + (depot or '')}")

    @post("/equipment/labels", status_code=200)
    async def print_labels(self, request: Request, data: URLEncodedBody[LabelForm]) -> Response:
        chosen = await service.labels_for(request.user, data.asset_tags)
        if data.format == "svg":
            return Response(labels.sheet_svg(chosen), media_type="image/svg+xml")
        return Response(labels.sheet_pdf(chosen), media_type="application/pdf", headers={"Content-Disposition": "inline; filename=labels.pdf"})

    @get("/s/{asset_tag:str}")
    async def scanned(self, asset_tag: FromPath[str]) -> Redirect:
        """What a label's QR code opens: the item's page (after logging in, for an authorised user)."""
        return Redirect(f"/equipment/items/{asset_tag}")

    @get("/equipment/items/{asset_tag:str}")
    async def item(self, request: Request, asset_tag: FromPath[str]) -> Template:
        return await item_page(request, asset_tag)

    @post("/equipment/items/{asset_tag:str}/check-out")
    async def check_out(self, request: Request, asset_tag: FromPath[str], data: URLEncodedBody[CheckoutForm]) -> Template | Redirect:
        return await _act(request, asset_tag, lambda: service.check_out(request.user, asset_tag, CheckoutIn(
            kind=data.kind, person_id=int(data.person_id) if data.person_id.isdigit() else None,
            reference=data.reference, due_back=data.due_back or None)))

    @post("/equipment/items/{asset_tag:str}/check-in")
    async def check_in(self, request: Request, asset_tag: FromPath[str], data: URLEncodedBody[CheckinForm]) -> Template | Redirect:
        return await _act(request, asset_tag, lambda: service.check_in(request.user, asset_tag, CheckinIn(condition=data.condition, note=data.note)))

    @post("/equipment/items/{asset_tag:str}/inspect")
    async def inspect(self, request: Request, asset_tag: FromPath[str], data: URLEncodedBody[InspectForm]) -> Template | Redirect:
        item = await service.get_item(request.user, asset_tag)
        results = {point: point in (data.passed or []) for point in item.type.checklist}
        return await _act(request, asset_tag, lambda: service.record_inspection(request.user, asset_tag, InspectionIn(results=results, note=data.note)))

    @post("/equipment/items/{asset_tag:str}/fault")
    async def fault(self, request: Request, asset_tag: FromPath[str], data: URLEncodedBody[FaultForm]) -> Template | Redirect:
        return await _act(request, asset_tag, lambda: service.record_repair(request.user, asset_tag, RepairIn(description=data.description)))

    @post("/equipment/items/{asset_tag:str}/scrap")
    async def scrap(self, request: Request, asset_tag: FromPath[str], data: URLEncodedBody[ScrapForm]) -> Template | Redirect:
        return await _act(request, asset_tag, lambda: service.request_scrap(request.user, asset_tag, ScrapIn(reason=data.reason)))

    @get("/equipment/depots")
    async def depots(self, request: Request) -> Template:
        return page(request, "equipment/depots.html", nav="equipment", depots=await service.list_depots(request.user),
                    hubs={hub.code: pick(hub.region_zh, hub.region_en) for hub in await orgs.list_hubs()})

    @get("/equipment/aeds")
    async def aeds(self, request: Request, problems: FromQuery[bool] = False) -> Template:
        return await aeds_page(request, problems=problems)

    @post("/equipment/aeds")
    async def register_aed(self, request: Request, data: URLEncodedBody[AedForm]) -> Template | Redirect:
        return await submit(lambda: service.register_aed(request.user, AedIn(**_filled(data))), done="/equipment/aeds",
                            again=lambda message, status: aeds_page(request, message, status, form=data))

    @post("/equipment/aeds/{code:str}/checks")
    async def check_aed(self, request: Request, code: FromPath[str], data: URLEncodedBody[AedCheckForm]) -> Template | Redirect:
        return await submit(lambda: service.record_aed_check(request.user, code, AedCheckIn(**{**_filled(data), "working": data.working == "yes"})),
                            done="/equipment/aeds", again=lambda message, status: aeds_page(request, message, status))

    @get("/equipment/transfers")
    async def transfers(self, request: Request) -> Template:
        return await transfers_page(request)

    @post("/equipment/transfers")
    async def request_transfer(self, request: Request, data: URLEncodedBody[TransferForm]) -> Template | Redirect:
        lines = [StockLine(type=data.type_code, quantity=int(data.quantity))] if data.type_code and data.quantity.isdigit() else []
        tags = [t.strip().upper() for t in data.asset_tags.replace("，", ",").split(",") if t.strip()]
        return await submit(
            lambda: service.request_transfer(request.user, TransferRequestIn(
                source=OwnerIn(depot_code=data.source_depot), destination=OwnerIn(team_code=data.destination_team),
                stock_lines=lines, asset_tags=tags, reason=data.reason)),
            done="/equipment/transfers", again=lambda message, status: transfers_page(request, message, status))

    @post("/equipment/transfers/{transfer_id:int}")
    async def transfer_step(self, request: Request, transfer_id: FromPath[int], data: URLEncodedBody[StepForm]) -> Template | Redirect:
        return await submit(lambda: service.advance_transfer(request.user, transfer_id, TransferStepIn(action=data.action, note=data.note)),
                            done="/equipment/transfers", again=lambda message, status: transfers_page(request, message, status))

    @post("/equipment/scrap-requests/{request_id:int}")
    async def scrap_decision(self, request: Request, request_id: FromPath[int], data: URLEncodedBody[ScrapDecisionForm]) -> Template | Redirect:
        return await submit(
            lambda: service.decide_scrap(request.user, request_id, ScrapDecisionIn(approve=data.decision == "approve", reason=data.reason)),
            done="/equipment/transfers", again=lambda message, status: transfers_page(request, message, status))

    @get("/equipment/due")
    async def due(self, request: Request) -> Template:
        return page(request, "equipment/due.html", nav="equipment", due=await service.due_inspections(request.user),
                    overdue=await service.overdue(request.user), status_labels=status_labels(), pick=pick)


class PublicAedPages(Controller):
    """No login: anyone can find a working AED near them. No names or phone numbers are shown."""

    include_in_schema = False

    @get("/public/aeds")
    async def nearby(self, request: Request, lat: FromQuery[float | None] = None, lon: FromQuery[float | None] = None,
                     radius_km: FromQuery[float] = 5.0) -> Template:
        aeds = await service.nearby_aeds(lat, lon, radius_km) if lat is not None and lon is not None else []
        return page(request, "equipment/public_aeds.html", aeds=aeds, lat=lat, lon=lon, radius_km=radius_km)
