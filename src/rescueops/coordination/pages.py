"""Coordination pages: the live board (an htmx fragment polled every 5 seconds), raising a request, and a request's
page with each hub's ranked candidates and reasons, the offer and decline forms of the viewing hub, the requester's
accept buttons and cancellation, and the history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from litestar import Controller, Request, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from rescueops.accounts.access import ROLE_ACTIONS
from rescueops.accounts.auth import requires
from rescueops.calendar import CHINA, utc_now
from rescueops.coordination import service
from rescueops.coordination.schemas import CancelIn, DeclineIn, EquipmentLine, OfferIn, RequestIn
from rescueops.coordination.tables import OfferStatus, RequestStatus, StepKind, Urgency
from rescueops.db.pagination import PageParams
from rescueops.deployments.schemas import INCIDENT_KIND_LABELS
from rescueops.deployments.tables import DeploymentStatus
from rescueops.drills.pages import parse_local, to_input
from rescueops.equipment import service as equipment
from rescueops.orgs import service as orgs
from rescueops.orgs.tables import OrgKind
from rescueops.teams import service as teams
from rescueops.web.i18n import gettext as _
from rescueops.web.i18n import pick
from rescueops.web.pages import page, submit

EQUIPMENT_ROWS = 3  # equipment lines the request form offers


def labels() -> dict[str, dict[str, str]]:
    return {
        "status": {RequestStatus.open.value: _("open for offers"), RequestStatus.fulfilled.value: _("fulfilled"),
                   RequestStatus.cancelled.value: _("cancelled"), RequestStatus.expired.value: _("expired")},
        "state": {"no_answer": _("no answer yet"), "ranked": _("ranking ready"), "offered": _("offered"), "declined": _("declined")},
        "offer": {OfferStatus.offered.value: _("offered"), OfferStatus.accepted.value: _("accepted"), OfferStatus.void.value: _("void")},
        "urgency": {Urgency.immediate.value: _("immediate"), Urgency.within_24h.value: _("within 24 hours"),
                    Urgency.planned.value: _("planned ahead")},
        "step": {StepKind.raised.value: _("raised"), StepKind.ranked.value: _("candidates ranked"), StepKind.offered.value: _("offered"),
                 StepKind.declined.value: _("declined"), StepKind.accepted.value: _("offer accepted"),
                 StepKind.fulfilled.value: _("fulfilled"), StepKind.cancelled.value: _("cancelled"), StepKind.expired.value: _("expired")},
        "deployment": {DeploymentStatus.alerted.value: _("alerted"), DeploymentStatus.mobilising.value: _("mobilising"),
                       DeploymentStatus.on_scene.value: _("on scene"), DeploymentStatus.demobilising.value: _("demobilising"),
                       DeploymentStatus.closed.value: _("closed")},
        "kind": {kind.value: pick(zh, en) for kind, (zh, en) in INCIDENT_KIND_LABELS.items()},
    }


def _hub_names(hubs) -> dict[str, str]:
    return {hub.code: pick(hub.name_zh, hub.name_en) for hub in hubs}


@dataclass
class RequestForm:
    requester: str = ""  # "hub:<code>" or "unit:<code>"
    category: str = ""
    min_level: str = ""
    people_needed: str = ""
    equipment_type: list[str] = field(default_factory=list)
    equipment_quantity: list[str] = field(default_factory=list)
    incident_kind: str = "other"
    place: str = ""
    unit_code: str = ""
    lat: str = ""
    lon: str = ""
    window_from: str = ""
    window_until: str = ""
    urgency: str = "immediate"
    notes: str = ""


@dataclass
class OfferForm:
    team_code: str = ""
    hub_code: str = ""
    people: str = ""
    eta: str = ""
    note: str = ""
    equipment_type: list[str] = field(default_factory=list)
    equipment_quantity: list[str] = field(default_factory=list)


@dataclass
class DeclineForm:
    hub_code: str = ""
    reason: str = ""


@dataclass
class CancelForm:
    reason: str = ""


def _as_list(value: list[str] | str | None) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _lines(types: list[str] | str | None, quantities: list[str] | str | None) -> list[EquipmentLine | dict]:
    """Filled equipment rows; a quantity that is not a number goes on as typed, for the schema to refuse."""
    lines = []
    for code, quantity in zip(_as_list(types), _as_list(quantities), strict=False):
        if code.strip() and quantity.strip():
            lines.append({"type": code.strip(), "quantity": quantity.strip()})
    return lines


def _requester_choices(principal) -> list[tuple[str, str]]:
    """Whom the caller may ask for: their hubs, their leagues, the region."""
    return [(f"hub:{g.hub_code}", g.hub_code) for g in principal.grants if g.hub_code and "assistance.request" in ROLE_ACTIONS[g.role]] + [
        (f"unit:{g.unit_code}", g.unit_code) for g in principal.grants if g.unit_code and "assistance.request" in ROLE_ACTIONS[g.role]]


async def new_page(request: Request, form: RequestForm | None = None, error: str | None = None, status_code: int = 200) -> Template:
    now = utc_now().astimezone(CHINA)
    form = form or RequestForm(window_from=to_input(now), window_until=to_input(now + timedelta(hours=24)))
    hubs = {hub.code: pick(hub.name_zh, hub.name_en) for hub in await orgs.list_hubs()}
    units = await orgs.units_by_code([code for kind, code in (c.split(":", 1) for c, _ in _requester_choices(request.user)) if kind == "unit"])
    choices = [(value, hubs.get(code, code) if value.startswith("hub:") else pick(units[code].name_zh, units[code].name_en) if code in units
                else code) for value, code in _requester_choices(request.user)]
    places = [u for u in (await orgs.list_units(PageParams(limit=200), kind=OrgKind.league))[0]]
    places += (await orgs.list_units(PageParams(limit=200), kind=OrgKind.county))[0]
    return page(request, "coordination/new.html", status_code=status_code, nav="coordination", form=form, error=error, choices=choices,
                categories=await teams.list_categories(), types=await equipment.list_types(), places=places, labels=labels(), pick=pick,
                rows=max(EQUIPMENT_ROWS, len(_as_list(form.equipment_type))))


async def request_page(request: Request, request_id: int, error: str | None = None, status_code: int = 200) -> Template:
    found = await service.get_request(request.user, request_id)
    hubs = await orgs.list_hubs()
    powers = await service.powers(request.user, found)
    return page(request, "coordination/request.html", status_code=status_code, nav="coordination", req=found, error=error,
                responses=await service.responses(request.user, request_id), history=await service.history(request.user, request_id),
                powers=powers, hub_names=_hub_names(hubs), labels=labels(), pick=pick,
                type_names={t.code: pick(t.name_zh, t.name_en) for t in await equipment.list_types()},
                eta_default=to_input(utc_now().astimezone(CHINA) + timedelta(hours=6)))


async def _board_context(request: Request) -> dict:
    return {"board": await service.board(request.user), "hub_names": _hub_names(await orgs.list_hubs()), "labels": labels(), "pick": pick,
            "may_raise": bool(_requester_choices(request.user))}


class CoordinationPages(Controller):
    include_in_schema = False
    guards = [requires("assistance.view")]

    @get("/coordination")
    async def home(self) -> Redirect:
        return Redirect("/coordination/board")

    @get("/coordination/board")
    async def board(self, request: Request) -> Template:
        return page(request, "coordination/board.html", nav="coordination", **await _board_context(request))

    @get("/coordination/board/fragment")
    async def board_fragment(self, request: Request) -> Template:
        """What the board polls: the rows only, without the layout."""
        return page(request, "coordination/_board.html", **await _board_context(request))

    @get("/coordination/requests/new", guards=[requires("assistance.request")])
    async def new(self, request: Request) -> Template:
        return await new_page(request)

    @post("/coordination/requests", guards=[requires("assistance.request")])
    async def raise_request(self, request: Request, data: URLEncodedBody[RequestForm]) -> Template | Redirect:
        kind, _sep, code = data.requester.partition(":")
        values = {
            "requester_hub_code": code if kind == "hub" else None, "requester_unit_code": code if kind == "unit" else None,
            "category": data.category, "min_level": data.min_level or None, "people_needed": data.people_needed or None,
            "equipment": _lines(data.equipment_type, data.equipment_quantity), "incident_kind": data.incident_kind or "other",
            "place": data.place, "unit_code": data.unit_code.strip(), "lat": data.lat.strip() or None, "lon": data.lon.strip() or None,
            "window_from": parse_local(data.window_from), "window_until": parse_local(data.window_until), "urgency": data.urgency,
            "notes": data.notes,
        }
        return await submit(lambda: service.raise_request(request.user, RequestIn.model_validate(values)),
                            done=lambda created: f"/coordination/requests/{created.id}",
                            again=lambda message, status: new_page(request, data, message, status))

    @get("/coordination/requests/{request_id:int}")
    async def detail(self, request: Request, request_id: FromPath[int]) -> Template:
        return await request_page(request, request_id)

    @post("/coordination/requests/{request_id:int}/offers", guards=[requires("assistance.offer")])
    async def offer(self, request: Request, request_id: FromPath[int], data: URLEncodedBody[OfferForm]) -> Template | Redirect:
        values = {"team_code": data.team_code, "hub_code": data.hub_code or None, "people": data.people or None,
                  "eta": parse_local(data.eta), "note": data.note, "equipment": _lines(data.equipment_type, data.equipment_quantity)}
        return await submit(lambda: service.make_offer(request.user, request_id, OfferIn.model_validate(values)),
                            done=f"/coordination/requests/{request_id}",
                            again=lambda message, status: request_page(request, request_id, message, status))

    @post("/coordination/requests/{request_id:int}/decline", guards=[requires("assistance.offer")])
    async def decline(self, request: Request, request_id: FromPath[int], data: URLEncodedBody[DeclineForm]) -> Template | Redirect:
        return await submit(lambda: service.decline(request.user, request_id, DeclineIn(hub_code=data.hub_code or None, reason=data.reason)),
                            done=f"/coordination/requests/{request_id}",
                            again=lambda message, status: request_page(request, request_id, message, status))

    @post("/coordination/requests/{request_id:int}/offers/{offer_id:int}/accept", guards=[requires("assistance.request")])
    async def accept(self, request: Request, request_id: FromPath[int], offer_id: FromPath[int]) -> Template | Redirect:
        return await submit(lambda: service.accept(request.user, offer_id), done=f"/coordination/requests/{request_id}",
                            again=lambda message, status: request_page(request, request_id, message, status))

    @post("/coordination/requests/{request_id:int}/cancel", guards=[requires("assistance.request")])
    async def cancel(self, request: Request, request_id: FromPath[int], data: URLEncodedBody[CancelForm]) -> Template | Redirect:
        return await submit(lambda: service.cancel(request.user, request_id, CancelIn(reason=data.reason)),
                            done=f"/coordination/requests/{request_id}",
                            again=lambda message, status: request_page(request, request_id, message, status))
