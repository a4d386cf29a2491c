"""Deployments: incidents, teams dispatched to them with members and equipment, the status, the captain's log,
closing with equipment settled and hours credited, and the report's data.

Every function takes ``principal=None`` for the system acting on its own (an accepted assistance offer, the demo):
then nothing is authorised here, because the caller already did. All writes use ``write_transaction()``, which
joins a caller's transaction, so a dispatch made while accepting an offer commits or rolls back with it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from rescueops.accounts import service as accounts
from rescueops.accounts.access import Grant, Principal, can, can_anywhere, scopes_for
from rescueops.accounts.tables import Role
from rescueops.calendar import china_time, in_china, quarter_hours, utc_now
from rescueops.db import write_transaction
from rescueops.db.paths import within
from rescueops.db.statements import Statement
from rescueops.deployments.schemas import (
    COUNTED,
    INCIDENT_KIND_LABELS,
    SEVERITY_LABELS,
    CloseIn,
    DeployedItemOut,
    DeployedMemberOut,
    DeploymentDetail,
    DeploymentEvent,
    DeploymentOut,
    DeploymentReport,
    DispatchIn,
    EquipmentIn,
    IncidentIn,
    IncidentOut,
    Label,
    LogEntryIn,
    LogEntryOut,
    MembersIn,
    ReleaseIn,
    ReturnIn,
    TransitionIn,
    TransitionOut,
    VoidIn,
)
from rescueops.deployments.tables import (
    DeployedItem,
    DeployedMember,
    Deployment,
    DeploymentStatus,
    Incident,
    IncidentKind,
    LogEntry,
    Severity,
    Transition,
)
from rescueops.equipment import service as equipment
from rescueops.equipment.schemas import CheckinIn, CheckoutIn
from rescueops.equipment.tables import CheckoutKind, ReturnCondition
from rescueops.errors import Conflict, InvalidInput, NotFound, PermissionDenied, field_error
from rescueops.events import service as events
from rescueops.members import service as members
from rescueops.members.tables import HoursSource
from rescueops.orgs import service as orgs
from rescueops.teams import service as teams
from rescueops.teams.tables import TeamStatus

# Phones' clocks run a little ahead of the server's: a time this far in the future is still "now".
CLOCK_SKEW = timedelta(minutes=5)
ORDER = list(DeploymentStatus)  # alerted → mobilising → on_scene → demobilising → closed
OPEN = [s.value for s in ORDER if s is not DeploymentStatus.closed]
UNDISPATCHABLE = (TeamStatus.suspended.value, TeamStatus.exited.value)  # team statuses that send no one

# Items go out and come back under the caller's own equipment rights. A system dispatch (principal None: an
# accepted offer, already authorised by coordination) acts as logistics everywhere, with no user behind it.
SYSTEM = Principal(user_id=None, username="system", display_name="系统", kind="service", locale=None,  # type: ignore[arg-type]
                   grants=(Grant(role=Role.logistics, paths=("/",)),))


def _actor_name(principal: Principal | None) -> str:
    return principal.display_name if principal else SYSTEM.display_name


def _moment(value: datetime | None, field: str, *, not_before: datetime | None = None, what: str = "") -> datetime:
    """A reported time: empty is now; never in the future; never before ``not_before`` (the previous step)."""
    now = utc_now()
    moment = value or now
    if moment > now + CLOCK_SKEW:
        raise field_error(field, "cannot be in the future")
    if not_before is not None and moment < not_before:
        raise field_error(field, f"cannot be before {what} ({china_time(not_before)} Beijing time)")
    return moment


def incident_kinds() -> list[Label]:
    return [Label(code=k.value, name_zh=zh, name_en=en) for k, (zh, en) in INCIDENT_KIND_LABELS.items()]


# --- incidents -------------------------------------------------------------------------------

_INCIDENT_COLUMNS = (Incident.all_columns(), Incident.unit.code.as_alias("unit_code"), Incident.unit.name_zh.as_alias("unit_name_zh"))


async def _incident_outs(rows: list[dict[str, Any]]) -> list[IncidentOut]:
    ids = [row["id"] for row in rows] or [-1]
    total: dict[int, int] = defaultdict(int)
    open_: dict[int, int] = defaultdict(int)
    for r in await Deployment.select(Deployment.incident, Deployment.status).where(Deployment.incident.is_in(ids)):
        total[r["incident"]] += 1
        open_[r["incident"]] += r["status"] in OPEN
    outs = []
    for row in rows:
        kind, severity = IncidentKind(row["kind"]), Severity(row["severity"])
        outs.append(IncidentOut(
            id=row["id"], kind=kind, kind_zh=INCIDENT_KIND_LABELS[kind][0], title=row["title"], place=row["place"],
            unit_code=row["unit_code"], unit_name_zh=row["unit_name_zh"], lat=row["lat"], lon=row["lon"],
            requesting_authority=row["requesting_authority"], severity=severity, severity_zh=SEVERITY_LABELS[severity][0],
            started_at=row["started_at"], source=row["source"], created_by_name=row["created_by_name"], created_at=row["created_at"],
            deployments=total[row["id"]], open_deployments=open_[row["id"]],
        ))
    return outs


async def _incident_visible(principal: Principal | None, row: dict[str, Any]) -> bool:
    """Seen within the scope of its place, by whoever recorded it, and by those who see a team sent to it."""
    if principal is None or can(principal, "deployments.view", row["org_path"]) or row["created_by"] == principal.user_id:
        return True
    paths = await Deployment.select(Deployment.team.path.as_alias("path")).where(Deployment.incident == row["id"])
    return any(can(principal, "deployments.view", r["path"]) for r in paths)


async def _incident_row(principal: Principal | None, incident_id: int) -> dict[str, Any]:
    row = await Incident.select(*_INCIDENT_COLUMNS).where(Incident.id == incident_id).first()
    if row is None or not await _incident_visible(principal, row):
        raise NotFound(f"No incident #{incident_id}, or it is outside your scope.")
    return row


async def open_incident(principal: Principal | None, data: IncidentIn) -> IncidentOut:
    """Record an emergency as the requesting authority reported it. Anyone who may lead a deployment somewhere may
    record one (a captain called directly by a bureau does), and sees it as its recorder."""
    if principal is not None and not can_anywhere(principal, "deployments.manage"):
        raise PermissionDenied("Your roles do not allow recording incidents.")
    try:
        unit = await orgs.get_unit(data.unit_code)
    except NotFound:
        raise field_error("unit_code", f"no organisation unit '{data.unit_code}'") from None
    started_at = _moment(data.started_at, "started_at")
    async with write_transaction():
        incident_id = (await Incident.insert(Incident(
            kind=data.kind.value, title=data.title, place=data.place, unit=await orgs.unit_id(unit.code), org_path=unit.path,
            lat=data.lat, lon=data.lon, requesting_authority=data.requesting_authority, severity=int(data.severity),
            started_at=started_at, source=data.source, created_by=principal.user_id if principal else None,
            created_by_name=_actor_name(principal), created_at=utc_now(),
        )).returning(Incident.id))[0]["id"]
        await accounts.record_audit(principal, "deployments.incident.open", "incident", str(incident_id), unit.path,
                                    data.model_dump(mode="json"))
    return (await _incident_outs([await _incident_row(None, incident_id)]))[0]


async def get_incident(principal: Principal | None, incident_id: int) -> IncidentOut:
    return (await _incident_outs([await _incident_row(principal, incident_id)]))[0]


async def list_incidents(principal: Principal | None, *, open_only: bool = False) -> list[IncidentOut]:
    """Incidents the caller may see, latest first."""
    query = Incident.select(*_INCIDENT_COLUMNS).order_by(Incident.started_at, ascending=False).order_by(Incident.id, ascending=False)
    if principal is not None:
        scopes = _scopes(principal)
        place = within(Incident.org_path, scopes)
        if place is not None:
            sent = [r["incident"] for r in await Deployment.select(Deployment.incident).where(within(Deployment.team.path, scopes))]
            query = query.where(place | (Incident.created_by == principal.user_id) | Incident.id.is_in(sent or [-1]))
    outs = await _incident_outs(await query)
    return [o for o in outs if o.open_deployments or not o.deployments] if open_only else outs


# --- deployments: reading ----------------------------------------------------------------------

_DEPLOYMENT_COLUMNS = (
    Deployment.all_columns(),
    Deployment.incident.title.as_alias("incident_title"), Deployment.incident.place.as_alias("incident_place"),
    Deployment.incident.kind.as_alias("incident_kind"), Deployment.incident.severity.as_alias("incident_severity"),
    Deployment.incident.org_path.as_alias("incident_path"), Deployment.incident.unit.code.as_alias("incident_unit_code"),
    Deployment.team.code.as_alias("team_code"), Deployment.team.name_zh.as_alias("team_name"), Deployment.team.path.as_alias("team_path"),
)


def _scopes(principal: Principal) -> list[str]:
    scopes = scopes_for(principal, "deployments.view")
    if not scopes:
        raise PermissionDenied("Your roles do not allow viewing deployments.")
    return scopes


def _allowed(principal: Principal | None, action: str, row: dict[str, Any]) -> bool:
    """A deployment is the team's and the incident's: within scope of either (a captain: their own team's)."""
    return principal is None or can(principal, action, row["team_path"]) or can(principal, action, row["incident_path"])


_DEPLOYMENT_BY_ID = Statement(lambda deployment_id: Deployment.select(*_DEPLOYMENT_COLUMNS).where(Deployment.id == deployment_id).limit(1))


async def _deployment_row(principal: Principal | None, deployment_id: int, action: str = "deployments.view") -> dict[str, Any]:
    row = await _DEPLOYMENT_BY_ID.first(deployment_id)
    if row is None or not _allowed(principal, "deployments.view", row):
        raise NotFound(f"No deployment #{deployment_id}, or it is outside your scope.")
    if not _allowed(principal, action, row):
        raise PermissionDenied(f"Your roles do not allow '{action}' on this deployment.", code="forbidden")
    return row


async def _totals(ids: list[int]) -> dict[int, dict[str, int]]:
    """Per deployment: people rescued and treated, and log entries, from the log (voided entries left out)."""
    totals: dict[int, dict[str, int]] = defaultdict(lambda: {"rescued": 0, "treated": 0, "entries": 0})
    for r in await LogEntry.select(LogEntry.deployment, LogEntry.kind, LogEntry.quantity).where(
            LogEntry.deployment.is_in(ids or [-1]) & LogEntry.voided_at.is_null()):
        found = totals[r["deployment"]]
        found["entries"] += 1
        if r["kind"] in (k.value for k in COUNTED):
            found[r["kind"]] += r["quantity"]
    return totals


async def _deployment_outs(rows: list[dict[str, Any]]) -> list[DeploymentOut]:
    ids = [row["id"] for row in rows] or [-1]
    people: dict[int, set[int]] = defaultdict(set)
    present: dict[int, set[int]] = defaultdict(set)
    for r in await DeployedMember.select(DeployedMember.deployment, DeployedMember.person, DeployedMember.released_at).where(
            DeployedMember.deployment.is_in(ids)):
        people[r["deployment"]].add(r["person"])
        if r["released_at"] is None:
            present[r["deployment"]].add(r["person"])
    out: dict[int, int] = defaultdict(int)
    for item in await DeployedItem.select().where(DeployedItem.deployment.is_in(ids) & DeployedItem.returned_at.is_null()):
        if (await _item_state(item))[0] is None:  # not checked in at the store meanwhile either
            out[item["deployment"]] += 1
    totals = await _totals(ids)
    return [DeploymentOut(
        id=row["id"], incident_id=row["incident"], incident_title=row["incident_title"], incident_place=row["incident_place"],
        incident_kind=row["incident_kind"], incident_severity=row["incident_severity"], incident_unit_code=row["incident_unit_code"],
        team_code=row["team_code"], team_name=row["team_name"], status=row["status"], source=row["source"], started_at=row["alerted_at"],
        mobilising_at=row["mobilising_at"], on_scene_at=row["on_scene_at"], demobilising_at=row["demobilising_at"],
        closed_at=row["closed_at"], people=len(people[row["id"]]), people_present=len(present[row["id"]]),
        rescued=totals[row["id"]]["rescued"], treated=totals[row["id"]]["treated"], equipment_out=out[row["id"]],
        log_entries=totals[row["id"]]["entries"],
    ) for row in rows]


async def list_deployments(principal: Principal | None, *, status: DeploymentStatus | None = None, incident_id: int | None = None,
                           team: str | None = None) -> list[DeploymentOut]:
    """Deployments within the caller's scope (of the team or of the incident's place), open ones first, latest first."""
    query = Deployment.select(*_DEPLOYMENT_COLUMNS).order_by(Deployment.alerted_at, ascending=False).order_by(Deployment.id, ascending=False)
    if principal is not None:
        scopes = _scopes(principal)
        mine = within(Deployment.team.path, scopes)
        if mine is not None:
            query = query.where(mine | within(Deployment.incident.org_path, scopes))
    if status is not None:
        query = query.where(Deployment.status == status.value)
    if incident_id is not None:
        query = query.where(Deployment.incident == incident_id)
    if team:
        query = query.where(Deployment.team.code == team)
    outs = await _deployment_outs(await query)
    return sorted(outs, key=lambda d: d.status is DeploymentStatus.closed)  # stable: latest first within each


def next_statuses(status: DeploymentStatus) -> list[DeploymentStatus]:
    """Forward only; closing only from demobilising (it settles equipment and hours)."""
    if status is DeploymentStatus.closed:
        return []
    if status is DeploymentStatus.demobilising:
        return [DeploymentStatus.closed]
    return ORDER[ORDER.index(status) + 1:-1]


async def _item_state(row: dict[str, Any]) -> tuple[datetime | None, str, str]:
    """(returned at, condition, note) of an item sent out: ours, or the equipment record's when it was checked in
    at the store directly."""
    if row["returned_at"] is not None:
        return row["returned_at"], row["condition"], row["return_note"]
    for checkout in await equipment.item_history(None, row["asset_tag"]):
        if checkout.id == row["checkout_id"] and checkout.returned_at is not None:
            return checkout.returned_at, checkout.condition.value if checkout.condition else ReturnCondition.ok.value, checkout.note
    return None, "", ""


def _stint_hours(stint: dict[str, Any], alerted_at: datetime, until: datetime) -> Decimal:
    return quarter_hours(max(stint["added_at"], alerted_at), min(stint["released_at"] or until, until))


async def get_deployment(principal: Principal | None, deployment_id: int) -> DeploymentDetail:
    return await _detail(await _deployment_row(principal, deployment_id))


async def _detail(row: dict[str, Any]) -> DeploymentDetail:
    base = (await _deployment_outs([row]))[0]
    until = row["closed_at"] or utc_now()
    stints = await DeployedMember.select(DeployedMember.all_columns(), DeployedMember.person.name.as_alias("name")).where(
        DeployedMember.deployment == row["id"]).order_by(DeployedMember.added_at).order_by(DeployedMember.id)
    items = []
    for item in await DeployedItem.select().where(DeployedItem.deployment == row["id"]).order_by(DeployedItem.id):
        returned_at, condition, note = await _item_state(item)
        items.append(DeployedItemOut(asset_tag=item["asset_tag"], type_name_zh=item["type_name_zh"], out_at=item["out_at"],
                                     returned_at=returned_at, condition=condition or None, note=note))
    transitions = await Transition.select().where(Transition.deployment == row["id"]).order_by(Transition.at).order_by(Transition.id)
    log = await LogEntry.select().where(LogEntry.deployment == row["id"]).order_by(LogEntry.occurred_at, ascending=False).order_by(
        LogEntry.id, ascending=False)
    return DeploymentDetail(
        **base.model_dump(), closing_note=row["closing_note"], next_statuses=next_statuses(base.status),
        members=[DeployedMemberOut(person_id=s["person"], name=s["name"], added_at=s["added_at"], released_at=s["released_at"],
                                   release_note=s["release_note"], hours=_stint_hours(s, row["alerted_at"], until)) for s in stints],
        equipment=items,
        transitions=[TransitionOut(from_status=t["from_status"] or None, to_status=t["to_status"], at=t["at"], by_name=t["by_name"],
                                   note=t["note"]) for t in transitions],
        log=[_log_out(entry) for entry in log],
    )


def _log_out(row: dict[str, Any]) -> LogEntryOut:
    return LogEntryOut(id=row["id"], kind=row["kind"], occurred_at=row["occurred_at"], text=row["text"], count=row["quantity"], lat=row["lat"],
                       lon=row["lon"], recorded_at=row["recorded_at"], recorded_by_name=row["recorded_by_name"], voided_at=row["voided_at"],
                       void_reason=row["void_reason"])


async def deployed_people(person_ids: list[int] | None = None) -> set[int]:
    """People on a deployment not yet closed (and not released from it): not available for another."""
    query = DeployedMember.select(DeployedMember.person).where(DeployedMember.released_at.is_null())
    if person_ids is not None:
        query = query.where(DeployedMember.person.is_in(person_ids or [-1]))
    return {r["person"] for r in await query}


# --- deployments: writing ---------------------------------------------------------------------


def _closed(row: dict[str, Any]) -> Conflict:
    return Conflict(f"Deployment #{row['id']} was closed on {china_time(row['closed_at'])} (Beijing time): its record is final; "
                    "nothing more can be logged or changed on it.", code="deployment_closed")


def _require_open(row: dict[str, Any]) -> None:
    if row["status"] == DeploymentStatus.closed.value:
        raise _closed(row)


async def _hold_open(row: dict[str, Any]) -> None:
    """Inside the write transaction: touch the deployment only while it is open. This is the one check that holds
    against a close committed a moment ago (on PostgreSQL the two updates queue on the row lock)."""
    held = await Deployment.update({Deployment.updated_at: utc_now()}).where(
        (Deployment.id == row["id"]) & (Deployment.status != DeploymentStatus.closed.value)).returning(Deployment.id)
    if not held:
        raise _closed(await Deployment.select(Deployment.id, Deployment.closed_at).where(Deployment.id == row["id"]).first())


async def _check_people(team: dict[str, Any], person_ids: list[int], deployment_id: int | None = None) -> None:
    """Only active members of the team, and none already on a deployment (this one or another)."""
    if not person_ids:
        return
    await members.require_active_members(team["code"], person_ids)
    busy = await DeployedMember.select(
        DeployedMember.person, DeployedMember.person.name.as_alias("name"), DeployedMember.deployment,
        DeployedMember.deployment.team.name_zh.as_alias("team_name"), DeployedMember.deployment.incident.title.as_alias("incident"),
    ).where(DeployedMember.person.is_in(person_ids) & DeployedMember.released_at.is_null())
    if busy:
        reasons = [f"{b['name']} is already on this deployment" if b["deployment"] == deployment_id else
                   f"{b['name']} is already on deployment #{b['deployment']} ({b['team_name']}, {b['incident']}); release them from it first"
                   for b in busy]
        raise Conflict("; ".join(reasons) + ".", code="already_deployed")


async def _add_stints(principal: Principal | None, row: dict[str, Any], team_id: int, person_ids: list[int], at: datetime) -> None:
    for person_id in person_ids:
        # One open stint per person, by the partial unique index: of two dispatches racing for one person, one wins.
        added = await DeployedMember.insert(DeployedMember(
            deployment=row["id"], person=person_id, team=team_id, added_at=at, added_by_name=_actor_name(principal),
        )).on_conflict(action="DO NOTHING").returning(DeployedMember.id)
        if not added:
            name = (await members.names_of([person_id])).get(person_id, f"#{person_id}")
            raise Conflict(f"{name} was put on another deployment a moment ago.", code="already_deployed")


async def _check_out(principal: Principal | None, deployment_id: int, asset_tag: str) -> None:
    """One item out to the deployment through the equipment rules (in store, not expired, the caller's to issue)."""
    try:
        checkout = await equipment.check_out(principal or SYSTEM, asset_tag, CheckoutIn(
            kind=CheckoutKind.deployment, reference=f"deployment:{deployment_id}", note=f"救援行动 #{deployment_id}"))
    except NotFound:
        raise field_error("asset_tags", f"no item with asset tag {asset_tag} within your scope") from None
    await DeployedItem.insert(DeployedItem(deployment=deployment_id, asset_tag=asset_tag, type_name_zh=checkout.type_name_zh,
                                           checkout_id=checkout.id, out_at=checkout.out_at, added_by_name=_actor_name(principal)))


async def _check_in(principal: Principal | None, item: dict[str, Any], condition: ReturnCondition, note: str) -> None:
    """Back in store, unless someone checked it in at the store already: then record what they found."""
    returned_at, found, found_note = await _item_state(item)
    if returned_at is None:
        back = await equipment.check_in(principal or SYSTEM, item["asset_tag"], CheckinIn(condition=condition, note=note))
        returned_at, found, found_note = back.returned_at, condition.value, note
    await DeployedItem.update({DeployedItem.returned_at: returned_at, DeployedItem.condition: found, DeployedItem.return_note: found_note}).where(
        DeployedItem.id == item["id"])


async def _present(deployment_id: int) -> list[int]:
    return [r["person"] for r in await DeployedMember.select(DeployedMember.person).where(
        (DeployedMember.deployment == deployment_id) & DeployedMember.released_at.is_null()).order_by(DeployedMember.id)]


async def _emit(principal: Principal | None, event_type: str, row: dict[str, Any], status: DeploymentStatus, at: datetime,
                previous: DeploymentStatus | None = None) -> None:
    totals = (await _totals([row["id"]]))[row["id"]]
    await events.emit(principal, event_type, DeploymentEvent(
        deployment_id=row["id"], incident_id=row["incident"], incident_title=row["incident_title"], incident_kind=row["incident_kind"],
        incident_unit_code=row["incident_unit_code"], team_code=row["team_code"], status=status, previous_status=previous, at=at,
        person_ids=await _present(row["id"]), source=row["source"], rescued=totals["rescued"], treated=totals["treated"],
    ), org_path=row["team_path"], aggregate_id=str(row["id"]))


async def dispatch_team(principal: Principal | None, incident_id: int, data: DispatchIn) -> DeploymentOut:
    """Send a team to an incident (status alerted), with the members and items named now or later."""
    await _incident_row(principal, incident_id)
    try:
        team = await teams.team_row(data.team_code)
    except NotFound:
        raise field_error("team_code", f"no team '{data.team_code}'") from None
    if principal is not None and not can(principal, "deployments.manage", team["path"]):
        raise PermissionDenied("You may dispatch teams within your scope only.", code="forbidden")
    if team["status"] in UNDISPATCHABLE:
        raise InvalidInput(f"Team {team['code']} is {team['status']}: it cannot be dispatched.", code="team_unavailable")
    already = await Deployment.select(Deployment.id).where(
        (Deployment.incident == incident_id) & (Deployment.team == team["id"]) & Deployment.status.is_in(OPEN)).first()
    if already:
        raise Conflict(f"Team {team['code']} is already on this incident: deployment #{already['id']}.", code="already_dispatched")
    alerted_at = _moment(data.alerted_at, "alerted_at")
    person_ids, asset_tags = list(dict.fromkeys(data.person_ids)), list(dict.fromkeys(data.asset_tags))
    await _check_people(team, person_ids)
    async with write_transaction():
        inserted = await Deployment.insert(Deployment(
            incident=incident_id, team=team["id"], status=DeploymentStatus.alerted.value, source=data.source, alerted_at=alerted_at,
            updated_at=utc_now(), created_by_name=_actor_name(principal),
        )).on_conflict(action="DO NOTHING").returning(Deployment.id)
        if not inserted:  # the partial unique index (incident, team) of open deployments: a concurrent dispatch won
            raise Conflict(f"Team {team['code']} was dispatched to this incident a moment ago.", code="already_dispatched")
        deployment_id = inserted[0]["id"]
        await Transition.insert(Transition(deployment=deployment_id, to_status=DeploymentStatus.alerted.value, at=alerted_at,
                                           recorded_at=utc_now(), by_user=principal.user_id if principal else None,
                                           by_name=_actor_name(principal), note=data.note))
        row = await Deployment.select(*_DEPLOYMENT_COLUMNS).where(Deployment.id == deployment_id).first()
        await _add_stints(principal, row, team["id"], person_ids, alerted_at)
        for tag in asset_tags:
            await _check_out(principal, deployment_id, tag)
        await accounts.record_audit(principal, "deployments.deployment.dispatch", "deployment", str(deployment_id), team["path"],
                                    {"incident": incident_id, **data.model_dump(mode="json")})
        await _emit(principal, "deployment.started", row, DeploymentStatus.alerted, alerted_at)
    return (await _deployment_outs([row]))[0]


async def add_members(principal: Principal | None, deployment_id: int, data: MembersIn) -> DeploymentDetail:
    row = await _deployment_row(principal, deployment_id, "deployments.manage")
    _require_open(row)
    at = _moment(data.at, "at", not_before=row["alerted_at"], what="the dispatch")
    person_ids = list(dict.fromkeys(data.person_ids))
    await _check_people({"code": row["team_code"]}, person_ids, deployment_id)
    async with write_transaction():
        await _hold_open(row)
        await _add_stints(principal, row, row["team"], person_ids, at)
        await accounts.record_audit(principal, "deployments.deployment.members.add", "deployment", str(deployment_id), row["team_path"],
                                    data.model_dump(mode="json"))
    return await get_deployment(principal, deployment_id)


async def release_member(principal: Principal | None, deployment_id: int, person_id: int, data: ReleaseIn) -> DeploymentDetail:
    """A member leaves before the team does: their hours end here and they are free for another deployment."""
    row = await _deployment_row(principal, deployment_id, "deployments.manage")
    _require_open(row)
    stint = await DeployedMember.select().where((DeployedMember.deployment == deployment_id) & (DeployedMember.person == person_id)
                                                 & DeployedMember.released_at.is_null()).first()
    if stint is None:
        raise Conflict("This person is not on the deployment (or was released already).", code="not_on_deployment")
    at = _moment(data.at, "at", not_before=stint["added_at"], what="they joined the deployment")
    async with write_transaction():
        await _hold_open(row)
        released = await DeployedMember.update({DeployedMember.released_at: at, DeployedMember.released_by_name: _actor_name(principal),
                                                DeployedMember.release_note: data.note}).where(
            (DeployedMember.id == stint["id"]) & DeployedMember.released_at.is_null()).returning(DeployedMember.id)
        if not released:
            raise Conflict("This person was released a moment ago.", code="not_on_deployment")
        await accounts.record_audit(principal, "deployments.deployment.members.release", "deployment", str(deployment_id), row["team_path"],
                                    {"person": person_id, **data.model_dump(mode="json")})
    return await get_deployment(principal, deployment_id)


async def check_out_equipment(principal: Principal | None, deployment_id: int, data: EquipmentIn) -> DeploymentDetail:
    row = await _deployment_row(principal, deployment_id, "deployments.manage")
    _require_open(row)
    async with write_transaction():
        await _hold_open(row)
        for tag in dict.fromkeys(data.asset_tags):
            await _check_out(principal, deployment_id, tag)
        await accounts.record_audit(principal, "deployments.deployment.equipment.out", "deployment", str(deployment_id), row["team_path"],
                                    data.model_dump(mode="json"))
    return await get_deployment(principal, deployment_id)


async def _open_item(deployment_id: int, asset_tag: str) -> dict[str, Any] | None:
    return await DeployedItem.select().where((DeployedItem.deployment == deployment_id) & (DeployedItem.asset_tag == asset_tag)
                                             & DeployedItem.returned_at.is_null()).first()


async def return_equipment(principal: Principal | None, deployment_id: int, asset_tag: str, data: ReturnIn) -> DeploymentDetail:
    """An item comes back before the close (or was found checked in at the store)."""
    row = await _deployment_row(principal, deployment_id, "deployments.manage")
    _require_open(row)
    item = await _open_item(deployment_id, asset_tag)
    if item is None:
        raise Conflict(f"{asset_tag} is not out on this deployment.", code="not_checked_out")
    async with write_transaction():
        await _hold_open(row)
        await _check_in(principal, item, data.condition, data.note)
        await accounts.record_audit(principal, "deployments.deployment.equipment.in", "deployment", str(deployment_id), row["team_path"],
                                    {"asset_tag": asset_tag, **data.model_dump(mode="json")})
    return await get_deployment(principal, deployment_id)


async def _last_step(deployment_id: int) -> datetime:
    return (await Transition.select(Transition.at).where(Transition.deployment == deployment_id).order_by(
        Transition.at, ascending=False).first())["at"]


async def change_status(principal: Principal | None, deployment_id: int, data: TransitionIn) -> DeploymentOut:
    """Move the deployment forward (mobilising, on scene, demobilising): never back; closing is close_deployment."""
    row = await _deployment_row(principal, deployment_id, "deployments.manage")
    _require_open(row)
    current, target = DeploymentStatus(row["status"]), data.status
    if target is DeploymentStatus.closed:
        raise field_error("status", "close the deployment with POST /api/v1/deployments/{id}/close: it settles the equipment and the hours")
    if target not in next_statuses(current):
        raise Conflict(f"The deployment is {current.value}: it moves forward only, not to {target.value}.", code="invalid_transition")
    at = _moment(data.at, "at", not_before=await _last_step(deployment_id), what="the previous status change")
    async with write_transaction():
        won = await Deployment.update({Deployment.status: target.value, getattr(Deployment, f"{target.value}_at"): at,
                                       Deployment.updated_at: utc_now()}).where(
            (Deployment.id == deployment_id) & (Deployment.status == current.value)).returning(Deployment.id)
        if not won:
            raise Conflict("Someone changed this deployment's status a moment ago; reload it.", code="invalid_transition")
        await Transition.insert(Transition(deployment=deployment_id, from_status=current.value, to_status=target.value, at=at,
                                           recorded_at=utc_now(), by_user=principal.user_id if principal else None,
                                           by_name=_actor_name(principal), note=data.note))
        await accounts.record_audit(principal, "deployments.deployment.status", "deployment", str(deployment_id), row["team_path"],
                                    {"from": current.value, **data.model_dump(mode="json")})
        await _emit(principal, "deployment.status_changed", row, target, at, current)
    return (await _deployment_outs([await _deployment_row(None, deployment_id)]))[0]


async def add_log_entry(principal: Principal | None, deployment_id: int, data: LogEntryIn) -> LogEntryOut:
    """One line of the timeline, from the scene. Refused once the deployment is closed: its record is final."""
    row = await _deployment_row(principal, deployment_id, "deployments.manage")
    _require_open(row)
    occurred_at = _moment(data.occurred_at, "occurred_at", not_before=row["alerted_at"], what="the dispatch")
    async with write_transaction():
        await _hold_open(row)
        entry_id = (await LogEntry.insert(LogEntry(
            deployment=deployment_id, kind=data.kind.value, occurred_at=occurred_at, text=data.text, quantity=data.count or 0, lat=data.lat,
            lon=data.lon, recorded_at=utc_now(), recorded_by=principal.user_id if principal else None, recorded_by_name=_actor_name(principal),
        )).returning(LogEntry.id))[0]["id"]
        await accounts.record_audit(principal, "deployments.log.add", "deployment", str(deployment_id), row["team_path"],
                                    {"entry": entry_id, **data.model_dump(mode="json")})
    return _log_out(await LogEntry.select().where(LogEntry.id == entry_id).first())


async def void_log_entry(principal: Principal | None, deployment_id: int, entry_id: int, data: VoidIn) -> LogEntryOut:
    """Strike out a mistaken entry (it stays on record, marked, and leaves the totals) while the deployment is open."""
    row = await _deployment_row(principal, deployment_id, "deployments.manage")
    _require_open(row)
    if not await LogEntry.exists().where((LogEntry.id == entry_id) & (LogEntry.deployment == deployment_id)):
        raise NotFound(f"No log entry #{entry_id} on this deployment.")
    async with write_transaction():
        await _hold_open(row)
        voided = await LogEntry.update({LogEntry.voided_at: utc_now(), LogEntry.void_reason: data.reason}).where(
            (LogEntry.id == entry_id) & LogEntry.voided_at.is_null()).returning(LogEntry.id)
        if not voided:
            raise Conflict("This entry was voided already.", code="already_decided")
        await accounts.record_audit(principal, "deployments.log.void", "deployment", str(deployment_id), row["team_path"],
                                    {"entry": entry_id, "reason": data.reason})
    return _log_out(await LogEntry.select().where(LogEntry.id == entry_id).first())


async def close_deployment(principal: Principal | None, deployment_id: int, data: CloseIn) -> DeploymentDetail:
    """The team is back: items are checked in (or stay listed as outstanding), every member is released and credited
    the hours from joining (the dispatch, or later) to their release or the close, and the record becomes final."""
    row = await _deployment_row(principal, deployment_id, "deployments.manage")
    _require_open(row)
    if row["status"] != DeploymentStatus.demobilising.value:
        raise Conflict("Stand the team down first (status demobilising), then close the deployment once it is back.",
                       code="invalid_transition")
    closed_at = _moment(data.at, "at", not_before=row["demobilising_at"], what="the stand-down")
    items = await DeployedItem.select().where((DeployedItem.deployment == deployment_id) & DeployedItem.returned_at.is_null())
    returns = {r.asset_tag: r for r in data.returns}
    unknown = sorted(set(returns) - {item["asset_tag"] for item in items})
    if unknown:
        raise field_error("returns", f"not out on this deployment: {', '.join(unknown)}")
    async with write_transaction():
        won = await Deployment.update({Deployment.status: DeploymentStatus.closed.value, Deployment.closed_at: closed_at,
                                       Deployment.closing_note: data.note, Deployment.updated_at: utc_now()}).where(
            (Deployment.id == deployment_id) & (Deployment.status == DeploymentStatus.demobilising.value)).returning(Deployment.id)
        if not won:
            raise Conflict("Someone closed or changed this deployment a moment ago; reload it.", code="invalid_transition")
        await Transition.insert(Transition(deployment=deployment_id, from_status=DeploymentStatus.demobilising.value,
                                           to_status=DeploymentStatus.closed.value, at=closed_at, recorded_at=utc_now(),
                                           by_user=principal.user_id if principal else None, by_name=_actor_name(principal), note=data.note))
        for item in items:
            back = returns.get(item["asset_tag"])
            if back is not None:
                await _check_in(principal, item, back.condition, back.note)
            elif data.return_rest or (await _item_state(item))[0] is not None:  # the rest, and what came back at the store
                await _check_in(principal, item, ReturnCondition.ok, "")
        stints = await DeployedMember.select(DeployedMember.all_columns(), DeployedMember.person.name.as_alias("name")).where(
            DeployedMember.deployment == deployment_id)
        hours: dict[int, Decimal] = defaultdict(Decimal)
        for stint in stints:
            hours[stint["person"]] += _stint_hours(stint, row["alerted_at"], closed_at)
        # The team's event ends for everyone still on it; a member added after the reported close time ends there too.
        for stint in (s for s in stints if s["released_at"] is None):
            await DeployedMember.update({DeployedMember.released_at: max(closed_at, stint["added_at"]),
                                         DeployedMember.released_by_name: _actor_name(principal)}).where(DeployedMember.id == stint["id"])
        worked_on = in_china(row["alerted_at"]).date()
        for person_id, credited in hours.items():
            if credited > 0:
                await members.add_hours(person_id, row["team"], HoursSource.deployment, f"deployment:{deployment_id}", worked_on, credited,
                                        f"{row['incident_title']}（{row['team_name']}）")
        await accounts.record_audit(principal, "deployments.deployment.close", "deployment", str(deployment_id), row["team_path"],
                                    {**data.model_dump(mode="json"), "hours": {str(p): str(h) for p, h in hours.items()}})
        await _emit(principal, "deployment.ended", {**row, "status": DeploymentStatus.closed.value}, DeploymentStatus.closed, closed_at,
                    DeploymentStatus.demobilising)
    return await get_deployment(principal, deployment_id)


async def report(principal: Principal | None, deployment_id: int) -> DeploymentReport:
    """The report's data: while open a situation report as of now, once closed the final one."""
    row = await _deployment_row(principal, deployment_id)
    detail = await _detail(row)
    incident = (await _incident_outs([await _incident_row(None, row["incident"])]))[0]
    return DeploymentReport(incident=incident, deployment=detail, total_hours=sum((m.hours for m in detail.members), Decimal(0)),
                            generated_at=utc_now())

