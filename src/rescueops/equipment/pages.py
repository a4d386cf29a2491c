"""Equipment pages: the inventory (registering items, kits and stock, label printing), an item's page (what a scan opens)
with quick actions, the scan page, the catalogue, due lists, transfers, depots and public AEDs."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery, MultipartBody, URLEncodedBody
from litestar.response import Redirect, Template
from pydantic import ValidationError

from rescueops.accounts.access import can, can_anywhere
from rescueops.accounts.auth import signed_in
from rescueops.calendar import china_today
from rescueops.db.pagination import PageParams
from rescueops.equipment import labels, service
from rescueops.equipment.schemas import (
    AedCheckIn,
    AedIn,
    AedProblem,
    CheckinIn,
    CheckoutIn,
    CorrectionIn,
    InspectionIn,
    ItemIn,
    KitIn,
    MovementIn,
    OwnerIn,
    PackIn,
    RepairDoneIn,
    RepairIn,
    ScrapDecisionIn,
    ScrapIn,
    StockLine,
    TransferIn,
    TransferRequestIn,
    TransferStepIn,
)
from rescueops.equipment.tables import FundingSource, ItemStatus, MovementKind
from rescueops.errors import DomainError, NotFound
from rescueops.members import service as members
from rescueops.orgs import service as orgs
from rescueops.orgs.tables import OrgKind
from rescueops.uploads import SPREADSHEET_REQUEST_MAX_BYTES
from rescueops.web.i18n import current_locale, pick
from rescueops.web.i18n import gettext as _
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


def movement_labels() -> dict[str, str]:
    return {MovementKind.receive: _("receive"), MovementKind.issue: _("issue"), MovementKind.consume: _("consume"),
            MovementKind.write_off: _("write off"), MovementKind.adjust: _("adjust (count correction)"),
            MovementKind.transfer_in: _("transfer in"), MovementKind.transfer_out: _("transfer out")}


def history_labels() -> dict[str, str]:
    """What an item's history entries and their status codes say, in the page's language."""
    return {
        "registered": _("Registered"), "checked_out": _("Checked out"), "returned": _("Returned"), "inspected": _("Inspection"),
        "repair_started": _("Repair started"), "repair_finished": _("Repair finished"), "scrap_requested": _("Scrapping requested"),
        "scrap_decided": _("Scrapping decided"), "transfer": _("Transfer"), "owner_changed": _("Owner changed"),
        "member": _("to a member"), "drill": _("to a drill"), "deployment": _("to a deployment"), "loan": _("lent to a team"),
        "ok": _("good"), "damaged": _("damaged"), "lost": _("lost"), "passed": _("passed"), "failed": _("failed"),
        "pending": _("pending"), **transfer_status_labels(),
    }


def funding_labels() -> dict[str, str]:
    return {FundingSource.fiscal: _("fiscal"), FundingSource.donation: _("donation"), FundingSource.project: _("project")}


def _error_summaries() -> dict[str, str]:
    """What the equipment error codes mean, for pages in Chinese (web.pages.problem knows the codes shared by every domain)."""
    return {
        "duplicate_asset_tag": _("That asset tag is already on another item."),
        "insufficient_stock": _("Not enough in stock: nothing was moved."),
        "item_unavailable": _("The item is not available: it is out, in maintenance or on its way elsewhere."),
        "item_expired": _("The item is past its expiry date and cannot go out."),
        "item_gone": _("The item is scrapped or lost."),
        "not_checked_out": _("The item is not checked out."),
        "not_in_maintenance": _("The item is not in maintenance."),
        "scrap_pending": _("Scrapping this item is already waiting for approval."),
        "own_request": _("You asked for this yourself; the supervising branch decides it."),
        "bad_equipment_file": _("The file cannot be read."),
        "no_labels": _("Choose at least one item to label."),
        "too_many_labels": _("Too many labels for one sheet run."),
    }


def _explain(error: Exception) -> tuple[str, int]:
    message, status = problem(error)
    summary = _error_summaries().get(getattr(error, "code", ""))
    if summary and current_locale.get() != "en":
        return f"{summary}（{message}）", status
    return message, status


async def _submit(action: Callable[[], Awaitable[Any]], *, done: str | Callable[[Any], str],
                  again: Callable[[str, int], Awaitable[Template]]) -> Template | Redirect:
    """web.pages.submit, with the equipment error codes explained in the page's language too."""
    failure: list[Exception] = []

    async def run() -> Any:
        try:
            return await action()
        except (DomainError, ValidationError) as error:
            failure.append(error)
            raise

    return await submit(run, done=done, again=lambda message, status: again(*_explain(failure[0])))


def _filled(form: object) -> dict[str, str]:
    """A form's text fields without the empty ones, so the schema's defaults and None apply."""
    return {name: value.strip() for name, value in vars(form).items() if isinstance(value, str) and value.strip()}


def _tags(text: str) -> list[str]:
    """Asset tags typed or scanned into one box: separated by commas (either kind), spaces or new lines."""
    return list(dict.fromkeys(t.upper() for t in re.split(r"[\s,，、;；]+", text) if t))


def _owner(kind: str, code: str) -> OwnerIn:
    return OwnerIn(team_code=code.strip() or None) if kind == "team" else OwnerIn(depot_code=code.strip() or None)


def _owner_query(team: str, depot: str) -> str:
    return f"team={team}" if team else f"depot={depot}"


# --- forms ---------------------------------------------------------------------------------


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


@dataclass
class OwnerForm:
    """The owner the inventory page is showing; every form on it carries it."""

    team_code: str = ""
    depot_code: str = ""

    def owner(self) -> OwnerIn:
        return OwnerIn(team_code=self.team_code.strip() or None, depot_code=None if self.team_code.strip() else self.depot_code.strip() or None)

    def back(self) -> str:
        return f"/equipment?{_owner_query(self.team_code.strip(), self.depot_code.strip())}"


@dataclass
class ItemForm(OwnerForm):
    asset_tag: str = ""
    type_code: str = ""
    serial_number: str = ""
    storage_location: str = ""
    acquired_on: str = ""
    cost: str = ""
    funding: str = "fiscal"
    expires_on: str = ""
    notes: str = ""


@dataclass
class KitForm(OwnerForm):
    asset_tag: str = ""
    template_code: str = ""
    storage_location: str = ""
    contents: str = ""  # asset tags of the items to pack at once


@dataclass
class MovementForm(OwnerForm):
    type_code: str = ""
    kind: str = "receive"
    quantity: str = ""
    location: str = ""
    reference: str = ""
    note: str = ""


@dataclass
class StockTransferForm(OwnerForm):
    type_code: str = ""
    quantity: str = ""
    source_location: str = ""
    destination_kind: str = "team"
    destination_code: str = ""  # empty: another location of the same owner
    destination_location: str = ""
    reference: str = ""
    note: str = ""


@dataclass
class CorrectionForm(OwnerForm):
    quantity: str = ""
    note: str = ""


@dataclass
class PackForm:
    contents: str = ""  # asset tags, as typed or scanned
    action: str = "pack"  # or "unpack"
    back: str = ""  # the inventory or the kit's own page


@dataclass
class CheckoutForm:
    kind: str = "member"
    person_id: str = ""
    borrower_team_code: str = ""
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
class RepairDoneForm:
    finished_on: str = ""
    cost: str = ""
    description: str = ""


@dataclass
class ScrapForm:
    reason: str = ""


@dataclass
class StepForm:
    action: str = ""
    note: str = ""
    location: str = ""


@dataclass
class ScrapDecisionForm:
    decision: str = ""
    reason: str = ""


@dataclass
class TransferForm:
    source_kind: str = "depot"
    source_code: str = ""
    destination_kind: str = "team"
    destination_code: str = ""
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


@dataclass
class Filters:
    team: str = ""
    depot: str = ""
    league: str = ""
    status: str = ""
    type: str = ""
    q: str = ""


# --- page builders -------------------------------------------------------------------------


async def inventory_page(request: Request, filters: Filters, *, error: str | None = None, status_code: int = 200,
                         forms: dict[str, Any] | None = None) -> Template:
    """The inventory; filtered to one team or depot it also registers items, kits and stock movements for that owner."""
    owner = OwnerIn(team_code=filters.team, depot_code=None) if filters.team else OwnerIn(depot_code=filters.depot) if filters.depot else None
    items, total = await service.list_items(
        request.user, PageParams(limit=200), team=filters.team or None, depot=filters.depot or None if not filters.team else None,
        under_code=filters.league or None, status=ItemStatus(filters.status) if filters.status in ItemStatus.__members__ else None,
        type_code=filters.type or None, q=filters.q or None,
    )
    kits, stock, ledger, can_manage = [], [], [], False
    if owner is not None:
        kits = await service.kits_of(request.user, owner)
        stock = await service.balances(request.user, owner)
        ledger = await service.ledger(request.user, owner, limit=20)
        can_manage = can(request.user, "equipment.manage", await service.path_of(owner))
    types = await service.list_types()
    defaults = {"team_code": filters.team, "depot_code": "" if filters.team else filters.depot}
    forms = {"item": ItemForm(**defaults), "kit": KitForm(**defaults), "movement": MovementForm(**defaults),
             "transfer": StockTransferForm(**defaults), **(forms or {})}
    return page(request, "equipment/inventory.html", status_code=status_code, nav="equipment", items=items, total=total, kits=kits,
                stock=stock, ledger=ledger, filters=filters, owner=owner, can_manage=can_manage, error=error, forms=forms, types=types,
                item_types=[t for t in types if t.tracking.value == "item" and t.code != "kit"],
                stock_types=[t for t in types if t.tracking.value == "stock"], templates=await service.list_kit_templates(),
                locations=sorted({b.location for b in stock if b.location}),
                leagues=(await orgs.list_units(PageParams(limit=50), kind=OrgKind.league))[0],
                status_labels=status_labels(), movement_labels=movement_labels(), funding_labels=funding_labels(), pick=pick)


def _filters_of(form: OwnerForm) -> Filters:
    return Filters(team=form.team_code.strip(), depot="" if form.team_code.strip() else form.depot_code.strip())


async def item_page(request: Request, asset_tag: str, *, error: str | None = None, status_code: int = 200) -> Template:
    item = await service.get_item(request.user, asset_tag)
    owner_path = await service.owner_path(item.owner)
    roster = await members.roster(request.user, item.owner.code) if item.owner.kind == "team" else None
    kit = await service.get_kit(request.user, asset_tag) if item.kit_template else None
    return page(
        request, "equipment/item.html", status_code=status_code, nav="equipment", item=item, error=error, kit=kit,
        history=await service.item_timeline(request.user, asset_tag), history_labels=history_labels(),
        people=[m for m in roster.members if m.status.value in ("active", "probation")] if roster else [],
        can_manage=can(request.user, "equipment.manage", owner_path), status_labels=status_labels(), pick=pick,
        today=china_today().isoformat(),
    )


async def _act(request: Request, asset_tag: str, action: Callable[[], Awaitable[Any]]) -> Template | Redirect:
    return await _submit(action, done=f"/equipment/items/{asset_tag}",
                         again=lambda message, status: item_page(request, asset_tag, error=message, status_code=status))


async def transfers_page(request: Request, error: str | None = None, status_code: int = 200, form: TransferForm | None = None) -> Template:
    """Transfer requests the caller sends or receives, with the step each side may take, and scrapping to decide."""
    transfers, types = await service.list_transfers(request.user), await service.list_types()
    steps = {}
    for t in transfers:
        actions = {"requested": ["approve", "reject"], "approved": ["dispatch"], "dispatched": ["receive"]}.get(t.status)
        if actions:
            owner = t.source if service.acting_side(t.raised_by, actions[0]) == "source" else t.destination
            steps[t.id] = actions if can(request.user, "equipment.manage", await service.owner_path(owner)) else []
    return page(request, "equipment/transfers.html", status_code=status_code, nav="equipment", transfers=transfers, steps=steps,
                scraps=await service.pending_scraps(request.user), types=types, type_names={t.code: t.name_zh for t in types}, error=error,
                depots=await service.list_depots(request.user), form=form or TransferForm(),
                status_labels=transfer_status_labels())


async def due_page(request: Request, team: str, depot: str, league: str) -> Template:
    owner = OwnerIn(team_code=team) if team else OwnerIn(depot_code=depot) if depot else None
    error, status_code, due, late = None, 200, [], []
    try:
        due = await service.due_inspections(request.user, under_code=league or None, owner=owner)
        late = await service.overdue(request.user, league or None, owner)
    except DomainError as failure:  # an unknown team, depot or league code
        error, status_code = _explain(failure)
    return page(request, "equipment/due.html", status_code=status_code, nav="equipment", due=due, overdue=late, error=error,
                filters={"team": team, "depot": depot, "league": league}, depots=await service.list_depots(request.user),
                leagues=(await orgs.list_units(PageParams(limit=50), kind=OrgKind.league))[0], status_labels=status_labels(), pick=pick)


async def aeds_page(request: Request, error: str | None = None, status_code: int = 200, *, problems: bool = False,
                    form: AedForm | None = None) -> Template:
    aeds = await service.list_aeds(request.user, problems_only=problems)
    return page(request, "equipment/aeds.html", status_code=status_code, nav="equipment", aeds=aeds, problems=problems, error=error,
                can_register=can_anywhere(request.user, "equipment.manage"), problem_labels=aed_problem_labels(), form=form or AedForm(),
                today=china_today().isoformat())


def scanned_tag(text: str) -> str:
    """The asset tag in what a scanner or camera read: a label's URL (…/s/TAG) or the tag itself."""
    text = text.strip()
    found = re.search(r"/s/([^/?#\s]+)", text)
    return (found.group(1) if found else text).strip().upper()


class EquipmentPages(Controller):
    include_in_schema = False
    guards = [signed_in]

    @get("/equipment")
    async def inventory(
        self, request: Request, team: FromQuery[str | None] = None, depot: FromQuery[str | None] = None,
        league: FromQuery[str | None] = None, status: FromQuery[str | None] = None, type: FromQuery[str | None] = None,
        q: FromQuery[str | None] = None,
    ) -> Template:
        return await inventory_page(request, Filters(team=team or "", depot="" if team else depot or "", league=league or "",
                                                     status=status or "", type=type or "", q=q or ""))

    @get("/equipment/types")
    async def catalogue(self, request: Request) -> Template:
        return page(request, "equipment/catalogue.html", nav="equipment", types=await service.catalogue(), pick=pick)

    @post("/equipment/items")
    async def register_item(self, request: Request, data: URLEncodedBody[ItemForm]) -> Template | Redirect:
        fields = {k: v for k, v in _filled(data).items() if k not in ("team_code", "depot_code")}
        return await _submit(
            lambda: service.register_item(request.user, ItemIn(**data.owner().model_dump(), **{**fields, "asset_tag": data.asset_tag.strip().upper()})),
            done=data.back(), again=lambda message, status: inventory_page(request, _filters_of(data), error=message, status_code=status,
                                                                           forms={"item": data}))

    @post("/equipment/kits")
    async def register_kit(self, request: Request, data: URLEncodedBody[KitForm]) -> Template | Redirect:
        return await _submit(
            lambda: service.register_kit(request.user, KitIn(
                **data.owner().model_dump(), asset_tag=data.asset_tag.strip().upper(), template_code=data.template_code,
                storage_location=data.storage_location.strip(), asset_tags=_tags(data.contents))),
            done=data.back(), again=lambda message, status: inventory_page(request, _filters_of(data), error=message, status_code=status,
                                                                           forms={"kit": data}))

    @post("/equipment/kits/{asset_tag:str}/pack")
    async def pack(self, request: Request, asset_tag: FromPath[str], data: URLEncodedBody[PackForm]) -> Template | Redirect:
        back = data.back if data.back.startswith("/equipment") else f"/equipment/items/{asset_tag}"

        async def again(message: str, status: int) -> Template:
            if back.startswith("/equipment/items/"):
                return await item_page(request, asset_tag, error=message, status_code=status)
            kit = await service.get_kit(request.user, asset_tag)
            return await inventory_page(request, Filters(team=kit.owner.code) if kit.owner.kind == "team" else Filters(depot=kit.owner.code),
                                        error=message, status_code=status)

        return await _submit(lambda: service.pack(request.user, asset_tag, PackIn(asset_tags=_tags(data.contents)), unpack=data.action == "unpack"),
                             done=back, again=again)

    @post("/equipment/stock/movements")
    async def move_stock(self, request: Request, data: URLEncodedBody[MovementForm]) -> Template | Redirect:
        fields = {k: v for k, v in _filled(data).items() if k not in ("team_code", "depot_code")}
        return await _submit(
            lambda: service.move_stock(request.user, MovementIn(**data.owner().model_dump(), **fields)),
            done=data.back(), again=lambda message, status: inventory_page(request, _filters_of(data), error=message, status_code=status,
                                                                           forms={"movement": data}))

    @post("/equipment/stock/transfers")
    async def transfer_stock(self, request: Request, data: URLEncodedBody[StockTransferForm]) -> Template | Redirect:
        async def action() -> Any:
            source = data.owner()
            destination = _owner(data.destination_kind, data.destination_code) if data.destination_code.strip() else source
            return await service.transfer_stock(request.user, TransferIn(
                type_code=data.type_code, source=source, destination=destination, quantity=data.quantity.strip(),
                source_location=data.source_location, destination_location=data.destination_location, reference=data.reference, note=data.note))

        return await _submit(action, done=data.back(), again=lambda message, status: inventory_page(
            request, _filters_of(data), error=message, status_code=status, forms={"transfer": data}))

    @post("/equipment/stock/movements/{movement_id:int}/correction")
    async def correct(self, request: Request, movement_id: FromPath[int], data: URLEncodedBody[CorrectionForm]) -> Template | Redirect:
        return await _submit(
            lambda: service.correct_movement(request.user, movement_id, CorrectionIn(quantity=data.quantity.strip(), note=data.note)),
            done=data.back(), again=lambda message, status: inventory_page(request, _filters_of(data), error=message, status_code=status))

    @post("/equipment/import", status_code=200, request_max_body_size=SPREADSHEET_REQUEST_MAX_BYTES)
    async def import_items(self, request: Request, data: MultipartBody[ImportForm], team: FromQuery[str | None] = None,
                           depot: FromQuery[str | None] = None) -> Template | Redirect:
        owner = OwnerIn(team_code=team or None, depot_code=None if team else depot)
        back = f"/equipment?{_owner_query(team or '', depot or '')}"
        commit = data.mode == "commit"
        try:
            report = await service.import_items(request.user, owner, data.file.filename or "items", await data.file.read(), commit=commit)
        except (DomainError, ValidationError) as error:
            message, status = _explain(error)
            return page(request, "equipment/import_report.html", status_code=status, nav="equipment", report=None, error=message,
                        details=getattr(error, "details", []), back=back)
        if commit:
            return Redirect(back)
        return page(request, "equipment/import_report.html", nav="equipment", report=report, error=None, details=[], back=back)

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

    @get("/scan")
    async def scan(self, request: Request, tag: FromQuery[str | None] = None) -> Template | Redirect:
        """The phone's scan page: a typed tag, a handheld scanner's text or the camera's reading opens the item's page."""
        error, status_code, typed = None, 200, scanned_tag(tag or "")
        if typed:
            try:
                await service.get_item(request.user, typed)
                return Redirect(f"/equipment/items/{typed}")
            except NotFound:
                error, status_code = _("No item has the asset tag %(tag)s (or it is outside your scope).") % {"tag": typed}, 404
        return page(request, "equipment/scan.html", status_code=status_code, nav="equipment", error=error, tag=typed)

    @get("/equipment/items/{asset_tag:str}")
    async def item(self, request: Request, asset_tag: FromPath[str]) -> Template:
        return await item_page(request, asset_tag)

    @post("/equipment/items/{asset_tag:str}/check-out")
    async def check_out(self, request: Request, asset_tag: FromPath[str], data: URLEncodedBody[CheckoutForm]) -> Template | Redirect:
        return await _act(request, asset_tag, lambda: service.check_out(request.user, asset_tag, CheckoutIn(
            kind=data.kind, person_id=int(data.person_id) if data.person_id.isdigit() and data.kind == "member" else None,
            borrower_team_code=data.borrower_team_code.strip() or None if data.kind == "loan" else None,
            reference=data.reference if data.kind in ("drill", "deployment") else "", due_back=data.due_back or None)))

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

    @post("/equipment/items/{asset_tag:str}/repaired")
    async def repaired(self, request: Request, asset_tag: FromPath[str], data: URLEncodedBody[RepairDoneForm]) -> Template | Redirect:
        return await _act(request, asset_tag, lambda: service.finish_repair(request.user, asset_tag, RepairDoneIn(**_filled(data))))

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
        return await _submit(lambda: service.register_aed(request.user, AedIn(**_filled(data))), done="/equipment/aeds",
                             again=lambda message, status: aeds_page(request, message, status, form=data))

    @post("/equipment/aeds/{code:str}/checks")
    async def check_aed(self, request: Request, code: FromPath[str], data: URLEncodedBody[AedCheckForm]) -> Template | Redirect:
        return await _submit(lambda: service.record_aed_check(request.user, code, AedCheckIn(**{**_filled(data), "working": data.working == "yes"})),
                             done="/equipment/aeds", again=lambda message, status: aeds_page(request, message, status))

    @get("/equipment/transfers")
    async def transfers(self, request: Request) -> Template:
        return await transfers_page(request)

    @post("/equipment/transfers")
    async def request_transfer(self, request: Request, data: URLEncodedBody[TransferForm]) -> Template | Redirect:
        """Ask for materials: a team or depot asks a depot or a team (the receiving side asks, the source approves)."""
        async def action() -> Any:
            lines = [StockLine(type=data.type_code, quantity=data.quantity.strip())] if data.type_code and data.quantity.strip() else []
            return await service.request_transfer(request.user, TransferRequestIn(
                source=_owner(data.source_kind, data.source_code), destination=_owner(data.destination_kind, data.destination_code),
                stock_lines=lines, asset_tags=_tags(data.asset_tags), reason=data.reason))

        return await _submit(action, done="/equipment/transfers",
                             again=lambda message, status: transfers_page(request, message, status, form=data))

    @post("/equipment/transfers/{transfer_id:int}")
    async def transfer_step(self, request: Request, transfer_id: FromPath[int], data: URLEncodedBody[StepForm]) -> Template | Redirect:
        return await _submit(
            lambda: service.advance_transfer(request.user, transfer_id, TransferStepIn(action=data.action, note=data.note, location=data.location)),
            done="/equipment/transfers", again=lambda message, status: transfers_page(request, message, status))

    @post("/equipment/scrap-requests/{request_id:int}")
    async def scrap_decision(self, request: Request, request_id: FromPath[int], data: URLEncodedBody[ScrapDecisionForm]) -> Template | Redirect:
        return await _submit(
            lambda: service.decide_scrap(request.user, request_id, ScrapDecisionIn(approve=data.decision == "approve", reason=data.reason)),
            done="/equipment/transfers", again=lambda message, status: transfers_page(request, message, status))

    @get("/equipment/due")
    async def due(self, request: Request, team: FromQuery[str | None] = None, depot: FromQuery[str | None] = None,
                  league: FromQuery[str | None] = None) -> Template:
        return await due_page(request, (team or "").strip(), "" if team else (depot or "").strip(), (league or "").strip())


class PublicAedPages(Controller):
    """No login: anyone can find a working AED near them. No names or phone numbers are shown."""

    include_in_schema = False

    @get("/public/aeds")
    async def nearby(self, request: Request, lat: FromQuery[float | None] = None, lon: FromQuery[float | None] = None,
                     radius_km: FromQuery[float] = 5.0) -> Template:
        aeds = await service.nearby_aeds(lat, lon, radius_km) if lat is not None and lon is not None else []
        return page(request, "equipment/public_aeds.html", aeds=aeds, lat=lat, lon=lon, radius_km=radius_km)
