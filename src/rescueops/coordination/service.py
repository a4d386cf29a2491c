"""Cross-region assistance: a league, a hub or the region asks for help; every other hub ranks its teams when its
coordination queue delivers the request; hubs offer teams or decline; the requester accepts offers, which become
deployments; requests are cancelled or expire. Every step is a history row, an audit row and an event.

Races are settled by the database: an offer is accepted by ``UPDATE … WHERE status = 'offered' RETURNING`` (of two
accepts one wins), every accept first touches its request row (concurrent accepts of one request queue on its lock,
so the incident is opened once), and cancellation and expiry move the request on only ``WHERE status = 'open'``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from rescueops.accounts import service as accounts
from rescueops.accounts.access import ROLE_ACTIONS, ROOT_PATH, Principal, can
from rescueops.accounts.tables import Role
from rescueops.calendar import in_china, utc_now
from rescueops.coordination import ranking
from rescueops.coordination.schemas import (
    AssistanceAccepted,
    AssistanceClosed,
    AssistanceDeclined,
    AssistanceOffered,
    AssistanceRequested,
    BoardDeployment,
    BoardOut,
    BoardRow,
    CancelIn,
    CandidateOut,
    DeclineIn,
    EquipmentLine,
    HubResponseOut,
    OfferIn,
    OfferOut,
    ReasonOut,
    RequestIn,
    RequestOut,
    StepOut,
)
from rescueops.coordination.tables import (
    AssistanceRequest,
    Candidate,
    HubResponse,
    Offer,
    OfferStatus,
    RequesterKind,
    RequestStatus,
    Step,
    StepKind,
)
from rescueops.db import write_transaction
from rescueops.db.paths import is_under
from rescueops.deployments import service as deployments
from rescueops.deployments.schemas import DispatchIn, IncidentIn
from rescueops.equipment import service as equipment
from rescueops.errors import Conflict, InvalidInput, NotFound, PermissionDenied, field_error
from rescueops.events import service as events
from rescueops.events.bus import handles
from rescueops.events.schemas import EventOut
from rescueops.members import service as members
from rescueops.orgs import service as orgs
from rescueops.orgs.schemas import HubOut
from rescueops.orgs.tables import OrgKind
from rescueops.teams import service as teams
from rescueops.teams.schemas import TeamOut

SYSTEM_NAME = "系统"
BOARD_KEEPS = timedelta(hours=48)  # closed requests stay on the board this long, with their deployments


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _actor(principal: Principal | None) -> tuple[int | None, str]:
    return (principal.user_id, principal.display_name) if principal else (None, SYSTEM_NAME)


def _region_root(path: str) -> str:
    return "/" + path.strip("/").split("/")[0] + "/"


# --- reference look-ups ----------------------------------------------------------------------


@dataclass(frozen=True)
class HubPlace:
    hub: HubOut
    path: str  # the hub city's org path: events and messages about the hub are routed from there


async def _hubs() -> dict[str, HubPlace]:
    hubs = await orgs.list_hubs()
    cities = await orgs.units_by_code([hub.hub_city.code for hub in hubs])
    return {hub.code: HubPlace(hub, cities[hub.hub_city.code].path) for hub in hubs}


async def _type_names() -> dict[str, tuple[str, str]]:
    return {t.code: (t.name_zh, t.name_en) for t in await equipment.list_types()}


async def _check_equipment(lines: list[EquipmentLine], field: str) -> None:
    names = await _type_names()
    unknown = [line.type for line in lines if line.type not in names]
    if unknown:
        raise field_error(field, f"unknown equipment type: {', '.join(unknown)}")


def _hubs_for(principal: Principal, action: str, hub_codes: list[str] | set[str]) -> set[str]:
    """The hubs the caller acts for: hubs they hold a role over with ``action``; every hub for whoever holds it region-wide."""
    held = {g.hub_code for g in principal.grants if g.hub_code and action in ROLE_ACTIONS[g.role]}
    if can(principal, action, ROOT_PATH):
        held |= set(hub_codes)
    return held & set(hub_codes)


# --- requesters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Requester:
    kind: RequesterKind
    code: str
    path: str
    name_zh: str
    name_en: str


def _acts_for_requester(principal: Principal, kind: str, code: str, path: str) -> bool:
    """A hub's coordinators act for the hub; a league's supervisors for the league; the region's coordinators for anyone."""
    if kind == RequesterKind.hub.value:
        return (code in {g.hub_code for g in principal.grants if g.hub_code and "assistance.request" in ROLE_ACTIONS[g.role]}
                or can(principal, "assistance.request", _region_root(path)))
    return can(principal, "assistance.request", path)


async def _requester(principal: Principal, data: RequestIn, hubs: dict[str, HubPlace]) -> Requester:
    hub_code, unit_code = data.requester_hub_code, data.requester_unit_code
    if not hub_code and not unit_code:
        # One requester the caller may act as: their hub, their league, or the region.
        choices = [("hub", g.hub_code) for g in principal.grants if g.hub_code and "assistance.request" in ROLE_ACTIONS[g.role]]
        choices += [("unit", g.unit_code) for g in principal.grants if g.unit_code and "assistance.request" in ROLE_ACTIONS[g.role]]
        choices = list(dict.fromkeys(choices))
        if not choices:
            raise PermissionDenied("Only a league, a hub or the region may ask for assistance.", code="forbidden")
        if len(choices) > 1:
            raise field_error("requester_hub_code", "you act for several requesters: say which (requester_hub_code or requester_unit_code)")
        kind, code = choices[0]
        hub_code, unit_code = (code, None) if kind == "hub" else (None, code)
    if hub_code:
        if hub_code not in hubs:
            raise field_error("requester_hub_code", f"no regional hub '{hub_code}'")
        place = hubs[hub_code]
        requester = Requester(RequesterKind.hub, hub_code, place.path, place.hub.name_zh, place.hub.name_en)
    else:
        try:
            unit = await orgs.get_unit(unit_code)
        except NotFound:
            raise field_error("requester_unit_code", f"no organisation unit '{unit_code}'") from None
        kinds = {OrgKind.league: RequesterKind.league, OrgKind.region: RequesterKind.region}
        if unit.kind not in kinds:
            raise field_error("requester_unit_code", "assistance is asked for by a league/city, a hub or the region")
        requester = Requester(kinds[unit.kind], unit.code, unit.path, unit.name_zh, unit.name_en)
    if not _acts_for_requester(principal, requester.kind.value, requester.code, requester.path):
        raise PermissionDenied(f"You may not ask for assistance on behalf of {requester.name_en or requester.code}.", code="forbidden")
    return requester


async def _requester_names(rows: list[dict[str, Any]], hubs: dict[str, HubPlace]) -> dict[tuple[str, str], tuple[str, str]]:
    units = await orgs.units_by_code([r["requester_code"] for r in rows if r["requester_kind"] != RequesterKind.hub.value])
    names = {}
    for row in rows:
        key = (row["requester_kind"], row["requester_code"])
        if row["requester_kind"] == RequesterKind.hub.value and row["requester_code"] in hubs:
            names[key] = (hubs[row["requester_code"]].hub.name_zh, hubs[row["requester_code"]].hub.name_en)
        elif row["requester_code"] in units:
            names[key] = (units[row["requester_code"]].name_zh, units[row["requester_code"]].name_en)
        else:
            names[key] = (row["requester_code"], row["requester_code"])
    return names


# --- requests: reading -----------------------------------------------------------------------

_REQUEST_COLUMNS = (AssistanceRequest.all_columns(), *orgs.unit_ref_columns(AssistanceRequest.unit, "unit"))


async def _request_row(request_id: int) -> dict[str, Any]:
    row = await AssistanceRequest.select(*_REQUEST_COLUMNS).where(AssistanceRequest.id == request_id).first()
    if row is None:
        raise NotFound(f"No assistance request #{request_id}.")
    return row


def _may_view(principal: Principal, row: dict[str, Any]) -> bool:
    """Hub coordinators receive every request; others see those of their area or raised on their behalf."""
    return (any(g.hub_code and "assistance.view" in ROLE_ACTIONS[g.role] for g in principal.grants)
            or can(principal, "assistance.view", row["unit_path"]) or can(principal, "assistance.view", row["requester_path"])
            or _acts_for_requester(principal, row["requester_kind"], row["requester_code"], row["requester_path"]))


async def _visible_row(principal: Principal, request_id: int) -> dict[str, Any]:
    row = await _request_row(request_id)
    if not _may_view(principal, row):
        raise NotFound(f"No assistance request #{request_id}, or it is outside your scope.")
    return row


async def _request_outs(rows: list[dict[str, Any]], hubs: dict[str, HubPlace] | None = None) -> list[RequestOut]:
    if not rows:
        return []
    hubs = hubs or await _hubs()
    names = await _requester_names(rows, hubs)
    categories = {c.code: c for c in await teams.list_categories()}
    accepted: dict[int, int] = {}
    for offer in await Offer.select(Offer.request, Offer.people).where(
            Offer.request.is_in([r["id"] for r in rows]) & (Offer.status == OfferStatus.accepted.value)):
        accepted[offer["request"]] = accepted.get(offer["request"], 0) + offer["people"]
    outs = []
    for row in rows:
        category = categories.get(row["category"])
        name_zh, name_en = names[(row["requester_kind"], row["requester_code"])]
        outs.append(RequestOut(
            id=row["id"], requester_kind=row["requester_kind"], requester_code=row["requester_code"], requester_name_zh=name_zh,
            requester_name_en=name_en, source_region=row["source_region"], category=row["category"],
            category_name_zh=category.name_zh if category else row["category"], category_name_en=category.name_en if category else row["category"],
            min_level=row["min_level"], people_needed=row["people_needed"], people_accepted=accepted.get(row["id"], 0),
            equipment=_json(row["equipment"]), incident_kind=row["incident_kind"], place=row["place"], unit=orgs.unit_ref(row, "unit"),
            lat=row["lat"], lon=row["lon"], window_from=row["window_from"], window_until=row["window_until"], urgency=row["urgency"],
            notes=row["notes"], status=row["status"], incident_id=row["incident_id"], raised_by_name=row["raised_by_name"],
            raised_at=row["raised_at"], closed_at=row["closed_at"], close_reason=row["close_reason"],
        ))
    return outs


async def get_request(principal: Principal, request_id: int) -> RequestOut:
    return (await _request_outs([await _visible_row(principal, request_id)]))[0]


async def list_requests(principal: Principal, *, status: RequestStatus | None = None) -> list[RequestOut]:
    """Requests the caller may see, newest first."""
    query = AssistanceRequest.select(*_REQUEST_COLUMNS).order_by(AssistanceRequest.id, ascending=False)
    if status is not None:
        query = query.where(AssistanceRequest.status == status.value)
    return await _request_outs([row for row in await query if _may_view(principal, row)])


# --- raising a request -----------------------------------------------------------------------


async def raise_request(principal: Principal, data: RequestIn) -> RequestOut:
    """Ask every other hub for help. Refused, with nothing written, for a category no team anywhere has."""
    hubs = await _hubs()
    requester = await _requester(principal, data, hubs)
    try:
        unit = await orgs.get_unit(data.unit_code)
    except NotFound:
        raise field_error("unit_code", f"no organisation unit '{data.unit_code}'") from None
    area = (await orgs.hub_paths()).get(requester.code, ()) if requester.kind is RequesterKind.hub else (requester.path,)
    if not any(is_under(unit.path, scope) for scope in area):
        raise PermissionDenied(f"{unit.name_en} lies outside the area of {requester.name_en}: ask for help for places you answer for.",
                               code="forbidden")
    category = {c.code: c for c in await teams.list_categories()}.get(data.category)
    if category is None:
        raise field_error("category", f"unknown team category '{data.category}'")
    if data.min_level is not None and not category.graded:
        raise field_error("min_level", f"{category.name_en} teams are not graded: leave the level empty")
    if not await teams.count_with_category(category.code):
        raise InvalidInput(
            f"No team anywhere has the category {category.name_zh} ({category.name_en}), as its primary category or as a "
            "specialty: no hub could answer. Ask for another category.",
            code="category_unavailable", details=[{"field": "category", "message": "no team has this category"}])
    await _check_equipment(data.equipment, "equipment")
    source_region = await orgs.region_of(requester.path)
    user_id, name = _actor(principal)
    now = utc_now()
    async with write_transaction():
        request_id = (await AssistanceRequest.insert(AssistanceRequest(
            requester_kind=requester.kind.value, requester_code=requester.code, requester_path=requester.path, source_region=source_region,
            category=category.code, min_level=data.min_level, people_needed=data.people_needed,
            equipment=json.dumps([line.model_dump() for line in data.equipment]), incident_kind=data.incident_kind.value, place=data.place,
            unit=await orgs.unit_id(unit.code), unit_path=unit.path, lat=data.lat, lon=data.lon, window_from=data.window_from,
            window_until=data.window_until, urgency=data.urgency.value, notes=data.notes, status=RequestStatus.open.value,
            raised_by=user_id, raised_by_name=name, raised_at=now, touched_at=now,
        )).returning(AssistanceRequest.id))[0]["id"]
        await Step.insert(Step(request=request_id, kind=StepKind.raised.value, hub_code=requester.code if requester.kind is RequesterKind.hub else "",
                               by_user=user_id, by_name=name, at=now, note=f"{requester.name_zh}：{data.place}"))
        await accounts.record_audit(principal, "coordination.request.raise", "assistance_request", str(request_id), requester.path,
                                    data.model_dump(mode="json"))
        await events.emit(principal, "assistance.requested", AssistanceRequested(
            request_id=request_id, requester_kind=requester.kind, requester_code=requester.code, category=category.code,
            min_level=data.min_level, people_needed=data.people_needed, equipment=data.equipment, place=data.place, unit_code=unit.code,
            lat=data.lat, lon=data.lon, window_from=data.window_from, window_until=data.window_until, urgency=data.urgency,
            notes=data.notes), org_path=requester.path, aggregate_id=str(request_id))
    return await get_request(principal, request_id)


# --- ranking (each hub, on its coordination queue) ----------------------------------------------


def _assessed_on(row: dict[str, Any]) -> date:
    """The day candidates are judged for: the window's first day (Beijing time), or today once it has begun."""
    return max(in_china(row["window_from"]).date(), in_china(utc_now()).date())


async def _facts(row: dict[str, Any], team_list: list[TeamOut]) -> tuple[ranking.Need, list[ranking.TeamFacts]]:
    on = _assessed_on(row)
    lines = [EquipmentLine.model_validate(line) for line in _json(row["equipment"])]
    category = {c.code: c for c in await teams.list_categories()}.get(row["category"])
    lat, lon = row["lat"], row["lon"]
    if lat is None or lon is None:
        place = (await orgs.units_by_code([row["unit_code"]])).get(row["unit_code"])
        lat, lon = (place.lat, place.lon) if place else (None, None)
    need = ranking.Need(category=row["category"], category_zh=category.name_zh if category else row["category"],
                        category_en=category.name_en if category else row["category"], min_level=row["min_level"],
                        people=row["people_needed"], equipment=tuple((line.type, line.quantity) for line in lines), lat=lat, lon=lon)
    codes = [team.code for team in team_list]
    rosters = await members.first_aid_of_active(codes, on)
    deployed = await deployments.deployed_people([person for roster in rosters.values() for person in roster])
    ready = await equipment.ready_counts(codes, [line.type for line in lines], on)
    units = await orgs.units_by_code([team.unit.code for team in team_list])
    facts = []
    for team in team_list:
        grades = [g for g in team.grades if g.category == row["category"] and g.assessed_on <= on
                  and (g.valid_until is None or g.valid_until >= on)]
        best = min(grades, key=lambda g: (g.level, -(g.valid_until or date.max).toordinal()), default=None)
        roster = rosters.get(team.code, {})
        unit = units.get(team.unit.code)
        located = "team" if team.lat is not None and team.lon is not None else "unit" if unit and unit.lat is not None else None
        facts.append(ranking.TeamFacts(
            code=team.code, name_zh=team.name_zh, name_en=team.name_en, status=team.status.value,
            primary=team.primary_category.code == row["category"], specialty=any(s.code == row["category"] for s in team.specialties),
            level=best.level if best else None, level_valid_until=best.valid_until.isoformat() if best and best.valid_until else None,
            active=len(roster), deployed=sum(1 for person in roster if person in deployed),
            uncertified=sum(1 for person, certified in roster.items() if person not in deployed and not certified),
            available=sum(1 for person, certified in roster.items() if person not in deployed and certified),
            equipment=ready.get(team.code, {}),
            lat=team.lat if located == "team" else unit.lat if located == "unit" else None,
            lon=team.lon if located == "team" else unit.lon if located == "unit" else None, located_by=located,
        ))
    return need, facts


async def rank_for_hub(request_id: int, hub_code: str) -> bool:
    """Rank the hub's teams for a request once, and tell the hub's coordinators; False when there is nothing to do
    (the hub's own request, a closed one, or one ranked already: a redelivered event changes nothing)."""
    row = await AssistanceRequest.select(*_REQUEST_COLUMNS).where(AssistanceRequest.id == request_id).first()
    hubs = await _hubs()
    if row is None or hub_code not in hubs or hub_code == row["source_region"] or row["status"] != RequestStatus.open.value:
        return False
    coverage = (await orgs.hub_paths()).get(hub_code, ())
    need, facts = await _facts(row, await teams.teams_within(coverage))
    ranked = ranking.rank(need, facts, await _type_names())
    team_ids = await teams.team_ids([a.team.code for a in ranked])
    now = utc_now()
    async with write_transaction():
        await HubResponse.insert(HubResponse(request=request_id, hub_code=hub_code)).on_conflict(action="DO NOTHING")
        won = await HubResponse.update({HubResponse.ranked_at: now}).where(
            (HubResponse.request == request_id) & (HubResponse.hub_code == hub_code) & HubResponse.ranked_at.is_null()
        ).returning(HubResponse.id)
        if not won:
            return False
        if ranked:
            await Candidate.insert(*[Candidate(
                response=won[0]["id"], team=team_ids[a.team.code], position=position, eligible=a.eligible, score=a.score,
                distance_km=a.distance_km, available=a.team.available,
                reasons=json.dumps([r.as_dict() for r in a.reasons], ensure_ascii=False),
            ) for position, a in enumerate(ranked, start=1)])
        eligible = sum(1 for a in ranked if a.eligible)
        await Step.insert(Step(request=request_id, kind=StepKind.ranked.value, hub_code=hub_code, by_name=SYSTEM_NAME, at=now,
                               note=f"{eligible} / {len(ranked)}"))
        hub = hubs[hub_code]
        await events.notify(
            await accounts.users_holding({Role.hub_coordinator}, hub_codes=[hub_code]), kind="assistance.requested",
            title=f"跨区域支援请求 #{request_id}：{need.category_zh} {row['people_needed']} 人（{row['place']}）",
            body=f"{hub.hub.name_zh}有 {eligible} 支队伍符合条件（共 {len(ranked)} 支），请提议派出或说明不能支援的原因。",
            link=f"/coordination/requests/{request_id}", key=f"assistance:{request_id}:ranked:{hub_code}", org_path=hub.path)
    return True


@handles("coordination", "assistance.requested")
async def on_assistance_requested(event: EventOut, region: str) -> None:
    """Every other hub ranks its candidates when its coordination queue delivers a request; the requester's does not."""
    payload = AssistanceRequested.model_validate(event.payload)
    if region != event.source_region:
        await rank_for_hub(payload.request_id, region)


def _candidate_out(row: dict[str, Any]) -> CandidateOut:
    return CandidateOut(position=row["position"], team_code=row["team_code"], team_name_zh=row["team_name_zh"],
                        team_name_en=row["team_name_en"], eligible=row["eligible"], score=row["score"],
                        distance_km=row["distance_km"], available=row["available"],
                        reasons=[ReasonOut.model_validate(r) for r in _json(row["reasons"])])


# --- offers, declines, acceptance, cancellation ---------------------------------------------------

_OFFER_COLUMNS = (Offer.all_columns(), Offer.team.code.as_alias("team_code"), Offer.team.name_zh.as_alias("team_name_zh"))


def _offer_out(row: dict[str, Any]) -> OfferOut:
    return OfferOut(id=row["id"], request_id=row["request"], hub_code=row["hub_code"], team_code=row["team_code"],
                    team_name_zh=row["team_name_zh"], people=row["people"], equipment=_json(row["equipment"]), eta=row["eta"],
                    note=row["note"], status=row["status"], offered_by_name=row["offered_by_name"], offered_at=row["offered_at"],
                    decided_by_name=row["decided_by_name"], decided_at=row["decided_at"], deployment_id=row["deployment_id"])


def _require_open(row: dict[str, Any]) -> None:
    if row["status"] != RequestStatus.open.value:
        raise Conflict(f"Assistance request #{row['id']} is {row['status']}: it takes no more offers, declines or acceptances.",
                       code="request_closed")


def _acting_hub(principal: Principal, row: dict[str, Any], hub_paths: dict[str, tuple[str, ...]], given: str | None,
                team_path: str | None = None) -> str:
    """The hub the caller answers for: named, or the one of theirs that was asked (and covers the team)."""
    held = _hubs_for(principal, "assistance.offer", set(hub_paths))

    def covers(hub: str) -> bool:
        return team_path is None or any(is_under(team_path, p) for p in hub_paths.get(hub, ()))

    if given is not None:
        if given not in hub_paths:
            raise field_error("hub_code", f"no regional hub '{given}'")
        if given not in held:
            raise PermissionDenied(f"You do not answer for the {given} hub.", code="forbidden")
        chosen = {given}
    else:
        chosen = held
    if chosen and chosen <= {row["source_region"]}:
        raise InvalidInput(f"The request comes from the {row['source_region']} region: only the other hubs are asked.", code="not_asked")
    chosen = {hub for hub in chosen if hub != row["source_region"] and covers(hub)}
    if not chosen:
        raise PermissionDenied("That team is not in the coverage of a hub you answer for." if team_path else
                               "Only a hub coordinator answers for a hub.", code="forbidden")
    if len(chosen) > 1:
        raise field_error("hub_code", f"you answer for several hubs ({', '.join(sorted(chosen))}): say which")
    return chosen.pop()


async def _tell_requester(row: dict[str, Any], *, kind: str, title: str, body: str, key: str) -> None:
    users = [row["raised_by"]] if row["raised_by"] else []
    if row["requester_kind"] == RequesterKind.hub.value:
        users += await accounts.users_holding({Role.hub_coordinator}, hub_codes=[row["requester_code"]])
    elif row["requester_kind"] == RequesterKind.league.value:
        users += await accounts.users_holding({Role.league_supervisor}, unit_ids=[await orgs.unit_id(row["requester_code"])])
    await events.notify(users, kind=kind, title=title, body=body, link=f"/coordination/requests/{row['id']}", key=key,
                        org_path=row["requester_path"])


async def _assess_team(row: dict[str, Any], team: TeamOut) -> ranking.Assessment:
    need, facts = await _facts(row, [team])
    return ranking.assess(need, facts[0], await _type_names())


async def make_offer(principal: Principal, request_id: int, data: OfferIn) -> OfferOut:
    """A hub offers one of its teams: it must be eligible, have the people and the equipment offered."""
    row = await _visible_row(principal, request_id)
    _require_open(row)
    try:
        team = await teams.get_team(None, data.team_code)
    except NotFound:
        raise field_error("team_code", f"no team '{data.team_code}'") from None
    hub_paths = await orgs.hub_paths()
    hub_code = _acting_hub(principal, row, hub_paths, data.hub_code, team.path)
    if not can(principal, "assistance.offer", team.path):
        raise PermissionDenied(f"You may not offer team {team.code}.", code="forbidden")
    await _check_equipment(data.equipment, "equipment")
    assessment = await _assess_team(row, team)
    if not assessment.eligible:
        failed = "; ".join(r.en for r in assessment.reasons if r.level == "fail")
        raise InvalidInput(f"Team {team.code} does not qualify for this request: {failed}.", code="not_eligible")
    if data.people > assessment.team.available:
        raise field_error("people", f"team {team.code} has {assessment.team.available} members available now, not {data.people}")
    short = [f"{line.type} ({assessment.team.equipment.get(line.type, 0)} ready)" for line in data.equipment
             if line.quantity > assessment.team.equipment.get(line.type, 0)]
    if short:
        raise field_error("equipment", f"team {team.code} does not have that much in service: {', '.join(short)}")
    team_id = (await teams.team_row(team.code))["id"]
    user_id, name = _actor(principal)
    now = utc_now()
    async with write_transaction():
        await HubResponse.insert(HubResponse(request=request_id, hub_code=hub_code)).on_conflict(action="DO NOTHING")
        response = await HubResponse.select(HubResponse.declined_at).where(
            (HubResponse.request == request_id) & (HubResponse.hub_code == hub_code)).first()
        if response["declined_at"] is not None:
            raise Conflict(f"The {hub_code} hub has declined this request.", code="already_declined")
        inserted = await Offer.insert(Offer(
            request=request_id, hub_code=hub_code, team=team_id, team_path=team.path, people=data.people,
            equipment=json.dumps([line.model_dump() for line in data.equipment]), eta=data.eta, note=data.note,
            status=OfferStatus.offered.value, offered_by=user_id, offered_by_name=name, offered_at=now,
        )).on_conflict(action="DO NOTHING").returning(Offer.id)
        if not inserted:
            raise Conflict(f"Team {team.code} is already offered for this request.", code="already_offered")
        offer_id = inserted[0]["id"]
        await Step.insert(Step(request=request_id, kind=StepKind.offered.value, hub_code=hub_code, offer=offer_id, by_user=user_id,
                               by_name=name, at=now, note=f"{team.name_zh}：{data.people} 人。{data.note}".strip()))
        await accounts.record_audit(principal, "coordination.offer.make", "assistance_offer", str(offer_id), team.path,
                                    {"request": request_id, "hub": hub_code, **data.model_dump(mode="json")})
        await events.emit(principal, "assistance.offered", AssistanceOffered(
            request_id=request_id, offer_id=offer_id, hub_code=hub_code, team_code=team.code, people=data.people,
            equipment=data.equipment, eta=data.eta, note=data.note), org_path=team.path, aggregate_id=str(request_id))
        await _tell_requester(row, kind="assistance.offered", key=f"assistance:{request_id}:offer:{offer_id}",
                              title=f"支援请求 #{request_id} 收到提议：{team.name_zh} {data.people} 人",
                              body=f"{hub_code} 区域骨干队提议派出{team.name_zh}，预计 {in_china(data.eta):%m-%d %H:%M} 到达。")
    return _offer_out(await Offer.select(*_OFFER_COLUMNS).where(Offer.id == offer_id).first())


async def decline(principal: Principal, request_id: int, data: DeclineIn) -> HubResponseOut:
    """A hub says it cannot help, and why."""
    row = await _visible_row(principal, request_id)
    _require_open(row)
    hub_code = _acting_hub(principal, row, await orgs.hub_paths(), data.hub_code)
    if await Offer.exists().where((Offer.request == request_id) & (Offer.hub_code == hub_code) & (Offer.status != OfferStatus.void.value)):
        raise Conflict(f"The {hub_code} hub has offered a team for this request already.", code="already_offered")
    user_id, name = _actor(principal)
    now = utc_now()
    async with write_transaction():
        await HubResponse.insert(HubResponse(request=request_id, hub_code=hub_code)).on_conflict(action="DO NOTHING")
        won = await HubResponse.update({HubResponse.declined_at: now, HubResponse.decline_reason: data.reason,
                                        HubResponse.declined_by_name: name}).where(
            (HubResponse.request == request_id) & (HubResponse.hub_code == hub_code) & HubResponse.declined_at.is_null()
        ).returning(HubResponse.id)
        if not won:
            raise Conflict(f"The {hub_code} hub has declined this request already.", code="already_declined")
        hubs = await _hubs()
        await Step.insert(Step(request=request_id, kind=StepKind.declined.value, hub_code=hub_code, by_user=user_id, by_name=name, at=now,
                               note=data.reason))
        await accounts.record_audit(principal, "coordination.request.decline", "assistance_request", str(request_id),
                                    hubs[hub_code].path, {"hub": hub_code, "reason": data.reason})
        await events.emit(principal, "assistance.declined", AssistanceDeclined(request_id=request_id, hub_code=hub_code, reason=data.reason),
                          org_path=hubs[hub_code].path, aggregate_id=str(request_id))
        await _tell_requester(row, kind="assistance.declined", key=f"assistance:{request_id}:declined:{hub_code}",
                              title=f"支援请求 #{request_id}：{hubs[hub_code].hub.name_zh}不能支援", body=data.reason)
    return (await responses(principal, request_id, hub_code))[0]


async def accept(principal: Principal, offer_id: int) -> OfferOut:
    """The requester accepts an offer: the request's incident is opened (once), the team is dispatched to it.
    Accepting the same offer twice, or an offer of a closed request, is refused and writes nothing."""
    offer = await Offer.select(*_OFFER_COLUMNS).where(Offer.id == offer_id).first()
    if offer is None:
        raise NotFound(f"No offer #{offer_id}.")
    row = await _request_row(offer["request"])
    if not _may_view(principal, row):
        raise NotFound(f"No offer #{offer_id}, or it is outside your scope.")
    if not _acts_for_requester(principal, row["requester_kind"], row["requester_code"], row["requester_path"]):
        raise PermissionDenied("Only the requester accepts offers.", code="forbidden")
    _require_open(row)
    if offer["status"] != OfferStatus.offered.value:
        raise Conflict(f"Offer #{offer_id} is {offer['status']} already.", code="offer_decided")
    requester = (await _request_outs([row]))[0]
    user_id, name = _actor(principal)
    now = utc_now()
    async with write_transaction():
        # The request row first: concurrent accepts of this request wait here, so the incident is opened once.
        locked = await AssistanceRequest.update({AssistanceRequest.touched_at: now}).where(
            (AssistanceRequest.id == row["id"]) & (AssistanceRequest.status == RequestStatus.open.value)
        ).returning(AssistanceRequest.incident_id)
        if not locked:
            raise Conflict(f"Assistance request #{row['id']} was closed a moment ago.", code="request_closed")
        won = await Offer.update({Offer.status: OfferStatus.accepted.value, Offer.decided_by_name: name, Offer.decided_at: now}).where(
            (Offer.id == offer_id) & (Offer.status == OfferStatus.offered.value)).returning(Offer.id)
        if not won:
            raise Conflict(f"Offer #{offer_id} was accepted a moment ago.", code="offer_decided")
        incident_id = locked[0]["incident_id"]
        if incident_id is None:
            incident = await deployments.open_incident(principal, IncidentIn(
                kind=row["incident_kind"], title=f"跨区域支援：{requester.category_name_zh}（{row['place']}）"[:200], place=row["place"],
                unit_code=row["unit_code"], lat=row["lat"], lon=row["lon"], requesting_authority=requester.requester_name_zh[:200],
                started_at=now, source=f"assistance:{row['id']}"))
            incident_id = incident.id
            await AssistanceRequest.update({AssistanceRequest.incident_id: incident_id}).where(AssistanceRequest.id == row["id"])
        # The offering hub consented for its team, so the dispatch is the system's, not limited to the requester's scope.
        deployment = await deployments.dispatch_team(None, incident_id, DispatchIn(
            team_code=offer["team_code"], source=f"offer:{offer_id}",
            note=f"跨区域支援请求 #{row['id']}：{name} 接受 {offer['hub_code']} 的提议 #{offer_id}"))
        await Offer.update({Offer.deployment_id: deployment.id}).where(Offer.id == offer_id)
        accepted = sum(o["people"] for o in await Offer.select(Offer.people).where(
            (Offer.request == row["id"]) & (Offer.status == OfferStatus.accepted.value)))
        fulfilled = accepted >= row["people_needed"]
        await Step.insert(Step(request=row["id"], kind=StepKind.accepted.value, hub_code=offer["hub_code"], offer=offer_id, by_user=user_id,
                               by_name=name, at=now, note=f"{offer['team_name_zh']} → 救援行动 #{deployment.id}"))
        if fulfilled:
            await _close(row, RequestStatus.fulfilled, principal, f"{accepted} / {row['people_needed']}", now)
        await accounts.record_audit(principal, "coordination.offer.accept", "assistance_offer", str(offer_id), row["requester_path"],
                                    {"request": row["id"], "incident": incident_id, "deployment": deployment.id})
        await events.emit(principal, "assistance.accepted", AssistanceAccepted(
            request_id=row["id"], offer_id=offer_id, hub_code=offer["hub_code"], team_code=offer["team_code"], incident_id=incident_id,
            deployment_id=deployment.id, fulfilled=fulfilled), org_path=row["requester_path"], aggregate_id=str(row["id"]))
        hubs = await _hubs()
        await events.notify(
            [*([offer["offered_by"]] if offer["offered_by"] else []),
             *await accounts.users_holding({Role.hub_coordinator}, hub_codes=[offer["hub_code"]])],
            kind="assistance.accepted", title=f"提议已被接受：{offer['team_name_zh']}出动（支援请求 #{row['id']}）",
            body=f"{requester.requester_name_zh}接受了提议，救援行动 #{deployment.id} 已建立，请通知队长出动并在手机上记录任务日志。",
            link=f"/deployments/{deployment.id}", key=f"assistance:{row['id']}:accepted:{offer_id}", org_path=hubs[offer["hub_code"]].path)
    return _offer_out(await Offer.select(*_OFFER_COLUMNS).where(Offer.id == offer_id).first())


async def _close(row: dict[str, Any], status: RequestStatus, principal: Principal | None, note: str, now: datetime) -> list[int]:
    """Move an open request to ``status`` (inside the caller's transaction); its pending offers become void.
    Raises Conflict when someone closed it first."""
    values: dict[Any, Any] = {AssistanceRequest.status: status.value, AssistanceRequest.closed_at: now}
    if status in (RequestStatus.cancelled, RequestStatus.expired):
        values[AssistanceRequest.close_reason] = note
    won = await AssistanceRequest.update(values).where(
        (AssistanceRequest.id == row["id"]) & (AssistanceRequest.status == RequestStatus.open.value)).returning(AssistanceRequest.id)
    if not won:
        raise Conflict(f"Assistance request #{row['id']} was closed a moment ago.", code="request_closed")
    void = await Offer.update({Offer.status: OfferStatus.void.value, Offer.decided_at: now}).where(
        (Offer.request == row["id"]) & (Offer.status == OfferStatus.offered.value)).returning(Offer.id)
    user_id, name = _actor(principal)
    kind = {RequestStatus.fulfilled: StepKind.fulfilled, RequestStatus.cancelled: StepKind.cancelled,
            RequestStatus.expired: StepKind.expired}[status]
    await Step.insert(Step(request=row["id"], kind=kind.value, by_user=user_id, by_name=name, at=now, note=note))
    return sorted(v["id"] for v in void)


async def cancel(principal: Principal, request_id: int, data: CancelIn) -> RequestOut:
    """The requester withdraws the request; offers not yet accepted become void (accepted teams stay dispatched)."""
    row = await _visible_row(principal, request_id)
    if not _acts_for_requester(principal, row["requester_kind"], row["requester_code"], row["requester_path"]):
        raise PermissionDenied("Only the requester cancels a request.", code="forbidden")
    _require_open(row)
    now = utc_now()
    async with write_transaction():
        void = await _close(row, RequestStatus.cancelled, principal, data.reason, now)
        await accounts.record_audit(principal, "coordination.request.cancel", "assistance_request", str(request_id), row["requester_path"],
                                    {"reason": data.reason, "void_offers": void})
        await events.emit(principal, "assistance.cancelled", AssistanceClosed(
            request_id=request_id, status=RequestStatus.cancelled, reason=data.reason, void_offer_ids=void),
            org_path=row["requester_path"], aggregate_id=str(request_id))
        await _tell_hubs_closed(row, "cancelled", f"支援请求 #{request_id} 已取消", data.reason)
    return await get_request(principal, request_id)


async def _tell_hubs_closed(row: dict[str, Any], kind: str, title: str, body: str) -> None:
    """The hubs that answered (ranked, offered or declined) learn that the request is closed."""
    hubs = await _hubs()
    answered = {r["hub_code"] for r in await HubResponse.select(HubResponse.hub_code).where(HubResponse.request == row["id"])}
    for hub_code in sorted(answered & set(hubs)):
        await events.notify(await accounts.users_holding({Role.hub_coordinator}, hub_codes=[hub_code]), kind=f"assistance.{kind}",
                            title=title, body=body, link=f"/coordination/requests/{row['id']}",
                            key=f"assistance:{row['id']}:{kind}:{hub_code}", org_path=hubs[hub_code].path)


async def expire_requests(now: datetime | None = None) -> str:
    """Scheduled: requests whose window has passed are closed — expired when no offer was accepted (the requester is
    told), fulfilled when some were; pending offers become void."""
    now = now or utc_now()
    rows = await AssistanceRequest.select().where(
        (AssistanceRequest.status == RequestStatus.open.value) & (AssistanceRequest.window_until < now)).order_by(AssistanceRequest.id)
    expired = fulfilled = 0
    for row in rows:
        accepted = await Offer.exists().where((Offer.request == row["id"]) & (Offer.status == OfferStatus.accepted.value))
        try:
            async with write_transaction():
                if accepted:
                    void = await _close(row, RequestStatus.fulfilled, None, "时间窗口已过", now)
                    await accounts.record_audit(None, "coordination.request.fulfilled", "assistance_request", str(row["id"]),
                                                row["requester_path"], {"void_offers": void})
                    fulfilled += 1
                    continue
                reason = f"时间窗口于 {in_china(row['window_until']):%Y-%m-%d %H:%M} 结束，没有接受任何提议"
                void = await _close(row, RequestStatus.expired, None, reason, now)
                await accounts.record_audit(None, "coordination.request.expire", "assistance_request", str(row["id"]), row["requester_path"],
                                            {"void_offers": void})
                await events.emit(None, "assistance.expired", AssistanceClosed(
                    request_id=row["id"], status=RequestStatus.expired, reason=reason, void_offer_ids=void),
                    org_path=row["requester_path"], aggregate_id=str(row["id"]))
                await _tell_requester(row, kind="assistance.expired", key=f"assistance:{row['id']}:expired",
                                      title=f"支援请求 #{row['id']} 已过期", body=reason + "。如仍需支援，请重新发起请求。")
                await _tell_hubs_closed(row, "expired", f"支援请求 #{row['id']} 已过期", reason)
                expired += 1
        except Conflict:  # closed meanwhile by its requester or another process
            continue
    return f"{expired} expired, {fulfilled} closed as fulfilled"


# --- reading responses, offers, history, the board ----------------------------------------------


def _state(response: dict[str, Any] | None, offers: list[OfferOut]) -> str:
    if response and response["declined_at"] is not None:
        return "declined"
    if offers:
        return "offered"
    if response and response["ranked_at"] is not None:
        return "ranked"
    return "no_answer"


async def _responses_of(rows: list[dict[str, Any]], hubs: dict[str, HubPlace], *, hub_code: str | None = None,
                        with_candidates: bool = True) -> dict[int, list[HubResponseOut]]:
    ids = [row["id"] for row in rows] or [-1]
    answers = {(r["request"], r["hub_code"]): r for r in await HubResponse.select().where(HubResponse.request.is_in(ids))}
    offers: dict[tuple[int, str], list[OfferOut]] = {}
    for offer in await Offer.select(*_OFFER_COLUMNS).where(Offer.request.is_in(ids)).order_by(Offer.id):
        offers.setdefault((offer["request"], offer["hub_code"]), []).append(_offer_out(offer))
    candidates: dict[int, list[CandidateOut]] = {}
    if with_candidates and answers:
        for cand in await Candidate.select(
                Candidate.all_columns(), Candidate.team.code.as_alias("team_code"), Candidate.team.name_zh.as_alias("team_name_zh"),
                Candidate.team.name_en.as_alias("team_name_en")).where(
                Candidate.response.is_in([a["id"] for a in answers.values()])).order_by(Candidate.position):
            candidates.setdefault(cand["response"], []).append(_candidate_out(cand))
    result: dict[int, list[HubResponseOut]] = {}
    for row in rows:
        outs = []
        for code, place in hubs.items():
            if code == row["source_region"] or (hub_code and code != hub_code):
                continue
            answer = answers.get((row["id"], code))
            hub_offers = offers.get((row["id"], code), [])
            outs.append(HubResponseOut(
                hub_code=code, hub_name_zh=place.hub.name_zh, hub_name_en=place.hub.name_en, state=_state(answer, hub_offers),
                ranked_at=answer["ranked_at"] if answer else None, declined_at=answer["declined_at"] if answer else None,
                decline_reason=answer["decline_reason"] if answer else "", declined_by_name=answer["declined_by_name"] if answer else "",
                offers=hub_offers, candidates=candidates.get(answer["id"], []) if answer else []))
        result[row["id"]] = outs
    return result


async def responses(principal: Principal, request_id: int, hub_code: str | None = None) -> list[HubResponseOut]:
    """Each asked hub's state, offers and ranked candidates with the reason for each rank (or one hub's)."""
    row = await _visible_row(principal, request_id)
    hubs = await _hubs()
    if hub_code is not None and hub_code not in hubs:
        raise NotFound(f"No regional hub '{hub_code}'.")
    return (await _responses_of([row], hubs, hub_code=hub_code))[row["id"]]


async def list_offers(principal: Principal, request_id: int) -> list[OfferOut]:
    await _visible_row(principal, request_id)
    return [_offer_out(r) for r in await Offer.select(*_OFFER_COLUMNS).where(Offer.request == request_id).order_by(Offer.id)]


async def history(principal: Principal, request_id: int) -> list[StepOut]:
    await _visible_row(principal, request_id)
    rows = await Step.select().where(Step.request == request_id).order_by(Step.id)
    return [StepOut(kind=r["kind"], hub_code=r["hub_code"], offer_id=r["offer"], by_name=r["by_name"], at=r["at"], note=r["note"])
            for r in rows]


async def board(principal: Principal) -> BoardOut:
    """Open requests (and those closed in the last two days), each hub's answer, the offers and the deployments they became."""
    if not any("assistance.view" in ROLE_ACTIONS[g.role] for g in principal.grants):
        raise PermissionDenied("Your roles do not allow following assistance requests.", code="forbidden")
    now = utc_now()
    rows = [row for row in await AssistanceRequest.select(*_REQUEST_COLUMNS).where(
        (AssistanceRequest.status == RequestStatus.open.value) | (AssistanceRequest.closed_at >= now - BOARD_KEEPS)
    ).order_by(AssistanceRequest.id, ascending=False) if _may_view(principal, row)]
    hubs = await _hubs()
    outs = {r.id: r for r in await _request_outs(rows, hubs)}
    answers = await _responses_of(rows, hubs, with_candidates=False)
    board_rows = []
    for row in rows:
        sent = {o.deployment_id: o for hub in answers[row["id"]] for o in hub.offers if o.deployment_id}
        found = await deployments.list_deployments(principal, incident_id=row["incident_id"]) if row["incident_id"] and sent else []
        board_rows.append(BoardRow(request=outs[row["id"]], hubs=answers[row["id"]], deployments=[
            BoardDeployment(offer_id=sent[d.id].id, deployment_id=d.id, team_code=d.team_code, team_name=d.team_name, status=d.status,
                            people=d.people, started_at=d.started_at) for d in found if d.id in sent]))
    return BoardOut(generated_at=now, rows=board_rows)


@dataclass(frozen=True)
class Powers:
    """What the caller may do on a request's page."""

    requester: bool  # accept offers, cancel
    hubs: tuple[str, ...]  # hubs the caller answers for on this request (offer, decline)


async def powers(principal: Principal, request: RequestOut) -> Powers:
    row = await _request_row(request.id)
    held = _hubs_for(principal, "assistance.offer", set(await orgs.hub_paths()))
    return Powers(requester=_acts_for_requester(principal, row["requester_kind"], row["requester_code"], row["requester_path"]),
                  hubs=tuple(sorted(held - {row["source_region"]})))
